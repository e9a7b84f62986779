"""The samples and watermarks tables: insert without duplicates, and every read planning and the dashboard make.

Times are stored as naive TIMESTAMP holding UTC; loaders hand back tz-aware UTC columns. A sample's timestamp is
the END of its interval, so it covers [ts - interval_s, ts). A watermark is the newest sample end stored per VM
and interval; it never moves past now (plus the clock skew core.plausibility allows), whatever the data says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd
import polars as pl

from churnplan.core import sample_layout
from churnplan.core.store.inventory import frame_with, vcenter_list
from churnplan.core.plausibility import Window
from churnplan.core.store.runs import naive_utc

SAMPLE_COLUMNS = [
    "vcenter", "vm_id", "instance", "ts", "interval_s",
    "write_kbps", "read_kbps", "write_iops", "read_iops",
]
_KEYS = ["vcenter", "vm_id", "instance"]


@dataclass(frozen=True)
class Counts:
    vms: int
    disks: int
    samples: int


def insert_samples(con: duckdb.DuckDBPyConnection, samples: pd.DataFrame | duckdb.DuckDBPyRelation) -> int:
    """Insert samples not already stored (same vcenter, vm, instance, interval, end time); returns rows added.

    `samples` is a frame with SAMPLE_COLUMNS, or a DuckDB relation with them (an importer's staging table).
    Timestamps must be UTC (tz-aware or naive-UTC). Watermarks move forward with the data, never past now
    plus the allowed clock skew.
    """
    if isinstance(samples, pd.DataFrame):
        if samples.empty:
            return 0
        frame = frame_with(samples, SAMPLE_COLUMNS)
        frame = frame.assign(ts=pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None))
        con.register("_samples_in", frame)
    else:
        con.register("_samples_in", samples)
    try:
        row = con.execute(  # DuckDB counts the rows it inserted, not those the conflict skipped
            """INSERT INTO samples
               SELECT vcenter, vm_id, instance, ts, interval_s, write_kbps, read_kbps, write_iops, read_iops FROM (
                 SELECT vcenter, vm_id, instance, ts, interval_s, write_kbps, read_kbps, write_iops, read_iops,
                        row_number() OVER (PARTITION BY vcenter, vm_id, instance, interval_s, ts ORDER BY ts) AS _rn
                 FROM _samples_in) WHERE _rn = 1
               ON CONFLICT DO NOTHING""").fetchone()
        con.execute(
            """INSERT INTO watermarks
               SELECT vcenter, vm_id, interval_s, least(max(ts), ?::TIMESTAMP) FROM _samples_in
               GROUP BY ALL
               ON CONFLICT (vcenter, vm_id, interval_s) DO UPDATE
                 SET last_ts = greatest(watermarks.last_ts, excluded.last_ts)""", [Window.from_env().latest()])
    finally:
        con.unregister("_samples_in")
    added = int(row[0]) if row else 0
    if added:
        sample_layout.forget_extents(con)   # new rows: the recorded extents no longer describe the table
    return added


def watermarks(con: duckdb.DuckDBPyConnection, vcenter: str, interval_s: int) -> dict[str, datetime]:
    """vm_id -> newest stored sample end (tz-aware UTC) of `vcenter`'s VMs at `interval_s`."""
    rows = con.execute("SELECT vm_id, last_ts FROM watermarks WHERE vcenter = ? AND interval_s = ?",
                       [vcenter, interval_s]).fetchall()
    return {vm_id: ts.replace(tzinfo=UTC) for vm_id, ts in rows}


def vms_with_samples(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """Keys of VMs holding telemetry (read from the watermarks, which track every stored series)."""
    return {(vc, vm) for vc, vm in con.execute("SELECT DISTINCT vcenter, vm_id FROM watermarks").fetchall()}


def counts(con: duckdb.DuckDBPyConnection) -> Counts:
    """How many VMs, disks and samples the store holds."""
    row = con.execute("SELECT (SELECT count(*) FROM vms), (SELECT count(*) FROM disks), "
                      "(SELECT count(*) FROM samples)").fetchone()
    assert row is not None
    return Counts(int(row[0]), int(row[1]), int(row[2]))


def sample_intervals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Which sampling intervals the store holds, with their time span and row count."""
    return con.execute(
        """SELECT interval_s, count(*) AS samples, min(ts) AS first_ts, max(ts) AS last_ts,
                  count(DISTINCT vcenter || '/' || vm_id) AS vms
           FROM samples GROUP BY interval_s ORDER BY interval_s""").df()


def default_interval(con: duckdb.DuckDBPyConnection, vcenters: Sequence[str] | None = None) -> int | None:
    """The interval that spans the most time (in `vcenters`' samples, all when None): the planning resolution
    unless one is asked for."""
    row = con.execute(
        """SELECT interval_s FROM samples WHERE $1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], vcenter)
           GROUP BY interval_s ORDER BY max(ts) - min(ts) DESC, interval_s LIMIT 1""",
        [vcenter_list(vcenters)]).fetchone()
    return int(row[0]) if row else None


def load_samples(con: duckdb.DuckDBPyConnection, interval_s: int | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Samples at one interval (default: `default_interval`), within [start, end], ts as tz-aware UTC,
    ordered by ts, vcenter, vm_id, instance. Planning wants `load_samples_polars`, which skips the order
    and the per-row strings."""
    if interval_s is None:
        interval_s = default_interval(con, vcenters)
        if interval_s is None:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in SAMPLE_COLUMNS})
    fast = load_samples_polars(con, interval_s, start, end, vcenters)
    return fast.sort(["ts", *_KEYS]).with_columns(pl.col(_KEYS).cast(pl.String)).to_pandas()


