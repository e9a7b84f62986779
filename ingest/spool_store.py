"""Moving data between a Parquet spool and a DuckDB store: drain a spool into a store, export a store as a spool.

Draining is idempotent: samples are keyed (vcenter, vm, instance, interval, end time) and inventory is upserted,
so a file drained twice (a crash between the store's commit and the ledger line) changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from churnplan.core import store
from churnplan.core.store import DISK_COLUMNS, SAMPLE_COLUMNS, VM_COLUMNS
from churnplan.ingest.errors import IngestError
from churnplan.ingest.spool import Spool, SpoolFile

BATCH_FILES = 200


@dataclass
class DrainResult:
    """What one drain took in."""

    files: int = 0
    samples_added: int = 0
    samples_offered: int = 0
    added_by_vcenter: dict[str, int] = field(default_factory=dict)


def _insert_samples(con: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
    naive = table.set_column(table.schema.get_field_index("ts"), "ts", pc.cast(table["ts"], pa.timestamp("us")))
    return store.insert_samples(con, con.from_arrow(naive))


def _read(spool: Spool, files: list[SpoolFile]) -> pa.Table:
    try:
        return spool.read_many(files)
    except (pa.ArrowException, OSError) as exc:
        # find the file at fault so the message can name it
        for f in files:
            try:
                spool.read(f)
            except (pa.ArrowException, OSError) as bad:
                raise IngestError(spool.root / f.relative, None, None,
                                  f"not a readable spool file ({type(bad).__name__}: {bad})") from None
        raise IngestError(spool.root, None, None, f"spool files do not fit together ({exc})") from None


def _apply(con: duckdb.DuckDBPyConnection, spool: Spool, kind: str, files: list[SpoolFile],
           result: DrainResult) -> None:
    table = _read(spool, files)
    if kind == "samples":
        added = _insert_samples(con, table)
        result.samples_added += added
        result.samples_offered += table.num_rows
        vcenter = files[0].vcenter
        result.added_by_vcenter[vcenter] = result.added_by_vcenter.get(vcenter, 0) + added
    elif kind == "vcenters":
        for row in table.to_pylist():
            store.upsert_vcenter(con, row["vcenter"], row["version"], row["stats_level"])
    elif kind == "vms":
        store.upsert_vms(con, table.to_pandas()[VM_COLUMNS])
    elif kind == "disks":
        store.upsert_disks(con, table.to_pandas()[DISK_COLUMNS])


def drain(spool: Spool, con: duckdb.DuckDBPyConnection, consumer: str | None, delete: bool = False,
          on_batch: Callable[[int, int], None] | None = None) -> DrainResult:
    """Take every file `consumer` has not yet taken into the store, in write order, a batch per transaction;
    the layout's estate time zone is recorded where the store has none.

    Each batch commits before its files are marked drained, so a crash anywhere re-drains at most one batch.
    With `consumer` None every file is taken and no ledger is written (an import that leaves the spool as it
    is; samples already stored are skipped by their key). `on_batch(done, total)` reports progress.
    """
    pending = spool.pending(consumer) if consumer else spool.files()
    result = DrainResult()
    zone = spool.estate_zone()
    if zone:   # the site's zone, unless the store already records one (init --timezone or an earlier import)
        store.set_estate_timezone(con, zone, overwrite=False)
    for first in range(0, len(pending), BATCH_FILES):
        batch = pending[first:first + BATCH_FILES]
        with store.transaction(con):
            # consecutive files of one kind and vCenter go in together; inventory precedes later samples
            for (kind, _), run in groupby(batch, key=lambda f: (f.kind, f.vcenter)):
                _apply(con, spool, kind, list(run), result)
        if consumer:
            spool.mark_drained(consumer, batch, delete=delete)
        result.files += len(batch)
        if on_batch:
            on_batch(result.files, len(pending))
    return result


def export(con: duckdb.DuckDBPyConnection, spool: Spool,
           on_partition: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Write the store's inventory and samples (and its estate time zone) into `spool` in the spool layout;
    returns rows per kind.

    One file per (vcenter, UTC day): the loop is over partitions, each moved as one Arrow batch.
    """
    counts = {"vcenters": 0, "vms": 0, "disks": 0, "samples": 0}
    zone = store.estate_timezone(con)
    if zone:
        spool.record_estate_zone(zone)
    vcenters = con.execute("SELECT vcenter, version, stats_level FROM vcenters ORDER BY vcenter").df()
    spool.write("vcenters", vcenters)
    counts["vcenters"] = len(vcenters)
    for kind, frame in (("vms", store.load_vms(con)), ("disks", store.load_disks(con))):
        spool.write(kind, frame)
        counts[kind] = len(frame)
    days = con.execute("SELECT DISTINCT vcenter, ts::DATE FROM samples ORDER BY ALL").fetchall()
    for n, (vcenter, day) in enumerate(days, 1):
        frame = con.execute("SELECT * FROM samples WHERE vcenter = ? AND ts::DATE = ? "
                            "ORDER BY ts, vm_id, instance, interval_s", [vcenter, day]).df()[SAMPLE_COLUMNS]
        frame["ts"] = frame["ts"].dt.tz_localize("UTC") if frame["ts"].dt.tz is None else frame["ts"]
        spool.write("samples", frame)
        counts["samples"] += len(frame)
        if on_partition:
            on_partition(n, len(days))
    return counts
