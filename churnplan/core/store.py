"""The churnplan store: the one place that defines the DuckDB schema, migrates it and moves frames in and out.

Times are stored as naive TIMESTAMP holding UTC; loaders hand back tz-aware UTC pandas columns.
A sample's timestamp is the END of its interval, so it covers [ts - interval_s, ts).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Iterator

import duckdb
import pandas as pd
import polars as pl

SCHEMA_VERSION = 1
DEFAULT_DB = "churnplan.duckdb"

VM_COLUMNS = [
    "vcenter", "vm_id", "uuid", "name", "host", "cluster", "guest_os", "firmware",
    "num_cpu", "memory_mb", "num_nics", "power_state",
]
DISK_COLUMNS = [
    "vcenter", "vm_id", "instance", "label", "capacity_gb", "provisioned_gb", "used_gb",
    "is_os_disk", "disk_mode", "controller",
]
SAMPLE_COLUMNS = [
    "vcenter", "vm_id", "instance", "ts", "interval_s",
    "write_kbps", "read_kbps", "write_iops", "read_iops",
]

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
        status VARCHAR,                  -- 'running', 'ok', 'failed', 'interrupted'
        detail VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS watermarks (
        vcenter VARCHAR NOT NULL,
        vm_id VARCHAR NOT NULL,
        interval_s INTEGER NOT NULL,
        last_ts TIMESTAMP NOT NULL,      -- newest sample end stored for this VM at this interval
        PRIMARY KEY (vcenter, vm_id, interval_s))""",
]

# Migrations from version N to N+1, as lists of SQL statements. Empty while there is only version 1.
_MIGRATIONS: dict[int, list[str]] = {}


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says what to do."""


@dataclass(frozen=True)
class Counts:
    vms: int
    disks: int
    samples: int


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def connect(path: str | Path = DEFAULT_DB, read_only: bool = False, retries: int = 0,
            retry_wait_s: float = 0.5) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if writable) the store at `path`.

    Read-only opens retry `retries` times while another process holds the write lock.
    """
    path = str(path)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise StoreError(f"{path}: no churnplan store here; run `churnplan init --db {path}` or `churnplan demo`")
    for attempt in range(retries + 1):
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():  # a missing folder or an unreadable file: waiting will not help
                raise StoreError(f"{path}: cannot open the store ({exc})") from exc
            if attempt == retries:
                raise StoreError(f"{path}: store is locked by another process ({exc})") from exc
            time.sleep(retry_wait_s)
    con.execute("SET TimeZone = 'UTC'")
    if read_only:
        _check_version(con, path)
    else:
        _ensure_schema(con, path)
    return con


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()[0]
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _refuse_newer(version: int | None, path: str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema v{version} is newer than this churnplan (v{SCHEMA_VERSION}); "
                         "upgrade churnplan")


def _check_version(con: duckdb.DuckDBPyConnection, path: str) -> None:
    version = _stored_version(con)
    if version is None:
        raise StoreError(f"{path}: not a churnplan store (no schema version); run `churnplan init --db {path}`")
    _refuse_newer(version, path)
    if version < SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema v{version} is older than v{SCHEMA_VERSION}; open it once "
                         f"writable (`churnplan init --db {path}`) to migrate")


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: str) -> None:
    version = _stored_version(con)
    _refuse_newer(version, path)
    if version is None:
        user_tables = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'").fetchone()[0]
        if user_tables:
            raise StoreError(f"{path}: holds tables but no churnplan schema version; refusing to touch it")
        con.execute("BEGIN")
        for ddl in _DDL:
            con.execute(ddl)
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
        return
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


def _frame(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = None
    return out[columns]


def upsert_vcenter(con: duckdb.DuckDBPyConnection, vcenter: str, version: str | None = None,
                   stats_level: int | None = None) -> None:
    now = _utcnow()
    con.execute(
        """INSERT INTO vcenters VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (vcenter) DO UPDATE SET
             version = coalesce(excluded.version, vcenters.version),
             stats_level = coalesce(excluded.stats_level, vcenters.stats_level),
             last_seen = excluded.last_seen""",
        [vcenter, version, stats_level, now, now],
    )


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame, columns: list[str],
            keys: list[str]) -> int:
    """Insert or refresh inventory rows of `table` (a schema constant, never user input); returns rows written."""
    if rows.empty:
        return 0
    frame = _frame(rows, columns).drop_duplicates(keys, keep="last")
    view = f"_{table}_in"
    con.register(view, frame)
    try:
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns[len(keys):])
        con.execute(f"INSERT INTO {table} SELECT * FROM {view} "
                    f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}")
    finally:
        con.unregister(view)
    return len(frame)


