"""The Parquet spool: the collector's crash- and lock-safe buffer, and the sample exchange format (for Spark too).

Layout under the spool folder, hive-style so Spark, DuckDB and pyarrow read it as partitioned datasets:

    samples/vcenter=<v>/day=YYYY-MM-DD/part-<ns>-<uuid>.parquet   one poll's samples of one UTC day
    vms/vcenter=<v>/part-<ns>-<uuid>.parquet                      inventory as discovered
    disks/vcenter=<v>/part-<ns>-<uuid>.parquet
    vcenters/vcenter=<v>/part-<ns>-<uuid>.parquet                 version, statistics level
    estate.json                                                   {"timezone": "<IANA zone>"}: the estate's zone
    _drained/<consumer>.log                                       files a consumer (a store) has taken in
    _status/<collector>.json                                      what a running collector is doing

Partition values are not repeated inside the files (Spark refuses a column that is both); they are escaped
as Spark escapes them (`127.0.0.1:8989` -> `127.0.0.1%3A8989`). `<ns>` is the write time in nanoseconds, so
the names sort in write order. Every file is written whole or not at all: a hidden temporary file, fsync,
rename, fsync of the folder. Folders starting with `_` or `.` are ignored by Spark's and DuckDB's readers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churnplan.core.errors import IngestError
from churnplan.core.store import DISK_COLUMNS, SAMPLE_COLUMNS, VM_COLUMNS
from churnplan.core.zones import check_zone

VCENTER_COLUMNS = ["vcenter", "version", "stats_level"]
# Kind -> its columns (vcenter first, carried by the folder name). Drained in this order within one write time.
KINDS: dict[str, list[str]] = {"vcenters": VCENTER_COLUMNS, "vms": VM_COLUMNS, "disks": DISK_COLUMNS,
                               "samples": SAMPLE_COLUMNS}
_ARROW_TYPES = {
    "ts": pa.timestamp("us", tz="UTC"), "interval_s": pa.int32(), "write_kbps": pa.float64(),
    "read_kbps": pa.float64(), "write_iops": pa.float64(), "read_iops": pa.float64(),
    "capacity_gb": pa.float64(), "provisioned_gb": pa.float64(), "used_gb": pa.float64(),
    "is_os_disk": pa.bool_(), "num_cpu": pa.int32(), "memory_mb": pa.int64(), "num_nics": pa.int32(),
    "stats_level": pa.int32(),
}
# Characters Spark's ExternalCatalogUtils.escapePathName escapes in partition values (plus non-printables).
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^')
_NAME = re.compile(r"^part-(\d{19})-[0-9a-f]{32}\.parquet$")
STALE_TEMP_S = 3600
ESTATE_FILE = "estate.json"


def escape_value(value: str) -> str:
    """A partition value as Spark writes it in a folder name."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED or ord(c) < 0x20 else c for c in value)


def unescape_value(text: str) -> str:
    """The inverse of `escape_value` (also what Spark does when it reads partition folders)."""
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _schema(kind: str) -> pa.Schema:
    return pa.schema([(c, _ARROW_TYPES.get(c, pa.string())) for c in KINDS[kind][1:]])


