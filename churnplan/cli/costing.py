"""`churnplan cost`: the monthly cost as Azure bills it (disks by tier, the licence after 31 free days, recovery
points from the retention) from a price file or a Retail Prices API export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from churnplan.analytics import azure_vm_size, cost, pricing, recovery_points
from churnplan.analytics.recovery_points import RetentionPolicy
from churnplan.cli.errors import fail
from churnplan.cli.options import (RETENTION_OPTIONS, config_from_options, hours_option, progress_bar, with_options)
from churnplan.cli.plan_churn import read_plan_and_churn
from churnplan.core import store
from churnplan.export import csv as csv_export

console = Console(stderr=True)
GIB = 2.0 ** 30


@with_options(RETENTION_OPTIONS)
def cost_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for cost.csv, cost_licence.csv, cost.json."),
    **options: Any,
) -> None:
    """Monthly cost as Azure bills it: replica disks by tier, ASR licence after the free 31 days (first month and
    steady state), recovery-point snapshots from churn and --retention, cache storage."""
    standard = options["standard_disks"]
    prices_file = options.pop("prices")
    options["prices"] = None  # the plan's own rough cost keeps its default prices; the book below is this one
    try:
        policy = RetentionPolicy(hours_option(options["retention"], "--retention"), options["app_consistent_hours"])
        book = pricing.load_price_book(prices_file, options["region"])
        if standard not in ("hdd", "ssd"):
            raise ValueError(f"--standard-disks {standard!r}: use hdd or ssd")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    config = config_from_options(options, db)
    growth = 1.0 + config.growth_pct / 100.0
    with progress_bar() as progress:
        plan, prepared, _, grid = read_plan_and_churn(db, config, options["interval"], progress)
    d = plan.disks
    protected = d[~d["excluded"].astype(bool) & (d["process_server"].fillna("").astype(str) != "")]
    load = azure_vm_size.peak_load(grid, config.percentile, config.growth_pct)[
        ["vcenter", "vm_id", "instance", "peak_mbps_rw"]].astype({"vcenter": str, "vm_id": str, "instance": str})
    protected = protected.astype({"vcenter": str, "vm_id": str, "instance": str}).merge(
        load, on=["vcenter", "vm_id", "instance"], how="left")
    replicas = cost.replica_disks_from_targets(
        protected.rename(columns={"capacity_gib": "capacity_gb"}),
        "standard_hdd" if standard == "hdd" else "standard_ssd")
    vm_gib = prepared.vm_bytes * growth / GIB           # per sample and protected VM, with growth
    mean, peak = recovery_points.window_gib(vm_gib, prepared.interval_s, policy)
    days = prepared.times.size * prepared.interval_s / 86_400.0 if prepared.times.size else 1.0
    cache_gib = float(vm_gib.sum()) / max(days, 1e-9)   # one day of churn, as the plan assumes
    try:
        est = cost.estimate(replicas, np.zeros(len(prepared.vms)), float(mean.sum()), cache_gib, book)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"Monthly cost in {est.currency}, prices of {est.prices_date}"
                        + (" (EXAMPLE prices, not a quote)" if est.prices_example else ""))
    for col in ("item", "quantity", "unit price", "first month", "steady month"):
        table.add_column(col, justify="left" if col == "item" else "right")
    for r in est.lines.itertuples():
        table.add_row(r.item, f"{r.quantity:,.1f} {r.unit}", f"{r.unit_price:g}", f"{r.first_month:,.2f}",
                      f"{r.monthly:,.2f}")
    table.add_row("total", "", "", f"{est.first_month:,.2f}", f"{est.monthly:,.2f}")
    Console().print(table)
    points = recovery_points.retained_ages_h(policy).size
    console.print(f"{points} recovery points retained over {policy.retention_h:g} h; snapshot data held on average "
                  f"{float(mean.sum()):,.1f} GiB (at most {float(peak.sum()):,.1f} GiB), with {config.growth_pct:g} % "
                  "growth, counting every write as a new block (an upper bound)")
    over = recovery_points.over_snapshot_limit(peak)
    if over.any():
        names = ", ".join(prepared.vms.loc[over, "name"].astype(str))
        console.print(f"[yellow]warning:[/] snapshot data above the 10 TB limit: {names}")
    if est.unpriced_disks:
        console.print(f"[yellow]warning:[/] {est.unpriced_disks} replica disks of unknown size (or beyond every "
                      "tier) are not in the cost")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        summary = {**est.summary(), "retention_h": policy.retention_h, "app_consistent_h": policy.app_consistent_h,
                   "recovery_points": int(points), "snapshot_gib_mean": float(mean.sum()),
                   "snapshot_gib_peak": float(peak.sum()), "cache_gib": cache_gib}
        path = out / "cost.json"
        path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for p in (csv_export.write_frame(est.lines, out / "cost.csv"),
                  csv_export.write_frame(est.licence, out / "cost_licence.csv"), path):
            console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("cost")(cost_cmd)