def load_samples_polars(con: duckdb.DuckDBPyConnection, interval_s: int | None = None,
                        start: datetime | None = None, end: datetime | None = None,
                        vcenters: Sequence[str] | None = None) -> pl.DataFrame:
    """Samples as `load_samples` selects them, fast and compact for planning: a polars frame in no particular
    order, vcenter/vm_id/instance as Enum (categories sorted), ts as tz-aware UTC Datetime.

    Keys are coded in DuckDB against the distinct disks (of `vcenters`, all when None), so no string is
    materialised per sample.
    """
    if interval_s is None:
        interval_s = default_interval(con, vcenters)
    params = [interval_s, naive_utc(start), naive_utc(end)]
    keys = con.execute(
        """SELECT DISTINCT vcenter, vm_id, instance FROM samples s
           WHERE s.interval_s = $1 AND ($2::TIMESTAMP IS NULL OR s.ts >= $2)
             AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)
             AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], s.vcenter))""",
        [*params, vcenter_list(vcenters)]).df()
    enums = {}
    for k in _KEYS:
        cats = sorted(set(keys[k]))
        enums[k] = pl.Enum(cats)
        keys[f"_{k}"] = pd.Categorical(keys[k], categories=cats).codes.astype("int32")
    con.register("_sample_keys", keys)
    try:
        rows = con.sql(
            """SELECT k._vcenter, k._vm_id, k._instance, s.ts, s.interval_s,
                      s.write_kbps, s.read_kbps, s.write_iops, s.read_iops
               FROM samples s JOIN _sample_keys k USING (vcenter, vm_id, instance)
               WHERE s.interval_s = $1 AND ($2::TIMESTAMP IS NULL OR s.ts >= $2)
                 AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)""", params=params).pl()
    finally:
        con.unregister("_sample_keys")
    out: pl.DataFrame = rows.select(
        *(pl.col(f"_{k}").cast(pl.Series(dtype=e).to_physical().dtype).cat.to(e).alias(k) for k, e in enums.items()),
        pl.col("ts").dt.replace_time_zone("UTC"), *SAMPLE_COLUMNS[4:])
    return out


