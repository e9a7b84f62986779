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
    if engine == "spark" and not options.get("timezone") and samples:
        options = {**options, "timezone": _layout_zone(samples)}
    config = config_from_options(options, db if engine != "spark" else None)
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


def _layout_zone(samples: str) -> str | None:
    """The estate time zone a local Parquet layout records (estate.json, written by `collect --spool
    --timezone` and `export samples`); None for a URI (give --timezone) or a layout without one."""
    from churnplan.ingest.errors import IngestError
    from churnplan.ingest.spool import Spool

    if "://" in samples:
        return None
    try:
        return Spool(Path(samples)).estate_zone()
    except IngestError as exc:
        raise fail(str(exc)) from None


def _servers_row(s: PlanSummary) -> tuple[str, str]:
    """Appliances counted as such for the modernized architecture; configuration/process servers for classic."""
    if s.architecture == "modernized":
        return "replication appliances (modernized)", f"{s.replication_appliances}"
    return "configuration servers / all process servers (classic)", f"{s.configuration_servers} / {s.process_servers}"


def _ir_row(s: PlanSummary) -> tuple[str, str]:
    goal = s.ir_goal_hours or 0.0
    if s.seed_gib is None:
        return "initial replication", "unknown (disk sizes unknown)"
    if s.ir_hours is None:
        return "initial replication", f"not possible at this bandwidth; {s.ir_mbps_for_goal or 0:,.0f} Mbps meets " \
                                      f"the {goal:g} h goal"
    text = f"{s.ir_hours:,.1f} h in {s.ir_batches} batch(es), goal {goal:g} h"
    if s.ir_goal_met is False:
        text += f" MISSED: {s.ir_mbps_for_goal or 0:,.0f} Mbps or the batches meet it"
    return "initial replication", text


def summary_rows(s: PlanSummary) -> list[tuple[str, str]]:
    """The console's rows: every headline figure with its coverage beside it."""
    cover = s.coverage or {}
    remediated = (cover.get("required_mbps_if_remediated_by_goal_pct") or {}).get("100")
    vcenters = s.config.get("vcenters") or []
    rows = [("vCenters", ", ".join(vcenters) + " only (--vcenter)")] if vcenters else []
    rows += [
        ("days profiled", f"{s.days_profiled:.1f} at {s.interval_s:.0f} s"),
        ("VMs (Yes / Yes* / No)", f"{s.vms} ({s.compatible_vms} / {s.compatible_with_premium_vms} / "
                                  f"{s.incompatible_vms})"),
        ("figures cover", str(cover.get("statement", ""))),
        ("disks (excluded)", f"{s.disks} ({s.excluded_disks})"),
        ("typical churn/day (protected VMs)", f"{s.typical_churn_gib_day:,.0f} GiB"),
        (f"bandwidth for RPO 100 % of the time (with {s.config['growth_pct']:g} % growth)",
         f"{s.required_mbps_100pct:,.1f} Mbps"),
    ]
    if remediated is not None and cover.get("left_out"):
        rows.append(("  ... if the incompatible VMs were remediated", f"{remediated:,.1f} Mbps"))
    if s.required_mbps_90pct is not None:
        rows.append(("bandwidth for RPO 90 % of the time", f"{s.required_mbps_90pct:,.1f} Mbps"))
    rows.append(("planned bandwidth" + (" (throttle weekly average)" if s.config["throttle"] else ""),
                 f"{s.planned_mbps:,.1f} Mbps"))
    for goal, mbps in (s.throttle_work_mbps_needed_by_goal_pct or {}).items():
        rows.append((f"work-hours rate needed for {goal} %", "not reachable" if mbps is None else f"{mbps:,.1f} Mbps"))
    rows += [("RPO compliance / max lag", f"{s.compliance_pct:.2f} % / {s.max_lag_min:.1f} min"),
             _servers_row(s), ("premium disks (protected VMs)", f"{s.premium_disks}"), _ir_row(s),
             ("monthly cost", f"{s.monthly_cost:,.0f} {s.currency} (prices of {s.prices_date})")]
    if s.unknown_capacity_disks or s.unknown_write_size_disks:
        rows.append(("unknown", f"{s.unknown_capacity_disks} disk size(s), {s.unknown_write_size_disks} write "
                                "size(s) (see notes)"))
    return rows


def _print_summary(s: PlanSummary) -> None:
    table = Table(title="ASR replication plan", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in summary_rows(s):
        table.add_row(k, v)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