def upsert_vms(con: duckdb.DuckDBPyConnection, vms: pd.DataFrame) -> int:
    """Insert or refresh VM inventory rows; returns rows written."""
    return _upsert(con, "vms", vms, VM_COLUMNS, ["vcenter", "vm_id"])


def upsert_disks(con: duckdb.DuckDBPyConnection, disks: pd.DataFrame) -> int:
    """Insert or refresh disk inventory rows; returns rows written."""
    return _upsert(con, "disks", disks, DISK_COLUMNS, ["vcenter", "vm_id", "instance"])


def insert_samples(con: duckdb.DuckDBPyConnection, samples: pd.DataFrame | str) -> int:
    """Insert samples not already stored (same vcenter, vm, instance, interval, end time); returns rows added.

    `samples` is a frame with SAMPLE_COLUMNS, or the name of a registered relation/view with them.
    Timestamps must be UTC (tz-aware or naive-UTC). Watermarks move forward with the data.
    """
    if isinstance(samples, pd.DataFrame):
        if samples.empty:
            return 0
        frame = _frame(samples, SAMPLE_COLUMNS)
        ts = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
        frame = frame.assign(ts=ts)
        con.register("_samples_in", frame)
        source = "_samples_in"
    else:
        source = samples
    cols = ", ".join(SAMPLE_COLUMNS)
    try:
        added = con.execute(  # DuckDB counts the rows it inserted, not those the conflict skipped
            f"""INSERT INTO samples
                SELECT {cols} FROM (
                  SELECT {cols}, row_number() OVER (
                    PARTITION BY vcenter, vm_id, instance, interval_s, ts ORDER BY ts) AS _rn
                  FROM {source}) WHERE _rn = 1
                ON CONFLICT DO NOTHING""").fetchone()[0]
        con.execute(
            f"""INSERT INTO watermarks
                SELECT vcenter, vm_id, interval_s, max(ts) FROM {source}
                GROUP BY ALL
                ON CONFLICT (vcenter, vm_id, interval_s) DO UPDATE
                  SET last_ts = greatest(watermarks.last_ts, excluded.last_ts)""")
    finally:
        if source == "_samples_in":
            con.unregister("_samples_in")
    return int(added)


def start_run(con: duckdb.DuckDBPyConnection, source: str, target: str | None,
              window_start: datetime | None = None, window_end: datetime | None = None) -> str:
    """Record the start of a collection or import run; returns its id."""
    run_id = uuid.uuid4().hex
    con.execute(
        """INSERT INTO collection_runs (run_id, source, target, started_at, window_start, window_end, status)
           VALUES (?, ?, ?, ?, ?, ?, 'running')""",
        [run_id, source, target, _utcnow(), _naive_utc(window_start), _naive_utc(window_end)],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, *, vms: int | None = None,
               disks: int | None = None, samples_added: int | None = None,
               samples_skipped: int | None = None, window_start: datetime | None = None,
               window_end: datetime | None = None, detail: str | None = None) -> None:
    con.execute(
        """UPDATE collection_runs SET ended_at = ?, status = ?, vms = ?, disks = ?, samples_added = ?,
             samples_skipped = ?, window_start = coalesce(?, window_start),
             window_end = coalesce(?, window_end), detail = ?
           WHERE run_id = ?""",
        [_utcnow(), status, vms, disks, samples_added, samples_skipped, _naive_utc(window_start),
         _naive_utc(window_end), detail, run_id],
    )


@contextlib.contextmanager
def run_failure_recorded(con: duckdb.DuckDBPyConnection, run_id: str) -> Iterator[None]:
    """An exception inside marks the run 'failed' with its message ('interrupted' on Ctrl-C), then propagates."""
    try:
        yield
    except KeyboardInterrupt:
        finish_run(con, run_id, "interrupted", detail="interrupted")
        raise
    except Exception as exc:
        finish_run(con, run_id, "failed", detail=str(exc))
        raise


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def counts(con: duckdb.DuckDBPyConnection) -> Counts:
    return Counts(*(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("vms", "disks", "samples")))


