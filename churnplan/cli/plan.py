"""`churnplan plan`: size ASR replication from the store and write the plan's CSVs and summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from churnplan.analytics.model import PlanSummary
from churnplan.cli import validators
from churnplan.core import store
from churnplan.export import csv as csv_export
from churnplan.cli.errors import fail
from churnplan.cli.options import config_from_options, progress_bar, read_and_plan, with_plan_options
from churnplan.cli.spark import spark_plan
from churnplan.engines import ENGINES

console = Console(stderr=True)


@with_plan_options
def plan_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path = typer.Option(..., "--out", help="Directory for vms.csv, disks.csv, ... and summary.json.",
                             callback=validators.output_dir()),
    engine: str = typer.Option(ENGINES[0], "--engine", help=f"Who reads the samples: {' or '.join(ENGINES)}."),
    samples: str = typer.Option(None, "--samples", help="With --engine spark: the Parquet sample layout, "
                                "a folder or a URI (hdfs://, s3a://, abfss://)."),
    master: str = typer.Option(None, "--master", help="With --engine spark: local[2], spark://host:7077, yarn "
                               "(default: spark-submit's, else local[2])."),
    **options: Any,
) -> None:
    """Plan ASR replication: churn, compatibility, disks, process servers, bandwidth, RPO, IR and cost."""
    config = config_from_options(options)
    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: use {' or '.join(map(repr, ENGINES))}")
    if engine == "duckdb" and (samples is not None or master is not None):
        raise fail("--samples and --master choose what --engine spark reads; the duckdb engine reads --db")
    with progress_bar() as progress:
        if engine == "spark":
            if samples is None:
                raise fail("--engine spark needs --samples DIR_OR_URI (write it with `churnplan export samples "
                           "--parquet` or `churnplan collect --spool`)")
            plan = spark_plan(samples, master, config, options["interval"], progress)
        else:
            plan = read_and_plan(db, config, options["interval"], progress)
        paths = csv_export.write_plan(plan, out) + [csv_export.write_summary(plan, out)]
    _print_summary(plan.summary)
    for p in paths:
        console.print(f"wrote {p}")


def _print_summary(s: PlanSummary) -> None:
    table = Table(title="ASR replication plan", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("days profiled", f"{s.days_profiled:.1f} at {s.interval_s:.0f} s"),
        ("VMs (Yes / Yes* / No)", f"{s.vms} ({s.compatible_vms} / {s.compatible_with_premium_vms} / "
                                  f"{s.incompatible_vms})"),
        ("disks (excluded)", f"{s.disks} ({s.excluded_disks})"),
        ("typical churn/day", f"{s.typical_churn_gib_day:,.0f} GiB"),
        ("bandwidth for RPO 100 % of the time", f"{s.required_mbps_100pct:,.1f} Mbps"),
        ("planned bandwidth" + (" (throttle weekly average)" if s.config["throttle"] else ""),
         f"{s.planned_mbps:,.1f} Mbps"),
        ("RPO compliance / max lag", f"{s.compliance_pct:.2f} % / {s.max_lag_min:.1f} min"),
        ("configuration servers / all process servers", f"{s.configuration_servers} / {s.process_servers}"),
        ("premium disks", f"{s.premium_disks}"),
        ("initial replication", "not possible at this bandwidth" if s.ir_hours is None
         else f"{s.ir_hours:,.1f} h in {s.ir_batches} batch(es)"),
        ("monthly cost", f"{s.monthly_cost:,.0f} {s.currency} (prices of {s.prices_date})"),
    ]
    if s.required_mbps_90pct is not None:
        rows.insert(5, ("bandwidth for RPO 90 % of the time", f"{s.required_mbps_90pct:,.1f} Mbps"))
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
