"""The samples table's physical order: clustered by interval, VM, disk and time, the order planning reads.

DuckDB keeps rows in insertion order and skips row groups by their min/max (zone maps, rowid ranges). A
collector or importer appends samples time after time, so one VM's rows are spread over the whole table;
after `cluster_samples` each VM's rows of one interval are one rowid range, and churnplan.core.sample_reader
reads a block of VMs as one range, touching only its row groups.

`cluster_samples` also records each disk's extent (count, rowid span, time step: what the reader's first scan
of the samples would find) in a derived table, `sample_extents`, with a fingerprint of the samples table (rows,
greatest rowid, first and last time) in `meta`: a plan of the whole window then needs no scan before reading the
blocks. Any insert through the store forgets them (`forget_extents`), and a fingerprint that no longer matches
makes the reader scan as before; the table can be dropped at any time.
"""

from __future__ import annotations

import duckdb
import pandas as pd

ORDER = ("interval_s", "vcenter", "vm_id", "instance", "ts")
EXTENTS_KEY = "sample_extents"   # meta key of the fingerprint the recorded extents belong to

# Per disk: count, rowid span, a0 = the least ts - rowid x interval (microseconds) and `steps`: the greatest is
# the same (one interval per rowid step). Not over an hour, where the product could overflow in a huge store.
_STEP = "CASE WHEN interval_s <= 3600 THEN epoch_us(ts) - rowid * (interval_s * 1000000) END"
STATS_SELECT = f"""SELECT interval_s, vcenter, vm_id, instance, count(*) AS n, min(rowid) AS lo, max(rowid) AS hi,
    coalesce(min({_STEP}), 0) AS a0, coalesce(min({_STEP}) = max({_STEP}), false) AS steps"""


def cluster_samples(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite the samples table in ORDER (one transaction: on failure nothing changes) and record its disks'
    extents; returns its rows."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE TEMP TABLE _clustered AS SELECT * FROM samples "
                    "ORDER BY interval_s, vcenter, vm_id, instance, ts")   # ORDER, spelled out
        con.execute("DELETE FROM samples")
        con.execute("INSERT INTO samples SELECT * FROM _clustered")
        con.execute("DROP TABLE _clustered")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("CHECKPOINT")   # rowids final (deleted rows gone) before the extents name them
    record_extents(con)
    row = con.execute("SELECT count(*) FROM samples").fetchone()
    return int(row[0]) if row else 0


def record_extents(con: duckdb.DuckDBPyConnection) -> None:
    """Each disk's extent over every sample (the reader's STATS_SELECT, no window), with the table's fingerprint."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE sample_extents AS {STATS_SELECT} FROM samples s GROUP BY ALL")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [EXTENTS_KEY, fingerprint(con)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def forget_extents(con: duckdb.DuckDBPyConnection) -> None:
    """The samples changed: the recorded extents no longer hold (the reader scans until they are recorded again)."""
    con.execute("DELETE FROM meta WHERE key = ?", [EXTENTS_KEY])


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Rows, greatest rowid, first and last time of the samples table: cheap (no value column is read), and any
    insert, delete or rewrite that moves rows changes one of them. One statement (one snapshot) of four scalar
    subqueries: DuckDB answers count, min and max from its row groups' statistics when no rowid is asked for in
    the same aggregate (40 ms at 130 M rows; the single aggregate scanned every time, 150 ms)."""
    row = con.execute("SELECT (SELECT count(*) FROM samples), (SELECT max(rowid) FROM samples), "
                      "(SELECT min(ts) FROM samples), (SELECT max(ts) FROM samples)").fetchone()
    return "|".join(str(v) for v in row) if row else ""


def recorded_extents(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The recorded extents when they still describe the samples table (same fingerprint), else None."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [EXTENTS_KEY]).fetchall()
    if not rows or rows[0][0] != fingerprint(con):
        return None
    try:
        return con.execute("SELECT * FROM sample_extents").df()
    except duckdb.CatalogException:   # dropped by hand: scan instead
        return None
