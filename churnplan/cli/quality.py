"""`churnplan quality`: how trustworthy the stored telemetry is (coverage, gaps, missing counters, confidence)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from churnplan.analytics import telemetry_quality
from churnplan.cli.errors import fail, read_only_or_fail
from churnplan.cli.options import checked_vcenters, with_vcenter_option
from churnplan.core import store
from churnplan.engines.store_telemetry import statistics_from_store
from churnplan.export import csv as csv_export

console = Console(stderr=True)


def judge(db: Path, interval: int | None, vcenter: list[str] | None = None) -> telemetry_quality.TelemetryQuality:
    """The store's telemetry (of `vcenter`, all when None) assessed in bounded memory: per-disk statistics
    aggregated in DuckDB (every sample is never loaded), judged at `interval` (default: the one spanning the most
    time, as plan uses)."""
    with read_only_or_fail(db) as con:
        vcenters = checked_vcenters(con, db, vcenter) or None
        intervals = store.vm_intervals(con, vcenters)
        held = sorted({int(x) for x in intervals["interval_s"]})
        if not held:
            raise fail(f"{db}: no samples to judge (run `churnplan collect`, `churnplan import` or "
                       "`churnplan samples`)")
        iv = interval if interval is not None else store.default_interval(con, vcenters)
        if iv not in held:
            raise fail(f"samples hold no {iv:g} s interval; they hold {', '.join(map(str, held))} s")
        stats = statistics_from_store(con, float(iv), vcenters=vcenters)
    return telemetry_quality.from_statistics(replace(stats, intervals=intervals))
    return telemetry_quality.from_statistics(stats)


@with_vcenter_option
def quality_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for quality_vms.csv, quality_disks.csv and "
                                                           "quality.json."),
    interval: int | None = typer.Option(None, "--interval", help="Interval to judge, in seconds (default: the "
                                                                    "one spanning the most time, as plan uses)."),
    vcenter: list[str] | None = None,
) -> None:
    """Judge the telemetry: samples present, gaps, missing counters, days covered; a 1-5 confidence with reasons."""
    with console.status(f"reading {db}"):
        q = judge(db, interval, vcenter)
    e = q.estate
    table = Table(title=f"Telemetry confidence {q.rating} of 5", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in [("window (UTC)", f"{e['window_start'][:16]} .. {e['window_end'][:16]}"),
                 ("days covered", f"{e['days_covered']:.1f} at {q.interval_s:g} s"),
                 ("samples present", f"{e['coverage_pct']:.1f} %"), ("VMs / disks", f"{e['vms']} / {e['disks']}"),
                 ("disks without write IOPS", str(e["disks_missing_write_iops"])),
                 ("disks without read counters", str(e["disks_missing_read_counters"])),
                 ("VMs with mixed intervals", str(e["vms_with_mixed_intervals"])),
                 ("vCenters", ", ".join(dict.fromkeys(vcenter)) + " only (--vcenter)" if vcenter else "all")]:
        table.add_row(k, v)
    Console().print(table)
    for r in q.reasons:
        Console().print(f"  {escape(r)}")
    for w in q.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if out is not None:
        paths = [csv_export.write_frame(q.vms, out / "quality_vms.csv"),
                 csv_export.write_frame(q.disks, out / "quality_disks.csv")]
        path = out / "quality.json"
        record = {**q.summary(), "vcenters": list(dict.fromkeys(vcenter or ()))}
        path.write_text(json.dumps(record, indent=2, sort_keys=True, default=float) + "\n", encoding="utf-8")
        for p in [*paths, path]:
            console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("quality")(quality_cmd)