@dataclass(frozen=True, order=True)
class SpoolFile:
    """One complete spool file; sorts in write order (then inventory before samples)."""

    written_ns: int
    kind_rank: int
    relative: str      # path below the spool folder, with '/' separators
    kind: str
    vcenter: str


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, write) -> None:
    """Call `write(temp_path)`, then make the result appear at `path` whole, durable, or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        write(temp)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class Spool:
    """A spool folder: write frames into the layout, list what a consumer has not yet taken, mark files taken."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # --- writing ---------------------------------------------------------------------------------------------
    def _table(self, kind: str, frame: pd.DataFrame) -> pa.Table:
        columns = KINDS[kind][1:]
        out = frame.reindex(columns=columns)
        if "ts" in out:
            out["ts"] = pd.to_datetime(out["ts"], utc=True)
        return pa.Table.from_pandas(out, schema=_schema(kind), preserve_index=False)

    def _write(self, folder: Path, table: pa.Table) -> Path:
        path = folder / f"part-{time.time_ns():019d}-{uuid.uuid4().hex}.parquet"
        write_atomically(path, lambda temp: pq.write_table(table, temp, compression="zstd"))
        return path

    def write(self, kind: str, frame: pd.DataFrame) -> list[Path]:
        """Write `frame` (the kind's store columns, vcenter included) as one file per vcenter (and UTC day)."""
        if frame.empty:
            return []
        written = []
        if kind == "samples":
            days = pd.to_datetime(frame["ts"], utc=True).dt.strftime("%Y-%m-%d")
            groups = frame.groupby([frame["vcenter"], days], sort=True)
            for (vcenter, day), part in groups:
                folder = self.root / kind / f"vcenter={escape_value(vcenter)}" / f"day={day}"
                written.append(self._write(folder, self._table(kind, part.sort_values(["ts", "vm_id", "instance"]))))
        else:
            for vcenter, part in frame.groupby("vcenter", sort=True):
                folder = self.root / kind / f"vcenter={escape_value(vcenter)}"
                written.append(self._write(folder, self._table(kind, part)))
        return written

    def record_estate_zone(self, zone: str) -> None:
        """Write the estate's time zone into the layout (estate.json), so the store or cluster that reads the
        spool counts days and work hours in the zone its site recorded."""
        write_atomically(self.root / ESTATE_FILE,
                         lambda temp: temp.write_text(json.dumps({"timezone": check_zone(zone)}), encoding="utf-8"))

    # --- reading ---------------------------------------------------------------------------------------------
    def estate_zone(self) -> str | None:
        """The estate's time zone the layout records (estate.json), or None; an unreadable file or an unknown
        zone is an IngestError naming the file and field."""
        path = self.root / ESTATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IngestError(path, None, None, f"not the layout's estate file: {exc}") from None
        zone = data.get("timezone") if isinstance(data, dict) else None
        if zone is None:
            return None
        try:
            return check_zone(str(zone))
        except ValueError as exc:
            raise IngestError(path, None, "timezone", str(exc)) from None

    def files(self, kind: str | None = None, vcenter: str | None = None) -> list[SpoolFile]:
        """Complete files in write order (temporary files of writes in progress are not listed)."""
        found = []
        kinds = [kind] if kind else list(KINDS)
        for k in kinds:
            base = self.root / k
            if not base.is_dir():
                continue
            for folder in sorted(base.glob("vcenter=*")):
                value = unescape_value(folder.name.split("=", 1)[1])
                if vcenter is not None and value != vcenter:
                    continue
                for path in folder.glob("day=*/part-*.parquet" if k == "samples" else "part-*.parquet"):
                    match = _NAME.match(path.name)
                    if match:
                        found.append(SpoolFile(int(match.group(1)), list(KINDS).index(k),
                                               path.relative_to(self.root).as_posix(), k, value))
        return sorted(found)

    def read(self, file: SpoolFile) -> pa.Table:
        """One file as a table with the kind's store columns (vcenter put back from the folder name)."""
        table = pq.read_table(self.root / file.relative, schema=_schema(file.kind))
        return table.add_column(0, "vcenter", pa.array([file.vcenter] * table.num_rows, pa.string()))

    def read_many(self, files: list[SpoolFile]) -> pa.Table:
        """Files of one kind concatenated in the order given."""
        kinds = {f.kind for f in files}
        if len(kinds) != 1:
            raise ValueError(f"read_many wants files of one kind, got {sorted(kinds)}")
        return pa.concat_tables([self.read(f) for f in files])

    def watermarks(self, vcenter: str) -> pd.DataFrame:
        """Newest sample end per (vm_id, interval_s) of one vcenter across all its spool files (tz-aware UTC)."""
        files = self.files("samples", vcenter)
        if not files:
            return pd.DataFrame({"vm_id": pd.Series(dtype=object), "interval_s": pd.Series(dtype="int32"),
                                 "last_ts": pd.Series(dtype="datetime64[us, UTC]")})
        table = pq.ParquetDataset([str(self.root / f.relative) for f in files], schema=_schema("samples")).read(
            columns=["vm_id", "interval_s", "ts"])
        grouped = table.group_by(["vm_id", "interval_s"]).aggregate([("ts", "max")])
        return grouped.rename_columns(["vm_id", "interval_s", "last_ts"]).to_pandas()

    # --- consumers -------------------------------------------------------------------------------------------
    def _ledger(self, consumer: str) -> Path:
        return self.root / "_drained" / f"{consumer}.log"

    def drained(self, consumer: str) -> set[str]:
        """Relative paths `consumer` has taken in (a line torn by a crash names no file and is ignored)."""
        try:
            text = self._ledger(consumer).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return set()
        return {line for line in text.split("\n") if line.endswith(".parquet")}

    def pending(self, consumer: str) -> list[SpoolFile]:
        """Files `consumer` has not taken in yet, in write order."""
        done = self.drained(consumer)
        return [f for f in self.files() if f.relative not in done]

    def mark_drained(self, consumer: str, files: list[SpoolFile], delete: bool = False) -> None:
        """Record `files` as taken in by `consumer` (durably); `delete` also removes them (a private buffer)."""
        if not files:
            return
        ledger = self._ledger(consumer)
        ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(ledger, "a+", encoding="utf-8") as out:
            out.seek(0, os.SEEK_END)
            if out.tell() and not ledger.read_bytes().endswith(b"\n"):
                out.write("\n")   # a line torn by a crash: start afresh after it
            out.write("".join(f"{f.relative}\n" for f in files))
            out.flush()
            os.fsync(out.fileno())
        if delete:
            for f in files:
                (self.root / f.relative).unlink(missing_ok=True)

    def remove_stale_temporaries(self, older_than_s: float = STALE_TEMP_S) -> int:
        """Delete temporary files left by writers killed mid-write (older than an hour: no live writer's)."""
        removed = 0
        cutoff = time.time() - older_than_s
        for kind in KINDS:
            for temp in (self.root / kind).glob("**/.part-*.tmp"):
                try:
                    if temp.stat().st_mtime < cutoff:
                        temp.unlink()
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed


def consumer_key(db: Path) -> str:
    """A stable ledger name for a store file: its name plus a hash of its absolute path."""
    resolved = str(Path(db).resolve())
    return f"{Path(db).name}-{hashlib.sha256(resolved.encode()).hexdigest()[:12]}"
