"""`churnplan outage`: how long replication takes to come back within the RPO after a link outage, per scope."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from churnplan.analytics import outage, queue
from churnplan.cli.errors import fail
from churnplan.cli.options import (OUTAGE_OPTIONS, config_from_options, hours_option, progress_bar, progress_step,
                                   with_options)
from churnplan.cli.plan_churn import read_plan_and_churn
from churnplan.core import store
from churnplan.export import csv as csv_export

console = Console(stderr=True)


def _h(x: object) -> str:
    return f"{x:,.2f} h" if isinstance(x, float) and math.isfinite(x) else "not within a whole profile"


@with_options(OUTAGE_OPTIONS)
def outage_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for outage.json and outage_starts.csv."),
    **options: Any,
) -> None:
    """Outage catch-up: after --outage hours without link, at the worst and a typical start, the time until the lag
    is back within the RPO and the process-server cache the backlog needs. Bandwidth: --bandwidth, a throttle,
    else the plan's planned bandwidth."""
    try:
        hours = hours_option(options["outage"], "--outage")
        step = hours_option(options["outage_step"], "--outage-step")
        if step <= 0:
            raise ValueError(f"--outage-step {options['outage_step']!r}: must be more than 0")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    config = config_from_options({**options, "outage": None}, db)   # simulated below, per scope, not in the plan too
    with progress_bar() as progress:
        plan, prepared, _, _ = read_plan_and_churn(db, config, options["interval"], progress)
        mbps = config.bandwidth_mbps if config.bandwidth_mbps is not None else plan.summary.planned_mbps
        capacity = queue.Capacity(None if config.throttle is not None else float(mbps), config.throttle)
        with progress_step(progress, f"simulating a {hours:g} h outage at every {step:g} h"):
            try:
                results = outage.catch_up_by_scope(prepared, hours, capacity, config.rpo_min, config.growth_pct,
                                                   config.compression, step)
            except ValueError as exc:
                raise fail(str(exc)) from exc
    link = "throttle schedule" if config.throttle is not None else f"{float(mbps):,.1f} Mbps"
    table = Table(title=f"{hours:g} h link outage, RPO {config.rpo_min:g} min, {link} per scope")
    for col in ("scope", "worst start (UTC)", "worst: back within RPO after", "typical: back within RPO after",
                "cache for the backlog"):
        table.add_column(col)
    for r in results:
        s = r.summary()
        table.add_row(r.scope, str(s["worst_start"])[:16], _h(s["worst_catchup_h"]), _h(s["typical_catchup_h"]),
                      f"{r.cache_gib:,.1f} GiB (disk {r.cache_disk_gib:,.0f} GiB)")
    Console().print(table)
    console.print("Hours count from the link's return. The cache disk keeps the backlog under the 30 % "
                  "free-cache warning.")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "outage.json"
        path.write_text(json.dumps({"outage_catchup": [r.summary() for r in results]}, indent=2, sort_keys=True,
                                   default=float) + "\n", encoding="utf-8")
        starts = pd.concat([r.starts.assign(scope=r.scope) for r in results], ignore_index=True)
        for p in (path, csv_export.write_frame(starts, out / "outage_starts.csv")):
            console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("outage")(outage_cmd)
