"""`churnplan status`: how each running or recent collection is doing, without waiting for the store's lock.

A running collector rewrites a status file in its spool after every poll; the store's run records add the
history. When a collector holds the store's lock at that moment, the run records are left out, not waited for.
"""

from __future__ import annotations

from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from churnplan.cli.errors import fail
from churnplan.core import store
from churnplan.ingest.collector_status import process_alive, read_statuses
from churnplan.ingest.vcenter import private_spool

console = Console()
RECENT_RUNS = 10
RECENT_COLLECTORS = 10


def _ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "-"
    seconds = (now - datetime.fromisoformat(stamp)).total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _state(status: dict[str, Any]) -> str:
    state = status.get("state", "?")
    if state == "running":
        alive = process_alive(status)
        if alive is False:
            return "stopped (process gone)"
        if status.get("store_state", "").startswith("waiting"):
            return f"running, waiting on the store lock ({status.get('pending_files', 0)} spool files)"
    return state


def _collectors(spool: Path, now: datetime) -> Table | None:
    statuses = list(read_statuses(spool))[:RECENT_COLLECTORS]   # newest first
    if not statuses:
        return None
    table = Table(title=f"collectors writing to {escape(str(spool))}")
    for column in ("vCenter", "collector", "state", "last poll", "samples spooled / stored", "lag behind vCenter",
                   "errors"):
        table.add_column(column)
    for status in statuses:
        for vcenter, v in status.get("vcenters", {}).items():
            errors = v.get("errors") or []
            table.add_row(escape(vcenter), f"{status.get('id')} (pid {status.get('pid')})",
                          escape(_state(status) + ("" if v.get("state") in ("collecting", "done") else
                                                   f"; {v.get('state')}")),
                          f"{_ago(v.get('last_poll'), now)} ago" if v.get("last_poll") else "-",
                          f"{v.get('samples_spooled', 0):,} / {v.get('samples_stored', 0):,}",
                          _ago(v.get("newest_sample"), now),
                          escape(f"{len(errors)}: {errors[-1]}") if errors else "0")
    return table


def _runs(db: Path) -> Table | str:
    try:
        con = store.connect(db, read_only=True)
    except store.StoreError as exc:
        return f"run records not shown: {exc}"
    try:
        runs = store.recent_runs(con, RECENT_RUNS)
    finally:
        con.close()
    table = Table(title=f"recent runs in {escape(str(db))}")
    for column in ("source", "target", "started (UTC)", "ended (UTC)", "status", "samples added", "VMs", "detail"):
        table.add_column(column)

    def cell(value: Any) -> str:
        return "-" if value is None or pd.isna(value) else escape(str(value))

    for r in runs.itertuples(index=False):
        table.add_row(cell(r.source), cell(r.target), cell(r.started_at)[:19], cell(r.ended_at)[:19], cell(r.status),
                      "-" if pd.isna(r.samples_added) else f"{int(r.samples_added):,}",
                      "-" if pd.isna(r.vms) else str(int(r.vms)),
                      cell(r.detail)[:80])
    return table


def status_cmd(
    db: Path = typer.Option(Path(store.DEFAULT_DB), "--db", help="DuckDB store file."),
    spool: list[Path] = typer.Option(None, "--spool", help="A collector's spool folder (default: <db>.spool); "
                                                            "repeat for several."),
) -> None:
    """Show running and recent collections: last poll, samples, lag behind vCenter, errors, waiting on the lock."""
    now = datetime.now(UTC)
    folders = list(spool or []) or [private_spool(db)]
    shown = False
    for folder in folders:
        table = _collectors(folder, now)
        if table is not None:
            console.print(table)
            shown = True
    if db.exists():
        runs = _runs(db)
        console.print(runs if isinstance(runs, Table) else f"[yellow]{escape(runs)}[/]")
        shown = True
    if not shown:
        raise fail(f"no collection found: {db} does not exist and no collector status in "
                   f"{', '.join(str(f) for f in folders)}")


def register(app: typer.Typer) -> None:
    app.command("status")(status_cmd)
