"""The churnplan store: the one place that holds SQL against its tables (schema, inventory, samples, runs).

`from churnplan.core import store` gives the whole surface: `store.connect` opens and checks a store (creating or
migrating it when writable), `store.run` records a collection or import, and the readers and writers of each
table live in their own module (schema, inventory, samples, runs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from churnplan.core.errors import StoreBusy, StoreDamaged, StoreError
# --- collector spool and status ---
from churnplan.core.store.collector import estate_timezone, record_estate_timezone, vcenter_watermarks
from churnplan.core.store.inventory import (DISK_COLUMNS, VM_COLUMNS, add_named_vms, load_disks, load_vms,
                                            upsert_disks, upsert_vcenter, upsert_vms, vcenters, vm_identities, vm_names)
from churnplan.core.store.runs import Run, RunStatus, mark_abandoned, recent_runs, run
from churnplan.core.store.samples import (SAMPLE_COLUMNS, Counts, counts, default_interval, disk_series,
                                          disk_write_stats, estate_series, insert_samples, load_samples,
                                          load_samples_polars, sample_intervals, sample_times, scope_write_series,
                                          vms_by_interval, vms_with_samples, watermarks)
from churnplan.core.store.settings import set_estate_timezone
from churnplan.core.store.telemetry import telemetry_statistics, telemetry_statistics_from_counts, vm_intervals
from churnplan.core.store.schema import DEFAULT_DB, SCHEMA_VERSION, ensure, expected_columns, open_connection

__all__ = [
    "DEFAULT_DB", "DISK_COLUMNS", "SAMPLE_COLUMNS", "SCHEMA_VERSION", "VM_COLUMNS", "Counts", "Run", "RunStatus",
    "StoreBusy", "StoreDamaged", "StoreError", "add_named_vms", "connect", "counts", "default_interval",
    "disk_series", "disk_write_stats", "estate_series", "set_estate_timezone",
    "expected_columns", "insert_samples", "load_disks",
    "load_samples", "load_samples_polars", "load_vms", "mark_abandoned", "recent_runs", "run", "sample_intervals",
    "sample_times", "scope_write_series", "vms_by_interval",
    "transaction", "upsert_disks", "upsert_vcenter", "upsert_vms", "vm_identities", "vm_names",
    "vms_with_samples", "watermarks",
    "estate_timezone", "record_estate_timezone", "vcenter_watermarks",   # collector spool and status
    "telemetry_statistics", "telemetry_statistics_from_counts", "vm_intervals",   # per-disk telemetry statistics
    "vcenters",   # the --vcenter filter's choices
]


def connect(path: str | Path = DEFAULT_DB, read_only: bool = False, retries: int = 0,
            retry_wait_s: float = 0.5) -> duckdb.DuckDBPyConnection:
    """Open the store at `path` after checking it (see store.schema); writable opens create or migrate it and
    mark runs whose process died as interrupted.

    Opens retry `retries` times while another process holds the write lock, then raise StoreBusy. A damaged
    store raises StoreDamaged and is left byte for byte as it was.
    """
    text = str(path)
    con = open_connection(text, read_only, retries, retry_wait_s)
    try:
        con.execute("SET TimeZone = 'UTC'")
        ensure(con, text, read_only)
        if not read_only:
            mark_abandoned(con)
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing block: commits on success, rolls back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
