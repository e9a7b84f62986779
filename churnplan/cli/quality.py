"""`churnplan quality`: how trustworthy the stored telemetry is (coverage, gaps, missing counters, confidence)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from churnplan.analytics import telemetry_quality
from churnplan.cli.errors import fail, read_only_or_fail
from churnplan.core import store
from churnplan.engines.store_telemetry import statistics_from_store
from churnplan.export import csv as csv_export

console = Console(stderr=True)


def judge(db: Path, interval: int | None) -> telemetry_quality.TelemetryQuality:
    """The store's telemetry assessed in bounded memory: per-disk statistics aggregated in DuckDB (every sample
    is never loaded), judged at `interval` (default: the one spanning the most time, as plan uses)."""
    with read_only_or_fail(db) as con:
        held = [int(x) for x in store.sample_intervals(con)["interval_s"]]
        if not held:
            raise fail(f"{db}: no samples to judge (run `churnplan collect`, `churnplan import` or "
                       "`churnplan samples`)")
        iv = interval if interval is not None else store.default_interval(con)
        if iv not in held:
            raise fail(f"samples hold no {iv:g} s interval; they hold {', '.join(map(str, held))} s")
        stats = statistics_from_store(con, float(iv), every_interval=True)
    return telemetry_quality.from_statistics(stats)


def quality_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for quality_vms.csv, quality_disks.csv and "
                                                           "quality.json."),
    interval: int | None = typer.Option(None, "--interval", help="Interval to judge, in seconds (default: the "
                                                                    "one spanning the most time, as plan uses)."),
) -> None:
    """Judge the telemetry: samples present, gaps, missing counters, days covered; a 1-5 confidence with reasons."""
    with console.status(f"reading {db}"):
        q = judge(db, interval)
    e = q.estate
    table = Table(title=f"Telemetry confidence {q.rating} of 5", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in [("window (UTC)", f"{e['window_start'][:16]} .. {e['window_end'][:16]}"),
                 ("days covered", f"{e['days_covered']:.1f} at {q.interval_s:g} s"),
                 ("samples present", f"{e['coverage_pct']:.1f} %"), ("VMs / disks", f"{e['vms']} / {e['disks']}"),
                 ("disks without write IOPS", str(e["disks_missing_write_iops"])),
                 ("disks without read counters", str(e["disks_missing_read_counters"])),
                 ("VMs with mixed intervals", str(e["vms_with_mixed_intervals"]))]:
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
        path.write_text(json.dumps(q.summary(), indent=2, sort_keys=True, default=float) + "\n", encoding="utf-8")
        for p in [*paths, path]:
            console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("quality")(quality_cmd)
