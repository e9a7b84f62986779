"""The collection_runs table: one row per collection or import, written by the one run-lifecycle context manager.

`with store.run(con, source, target) as run:` records the run as running (with this process's pid and host),
and when the block ends marks it ok, failed (with the error's message) or interrupted (Ctrl-C). Runs a killed
process left 'running' are marked interrupted by the next process that opens the store writable, but only when
their process is gone from this host: a live collector's run is never touched.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import duckdb
import pandas as pd

from churnplan.core.errors import ChurnplanError


class RunStatus(StrEnum):
    """Where a collection or import run stands, as collection_runs.status stores it."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


# A connection, or a way to open one for a moment (the collector opens the store only while it writes).
Connector = duckdb.DuckDBPyConnection | Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass
class Run:
    """One run in progress; what the block sets here is written to its row when the block ends."""

    run_id: str
    vms: int | None = None
    disks: int | None = None
    samples_added: int | None = None
    samples_skipped: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    detail: str | None = None


def utcnow() -> datetime:
    """Now as the store keeps times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime | None) -> datetime | None:
    """`value` as naive UTC (tz-aware values are converted; naive ones are taken as UTC already)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _host() -> str:
    return socket.gethostname()


@contextlib.contextmanager
def _opened(connector: Connector) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(connector, duckdb.DuckDBPyConnection):
        yield connector
    else:
        with connector() as con:
            yield con


def start_run(con: duckdb.DuckDBPyConnection, source: str, target: str | None,
              window_start: datetime | None = None, window_end: datetime | None = None) -> str:
    """Record the start of a collection or import run by this process; returns its id."""
    run_id = uuid.uuid4().hex
    con.execute(
        """INSERT INTO collection_runs (run_id, source, target, started_at, window_start, window_end, status,
                                        pid, host)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [run_id, source, target, utcnow(), naive_utc(window_start), naive_utc(window_end), RunStatus.RUNNING.value,
         os.getpid(), _host()],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run: Run, status: RunStatus) -> None:
    """Write the run's end: its status, totals and detail."""
    con.execute(
        """UPDATE collection_runs SET ended_at = ?, status = ?, vms = ?, disks = ?, samples_added = ?,
             samples_skipped = ?, window_start = coalesce(?, window_start),
             window_end = coalesce(?, window_end), detail = ?
           WHERE run_id = ?""",
        [utcnow(), status.value, run.vms, run.disks, run.samples_added, run.samples_skipped,
         naive_utc(run.window_start), naive_utc(run.window_end), run.detail, run.run_id],
    )


@contextlib.contextmanager
def run(connector: Connector, source: str, target: str | None, window_start: datetime | None = None,
        window_end: datetime | None = None) -> Iterator[Run]:
    """Record a run around the block: 'running' now; 'ok' when it ends, 'failed' (with the error) when it raises,
    'interrupted' on Ctrl-C or exit. The block's exception always propagates unchanged."""
    with _opened(connector) as con:
        current = Run(start_run(con, source, target, window_start, window_end))
    try:
        yield current
    except KeyboardInterrupt:
        current.detail = current.detail or "stopped by the user; run again to resume"
        _finish_quietly(connector, current, RunStatus.INTERRUPTED)
        raise
    except Exception as exc:
        current.detail = str(exc) if isinstance(exc, ChurnplanError) else f"{type(exc).__name__}: {exc}"
        _finish_quietly(connector, current, RunStatus.FAILED)
        raise
    except BaseException:
        current.detail = current.detail or "the process was asked to stop"
        _finish_quietly(connector, current, RunStatus.INTERRUPTED)
        raise
    with _opened(connector) as con:
        finish_run(con, current, RunStatus.OK)


def _finish_quietly(connector: Connector, current: Run, status: RunStatus) -> None:
    """Record a failed run's end without hiding the failure: if even that cannot be written, the next process that
    opens the store marks the run interrupted."""
    try:
        with _opened(connector) as con:
            finish_run(con, current, status)
    except (duckdb.Error, ChurnplanError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def mark_abandoned(con: duckdb.DuckDBPyConnection) -> int:
    """Mark 'interrupted' the runs left 'running' by processes of this host that no longer exist; returns how many."""
    rows = con.execute("SELECT run_id, pid FROM collection_runs WHERE status = ? AND host = ? AND pid IS NOT NULL",
                       [RunStatus.RUNNING.value, _host()]).fetchall()
    dead = [(run_id, pid) for run_id, pid in rows if pid != os.getpid() and not _alive(int(pid))]
    for run_id, pid in dead:
        con.execute("""UPDATE collection_runs SET status = ?, ended_at = coalesce(ended_at, ?),
                         detail = coalesce(detail, ?) WHERE run_id = ? AND status = ?""",
                    [RunStatus.INTERRUPTED.value, utcnow(), f"process {pid} ended without finishing the run (killed?)",
                     run_id, RunStatus.RUNNING.value])
    return len(dead)


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """The latest runs, newest first, as the dashboard lists them."""
    return con.execute(
        """SELECT source, target, started_at, ended_at, status, vms, disks, samples_added, detail
           FROM collection_runs ORDER BY started_at DESC LIMIT ?""", [limit]).df()