def estate_series(con: duckdb.DuckDBPyConnection, interval_s: int,
                  vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Estate total write and read KiB/s and write IOPS per sample end at one interval, over `vcenters` (all when
    None); ts tz-aware UTC."""
    df = con.execute(
        """SELECT ts, sum(write_kbps) AS write_kbps, sum(read_kbps) AS read_kbps, sum(write_iops) AS write_iops
           FROM samples WHERE interval_s = $1 AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], vcenter))
           GROUP BY ts ORDER BY ts""", [interval_s, vcenter_list(vcenters)]).df()
    df["ts"] = pd.to_datetime(df["ts"]).dt.tz_localize("UTC")
    return df


def disk_series(con: duckdb.DuckDBPyConnection, vcenter: str, vm_id: str, interval_s: int) -> pd.DataFrame:
    """Per-disk write/read KiB/s and IOPS of one VM at one interval (ts tz-aware UTC)."""
    df = con.execute(
        """SELECT ts, instance, write_kbps, read_kbps, write_iops, read_iops FROM samples
           WHERE vcenter = ? AND vm_id = ? AND interval_s = ? ORDER BY ts, instance""",
        [vcenter, vm_id, interval_s]).df()
    df["ts"] = pd.to_datetime(df["ts"]).dt.tz_localize("UTC")
    return df


def disk_write_stats(con: duckdb.DuckDBPyConnection, interval_s: int, limit: int) -> pd.DataFrame:
    """The `limit` disks with the highest mean write KiB/s at `interval_s`: VM name, disk, capacity, mean and maximum
    write KiB/s and maximum write IOPS; a NULL value counts as a sample of 0, as the plan's profiles count it."""
    return con.execute(
        """SELECT v.name AS vm, s.vcenter, s.vm_id, s.instance, d.label, d.capacity_gb,
                  avg(coalesce(s.write_kbps, 0)) AS mean_write_kbps,
                  max(coalesce(s.write_kbps, 0)) AS peak_write_kbps, max(s.write_iops) AS peak_write_iops
           FROM samples s
           JOIN vms v USING (vcenter, vm_id)
           LEFT JOIN disks d USING (vcenter, vm_id, instance)
           WHERE s.interval_s = ?
           GROUP BY ALL ORDER BY mean_write_kbps DESC LIMIT ?""", [interval_s, limit]).df()


_SCOPE_SERIES = """SELECT a.scope, epoch_us(s.ts) AS ts_us, sum(coalesce(s.write_kbps, 0)) AS write_kbps
    FROM samples s LEFT JOIN _scope_of_vm a USING (vcenter, vm_id)
    WHERE s.interval_s = $1 AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], s.vcenter)) GROUP BY ALL"""
_SCOPE_SERIES_LEAVING_OUT = """SELECT a.scope, epoch_us(s.ts) AS ts_us, sum(coalesce(s.write_kbps, 0)) AS write_kbps
    FROM samples s LEFT JOIN _scope_of_vm a USING (vcenter, vm_id)
    ANTI JOIN _excluded_disks e USING (vcenter, vm_id, instance)
    WHERE s.interval_s = $1 AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], s.vcenter)) GROUP BY ALL"""


def scope_write_series(con: duckdb.DuckDBPyConnection, interval_s: int, scopes: pd.DataFrame,
                       excluded: pd.DataFrame, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Write KiB/s per scope and sample end at `interval_s` (ts as epoch µs), the disks in `excluded` (vcenter,
    vm_id, instance) left out: the samples of the VMs in `scopes` (vcenter, vm_id, scope) summed per scope, a
    NULL value as 0. The other VMs' disks give rows of scope NULL, so every time an included disk has a
    sample is listed (the time axis of the per-VM series), in one scan of the samples (of `vcenters`, all
    when None)."""
    con.register("_scope_of_vm", frame_with(scopes, ["vcenter", "vm_id", "scope"]).astype(str))
    con.register("_excluded_disks", frame_with(excluded, _KEYS).astype(str))
    try:   # the anti-join costs a third of the scan: left out when no disk is excluded
        return con.execute(_SCOPE_SERIES_LEAVING_OUT if len(excluded) else _SCOPE_SERIES,
                           [interval_s, vcenter_list(vcenters)]).df()
    finally:
        con.unregister("_scope_of_vm")
        con.unregister("_excluded_disks")


def sample_times(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per interval and sample end (ts naive UTC): how many samples, and their total write KiB/s. One scan gives the
    dashboard's first page what it shows of the samples: counts, time spans, the main interval, the churn chart."""
    return con.execute(
        """SELECT interval_s, ts, count(*) AS samples, sum(write_kbps) AS write_kbps
           FROM samples GROUP BY interval_s, ts ORDER BY interval_s, ts""").df()


def vms_by_interval(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many VMs hold samples at each interval, from the watermarks (one row per VM and interval stored)."""
    return con.execute("SELECT interval_s, count(*) AS vms FROM watermarks GROUP BY interval_s").df()