def load_vms(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(f"SELECT {', '.join(VM_COLUMNS)} FROM vms ORDER BY vcenter, name").df()


def load_disks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"SELECT {', '.join(DISK_COLUMNS)} FROM disks ORDER BY vcenter, vm_id, instance").df()


def sample_intervals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Which sampling intervals the store holds, with their time span and row count."""
    return con.execute(
        """SELECT interval_s, count(*) AS samples, min(ts) AS first_ts, max(ts) AS last_ts,
                  count(DISTINCT vcenter || '/' || vm_id) AS vms
           FROM samples GROUP BY interval_s ORDER BY interval_s""").df()


def default_interval(con: duckdb.DuckDBPyConnection) -> int | None:
    """The interval that spans the most time: the planning resolution unless one is asked for."""
    row = con.execute(
        """SELECT interval_s FROM samples GROUP BY interval_s
           ORDER BY max(ts) - min(ts) DESC, interval_s LIMIT 1""").fetchone()
    return int(row[0]) if row else None


def load_samples(con: duckdb.DuckDBPyConnection, interval_s: int | None = None,
                 start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Samples at one interval (default: `default_interval`), within [start, end], ts as tz-aware UTC,
    ordered by ts, vcenter, vm_id, instance. Planning wants `load_samples_polars`, which skips the order
    and the per-row strings."""
    if interval_s is None:
        interval_s = default_interval(con)
        if interval_s is None:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in SAMPLE_COLUMNS})
    keys = ["vcenter", "vm_id", "instance"]
    fast = load_samples_polars(con, interval_s, start, end)
    return fast.sort(["ts"] + keys).with_columns(pl.col(keys).cast(pl.String)).to_pandas()


def load_samples_polars(con: duckdb.DuckDBPyConnection, interval_s: int | None = None,
                        start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
    """Samples as `load_samples` selects them, fast and compact for planning: a polars frame in no particular
    order, vcenter/vm_id/instance as Enum (categories sorted), ts as tz-aware UTC Datetime.

    Keys are coded in DuckDB against the distinct disks, so no string is materialised per sample.
    """
    if interval_s is None:
        interval_s = default_interval(con)
    params = [interval_s, _naive_utc(start), _naive_utc(end)]
    where = ("s.interval_s = $1 AND ($2::TIMESTAMP IS NULL OR s.ts >= $2) "
             "AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)")
    keys = con.execute(f"SELECT DISTINCT vcenter, vm_id, instance FROM samples s WHERE {where}", params).df()
    enums = {}
    for k in ("vcenter", "vm_id", "instance"):
        cats = sorted(set(keys[k]))
        enums[k] = pl.Enum(cats)
        keys[f"_{k}"] = pd.Categorical(keys[k], categories=cats).codes.astype("int32")
    con.register("_sample_keys", keys)
    try:
        rows = con.sql(
            f"""SELECT k._vcenter, k._vm_id, k._instance, s.ts, s.interval_s,
                       s.write_kbps, s.read_kbps, s.write_iops, s.read_iops
                FROM samples s JOIN _sample_keys k USING (vcenter, vm_id, instance) WHERE {where}""",
            params=params).pl()
    finally:
        con.unregister("_sample_keys")
    return rows.select(
        *(pl.col(f"_{k}").cast(pl.Series(dtype=e).to_physical().dtype).cat.to(e).alias(k) for k, e in enums.items()),
        pl.col("ts").dt.replace_time_zone("UTC"), *SAMPLE_COLUMNS[4:])


# --- collector spool and status ---

ESTATE_TIMEZONE_KEY = "estate_timezone"


def record_estate_timezone(con: duckdb.DuckDBPyConnection, zone: str) -> None:
    """Remember the estate's IANA time zone (as given to collect or import) for displays to default to."""
    con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [ESTATE_TIMEZONE_KEY, zone])


def estate_timezone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The estate's time zone recorded in the store, or None."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [ESTATE_TIMEZONE_KEY]).fetchone()
    return row[0] if row else None
