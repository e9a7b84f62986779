"""The samples table's physical order: clustered by interval, VM, disk and time, the order planning reads.

DuckDB keeps rows in insertion order and skips row groups by their min/max (zone maps, rowid ranges). A
collector or importer appends samples time after time, so one VM's rows are spread over the whole table;
after `cluster_samples` each VM's rows of one interval are one rowid range, and churnplan.core.sample_reader
reads a block of VMs as one range, touching only its row groups.
"""

from __future__ import annotations

import duckdb

ORDER = ("interval_s", "vcenter", "vm_id", "instance", "ts")


def cluster_samples(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite the samples table in ORDER (one transaction: on failure nothing changes); returns its rows."""
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
    con.execute("CHECKPOINT")
    row = con.execute("SELECT count(*) FROM samples").fetchone()
    return int(row[0]) if row else 0
