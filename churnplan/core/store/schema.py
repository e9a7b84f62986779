"""The store's schema: its tables, their versions and migrations, and the check every command passes first.

Opening a store checks it before anything reads or writes it: the file is a DuckDB database of its full
length, its schema version is an integer this churnplan knows, every expected table has its columns, and each
table can be read. A damaged store is refused with one line naming the file and the fault, and is never
written to (DuckDB writes nothing when a connection that made no change closes).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import duckdb

from churnplan.core.errors import StoreBusy, StoreDamaged, StoreError

SCHEMA_VERSION = 2
DEFAULT_DB = "churnplan.duckdb"

_DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vcenters (
        vcenter VARCHAR PRIMARY KEY,
        version VARCHAR,
        stats_level INTEGER,
        first_seen TIMESTAMP,
        last_seen TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS vms (
        vcenter VARCHAR NOT NULL,
        vm_id VARCHAR NOT NULL,          -- managed object id (vm-123) or the import's stable key
        uuid VARCHAR,                    -- BIOS/instance UUID, used to match across sources
        name VARCHAR NOT NULL,
        host VARCHAR,
        cluster VARCHAR,
        guest_os VARCHAR,
        firmware VARCHAR,                -- 'bios' or 'efi'
        num_cpu INTEGER,
        memory_mb BIGINT,
        num_nics INTEGER,
        power_state VARCHAR,
        PRIMARY KEY (vcenter, vm_id))""",
    """CREATE TABLE IF NOT EXISTS disks (
        vcenter VARCHAR NOT NULL,
        vm_id VARCHAR NOT NULL,
        instance VARCHAR NOT NULL,       -- device instance as vCenter counters name it, e.g. 'scsi0:1'
        label VARCHAR,
        capacity_gb DOUBLE,
        provisioned_gb DOUBLE,
        used_gb DOUBLE,
        is_os_disk BOOLEAN,
        disk_mode VARCHAR,
        controller VARCHAR,
        PRIMARY KEY (vcenter, vm_id, instance))""",
    """CREATE TABLE IF NOT EXISTS samples (
        vcenter VARCHAR NOT NULL,
        vm_id VARCHAR NOT NULL,
        instance VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,           -- UTC, end of the interval
        interval_s INTEGER NOT NULL,
        write_kbps DOUBLE,
        read_kbps DOUBLE,
        write_iops DOUBLE,
        read_iops DOUBLE,
        PRIMARY KEY (vcenter, vm_id, instance, interval_s, ts))""",
    """CREATE TABLE IF NOT EXISTS collection_runs (
        run_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,         -- 'vcenter', 'powercli', 'rvtools', 'samples', ...
        target VARCHAR,                  -- server name or file path
        started_at TIMESTAMP NOT NULL,
        ended_at TIMESTAMP,
        window_start TIMESTAMP,
        window_end TIMESTAMP,
        vms INTEGER,
        disks INTEGER,
        samples_added BIGINT,
        samples_skipped BIGINT,
        status VARCHAR,                  -- RunStatus: 'running', 'ok', 'failed', 'interrupted'
        detail VARCHAR,
        pid INTEGER,                     -- process running the run (v2), so a killed run can be told from a live one
        host VARCHAR)""",                # and the machine it runs on (v2)
    """CREATE TABLE IF NOT EXISTS watermarks (
        vcenter VARCHAR NOT NULL,
        vm_id VARCHAR NOT NULL,
        interval_s INTEGER NOT NULL,
        last_ts TIMESTAMP NOT NULL,      -- newest sample end stored for this VM at this interval
        PRIMARY KEY (vcenter, vm_id, interval_s))""",
]

# Migrations from version N to N+1, as lists of SQL statements.
_MIGRATIONS: dict[int, list[str]] = {
    1: [
        "ALTER TABLE collection_runs ADD COLUMN pid INTEGER",
        "ALTER TABLE collection_runs ADD COLUMN host VARCHAR",
        # v1 runs name no process: one still 'running' cannot be told from a killed one; v1 collectors that are
        # still alive overwrite this when they finish.
        """UPDATE collection_runs SET status = 'interrupted',
             detail = coalesce(detail, 'left running by an earlier churnplan (no process recorded)')
           WHERE status = 'running'""",
    ],
}
# Columns each migration added: a store at an older version is checked without them.
_ADDED_IN: dict[int, dict[str, tuple[str, ...]]] = {2: {"collection_runs": ("pid", "host")}}

_HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers precede the blocks


@functools.cache
def expected_columns(version: int = SCHEMA_VERSION) -> dict[str, tuple[str, ...]]:
    """Table -> columns a store at `version` holds, read from the DDL itself (so it cannot drift)."""
    con = duckdb.connect()
    try:
        for ddl in _DDL:
            con.execute(ddl)
        rows = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                              WHERE table_schema = 'main' ORDER BY table_name, ordinal_position""").fetchall()
    finally:
        con.close()
    later: dict[str, set[str]] = {}
    for added_in, added in _ADDED_IN.items():
        if added_in > version:
            for table, cols in added.items():
                later.setdefault(table, set()).update(cols)
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        if column not in later.get(table, set()):
            tables.setdefault(table, []).append(column)
    return {t: tuple(cols) for t, cols in tables.items()}


def open_connection(path: str, read_only: bool, retries: int, retry_wait_s: float) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to `path`, waiting out another process's lock `retries` times; StoreError otherwise."""
    if path != ":memory:":
        file = Path(path)
        if file.is_dir():
            raise StoreError(f"{path}: is a folder, not a churnplan store file; pass the store's file name to --db")
        if read_only and not file.exists():
            raise StoreError(f"{path}: no churnplan store here; run `churnplan init --db {path}` or `churnplan demo`")
    for attempt in range(retries + 1):
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "not a valid DuckDB database" in text:
                raise StoreDamaged(f"{path}: not a DuckDB database (damaged, or another kind of file); "
                                   "refusing to touch it") from None
            if "Could not read enough bytes" in text or "truncated" in text.lower():
                raise StoreDamaged(f"{path}: store file is cut short (truncated); restore it from a copy") from None
            if "lock" not in text.lower():  # a missing folder or an unreadable file: waiting will not help
                raise StoreError(f"{path}: cannot open the store ({_first_line(text)})") from None
            if attempt == retries:
                raise StoreBusy(f"{path}: store is locked by another process ({_first_line(text)})") from exc
            time.sleep(retry_wait_s)
        except duckdb.Error as exc:  # corrupt headers raise other kinds (InternalException, SerializationException)
            raise StoreDamaged(f"{path}: damaged store file ({_first_line(str(exc))}); refusing to touch it") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stored_version(con: duckdb.DuckDBPyConnection, path: str) -> int | None:
    """The store's schema version; None for a store that has none yet; StoreDamaged when it is not an integer."""
    has_meta = _one(con, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                         "AND table_name = 'meta'")
    if not has_meta:
        return None
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except duckdb.Error as exc:
        raise StoreDamaged(f"{path}: damaged store: cannot read its schema version ({_first_line(str(exc))})") from None
    if not rows:
        return None
    text = str(rows[0][0])
    if not text.strip().isdigit():
        raise StoreDamaged(f"{path}: damaged store: schema_version {text[:40]!r} is not an integer")
    return int(text)


def check(con: duckdb.DuckDBPyConnection, path: str, version: int) -> None:
    """Refuse a store at `version` whose file is short, or whose tables, columns or data cannot be read."""
    _check_length(con, path)
    present: dict[str, set[str]] = {}
    for table, column in con.execute("""SELECT table_name, column_name FROM information_schema.columns
                                        WHERE table_schema = 'main'""").fetchall():
        present.setdefault(table, set()).add(column)
    for table, columns in expected_columns(version).items():
        if table not in present:
            raise StoreDamaged(f"{path}: damaged store: table {table} is missing (schema v{version})")
        missing = [c for c in columns if c not in present[table]]
        if missing:
            raise StoreDamaged(f"{path}: damaged store: table {table} lacks column {missing[0]} (schema v{version})")
    for table in expected_columns(version):
        try:
            con.execute(_PROBES[table]).fetchall()
        except duckdb.Error as exc:
            raise StoreDamaged(f"{path}: damaged store: table {table} cannot be read "
                               f"({_first_line(str(exc))})") from None


# One full read of each table's key columns: DuckDB verifies each block's checksum as it reads it.
_PROBES = {
    "meta": "SELECT count(*), max(length(value)) FROM meta",
    "vcenters": "SELECT count(*), max(last_seen) FROM vcenters",
    "vms": "SELECT count(*), max(name) FROM vms",
    "disks": "SELECT count(*), max(capacity_gb) FROM disks",
    "samples": "SELECT count(*), max(ts) FROM samples",
    "collection_runs": "SELECT count(*), max(started_at) FROM collection_runs",
    "watermarks": "SELECT count(*), max(last_ts) FROM watermarks",
}


def _check_length(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """The file holds every block its header counts (a copy cut short does not); skipped while a WAL is pending,
    whose blocks the file does not hold yet."""
    if path == ":memory:" or Path(path + ".wal").exists():
        return
    row = con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone()
    if row is None:
        return
    # Free blocks at the end need not be on disk; the used ones must be, wherever they sit.
    block_size, used = int(row[0]), int(row[1])
    need = _HEADER_BYTES + block_size * used
    have = os.path.getsize(path)
    if used > 0 and have < need:
        raise StoreDamaged(f"{path}: store file is cut short: {have:,} bytes where its {used} used blocks need at "
                           f"least {need:,} (truncated copy?); restore it from a copy")


def ensure(con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> int:
    """Check the store and, if writable, create or migrate it; returns the version now in force."""
    version = stored_version(con, path)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema v{version} is newer than this churnplan (v{SCHEMA_VERSION}); "
                         "upgrade churnplan")
    if version is None:
        user_tables = _one(con, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'")
        if user_tables:
            raise StoreDamaged(f"{path}: holds tables but no churnplan schema version (damaged, or another "
                               "program's database); refusing to touch it")
        if read_only:
            raise StoreError(f"{path}: not a churnplan store (no schema version); run `churnplan init --db {path}`")
        _create(con)
        return SCHEMA_VERSION
    if version < 1:
        raise StoreDamaged(f"{path}: damaged store: schema_version {version} does not exist")
    check(con, path, version)
    if read_only:
        return version  # older stores read fine: migrations only add columns the readers do not need
    while version < SCHEMA_VERSION:
        steps = _MIGRATIONS.get(version)
        if steps is None:
            raise StoreError(f"{path}: no migration from schema v{version}; export and re-import the data")
        con.execute("BEGIN")
        for sql in steps:
            con.execute(sql)
        version += 1
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
        con.execute("COMMIT")
    return version


def _create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN")
    for ddl in _DDL:
        con.execute(ddl)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute("COMMIT")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
