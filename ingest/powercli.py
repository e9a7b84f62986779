"""Import `Get-Stat ... | Export-Csv` files from PowerCLI into the store, all-or-nothing per file.

The file streams through DuckDB: read_csv into a staging table, validation in SQL, then a pivot of the
counters into store samples (write_kbps, read_kbps, write_iops, read_iops). Accepted counters are
`virtualdisk.*` per virtual disk (instance 'scsi0:1', as vCenter names it) and VM-level `disk.*`
with instance '' (the VM's aggregate over all its disks), stored under instance 'vm-total';
per-LUN `disk.*` rows (instance 'naa.…') are skipped and counted. vCenter's Timestamp is the END
of each interval, as the store keeps it. Timestamps are local to `--timezone` (PowerShell writes the
client's local time) and stored in UTC; the hour repeated at a DST fall-back is told apart by order.
VMs are matched to stored ones by ingest.identity's rule; unknown VMs get a minimal vms row named
after Entity so their samples are usable. Error lines are file lines as an editor shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from collections.abc import Callable

import duckdb
import pandas as pd

from churnplan.core import plausibility, store
from churnplan.ingest.csv_layout import CsvLayout, sniff
from churnplan.ingest.errors import IngestError, shorten
from churnplan.ingest.identity import VM_TOTAL_INSTANCE, match_vms
from churnplan.ingest.sql import one, row
from churnplan.core.zones import check_zone
from churnplan.ingest.timestamps import TimestampReading, choose_reading, convert_distinct

DEFAULT_VCENTER = "powercli"
REQUIRED_COLUMNS = ("Value", "Timestamp", "MetricId", "Unit", "Entity", "EntityId", "IntervalSecs", "Instance")

# counter (matched case-insensitively) -> (store column, how the value becomes that column, unit kind it needs, level)
METRICS: dict[str, tuple[str, str, str, str]] = {
    "virtualdisk.write.average": ("write_kbps", "average", "rate", "virtualdisk"),
    "virtualdisk.read.average": ("read_kbps", "average", "rate", "virtualdisk"),
    "virtualdisk.numberWriteAveraged.average": ("write_iops", "average", "count", "virtualdisk"),
    "virtualdisk.numberReadAveraged.average": ("read_iops", "average", "count", "virtualdisk"),
    "disk.write.average": ("write_kbps", "average", "rate", "disk"),
    "disk.read.average": ("read_kbps", "average", "rate", "disk"),
    "disk.numberWriteAveraged.average": ("write_iops", "average", "count", "disk"),
    "disk.numberReadAveraged.average": ("read_iops", "average", "count", "disk"),
    "disk.numberWrite.summation": ("write_iops", "summation", "count", "disk"),  # I/Os per interval
    "disk.numberRead.summation": ("read_iops", "summation", "count", "disk"),
}
# unit as Get-Stat writes it (or vSphere's enum name) -> (kind, factor to KB/s or to a count)
UNITS: dict[str, tuple[str, float]] = {
    "KBps": ("rate", 1.0), "kiloBytesPerSecond": ("rate", 1.0), "KB/s": ("rate", 1.0),
    "MBps": ("rate", 1024.0), "megaBytesPerSecond": ("rate", 1024.0), "MB/s": ("rate", 1024.0),
    "Bps": ("rate", 1 / 1024), "bytesPerSecond": ("rate", 1 / 1024), "B/s": ("rate", 1 / 1024),
    "num": ("count", 1.0), "number": ("count", 1.0),
}

_RAW, _TYPED, _OUT, _TIMES = "_pc_raw", "_pc_typed", "_pc_samples", "_pc_times"
_REJECTS, _SCANS = "_pc_rejects", "_pc_reject_scans"


@dataclass(frozen=True)
class PowerCliImport:
    """What one file added to the store."""

    path: Path
    run_id: str
    records: int               # data rows read
    samples: int               # samples the rows pivot into
    samples_added: int         # of which new to the store (0 on re-import)
    vms: int
    vms_created: int           # VMs the store did not know (minimal rows named after Entity)
    disks: int                 # distinct (VM, instance) series
    skipped_lun_rows: int      # per-LUN disk.* rows left out
    window_start: datetime | None
    window_end: datetime | None
    intervals: tuple[int, ...]
    timestamps: str            # how timestamps were read

    @property
    def samples_skipped(self) -> int:
        return self.samples - self.samples_added


def import_file(con: duckdb.DuckDBPyConnection, path: str | Path, *, vcenter: str | None = None,
                timezone: str = "UTC", dayfirst: bool | None = None, date_format: str | None = None,
                progress: Callable[[str], None] | None = None) -> PowerCliImport:
    """Import one Get-Stat CSV; raises IngestError (naming file, line, field) and stores nothing on bad input.

    `timezone` is the zone the file's timestamps are written in (ISO timestamps with an offset keep theirs).
    `vcenter` limits VM matching to that vCenter key and names new VMs' vcenter (default 'powercli').
    Every attempt leaves a collection_runs row: 'ok', 'failed' (with the error) or 'interrupted'.
    """
    path = Path(path)
    tz = check_zone(timezone)
    step = progress or (lambda _msg: None)
    with store.run(con, "powercli", str(path)) as run:
        try:
            result = _import(con, path, run.run_id, vcenter, tz, dayfirst, date_format, step)
        finally:
            _drop_staging(con)
        run.vms, run.disks = result.vms, result.disks
        run.samples_added, run.samples_skipped = result.samples_added, result.samples_skipped
        run.window_start, run.window_end = result.window_start, result.window_end
        run.detail = f"{result.records} rows, timestamps {result.timestamps} ({tz})"
    return result


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    for table in (_RAW, _TYPED, _OUT, _TIMES, _REJECTS, _SCANS):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")  # this module's staging constants, no input
    for view in ("_pc_metrics", "_pc_units", "_pc_vmmap"):
        try:
            con.unregister(view)
        except duckdb.Error:
            pass


def _import(con: duckdb.DuckDBPyConnection, path: Path, run_id: str, vcenter: str | None, tz: str,
            dayfirst: bool | None, date_format: str | None, step: Callable[[str], None]) -> PowerCliImport:
    layout = sniff(path, REQUIRED_COLUMNS)
    con.execute("SET enable_progress_bar = false")  # rich draws the progress; DuckDB's bar would garble it
    step("reading")
    _stage(con, layout)
    step("validating")
    reading = choose_reading(con, _RAW, "Timestamp", layout.record_line, str(path), dayfirst, date_format)
    _type(con, reading, tz)
    _check_rows(con, layout, reading)
    _unfold_repeated_hour(con)
    _check_series(con, layout)
    step("pivoting")
    vm_map = _map_vms(con, vcenter)
    _pivot(con, vm_map)
    stats = row(con, """SELECT (SELECT count(*) FROM _pc_raw), count(*), count(DISTINCT vcenter || '/' || vm_id),
                   count(DISTINCT vcenter || '/' || vm_id || '/' || instance), min(ts), max(ts),
                   list(DISTINCT interval_s ORDER BY interval_s),
                   (SELECT count(*) FROM _pc_typed WHERE NOT keep)
            FROM _pc_samples""")
    records, samples, vms, disks, first, last, intervals, skipped_lun = stats
    new_vms = vm_map[vm_map["matched_by"].isna()][["vcenter", "vm_id", "name"]]
    step("writing")
    with store.transaction(con):
        store.add_named_vms(con, new_vms)
        for key in new_vms["vcenter"].unique():
            store.upsert_vcenter(con, key)
        added = store.insert_samples(con, con.table("temp._pc_samples"))
    return PowerCliImport(path, run_id, records, samples, added, vms, len(new_vms), disks, skipped_lun,
                          first, last, tuple(intervals or ()), reading.describe)


def _stage(con: duckdb.DuckDBPyConnection, layout: CsvLayout) -> None:
    """read_csv the whole file, every column as text; malformed rows (e.g. a cut-off last line) fail the file."""
    columns = {c: "VARCHAR" for c in layout.columns}
    con.execute(
        """CREATE TEMP TABLE _pc_raw AS SELECT * FROM read_csv($path, header = true, skip = $skip,
              auto_detect = false, columns = $columns, delim = $delim, quote = '"', escape = '"',
              encoding = $enc, store_rejects = true, rejects_table = '_pc_rejects',
              rejects_scan = '_pc_reject_scans', rejects_limit = 10)""",
        {"path": str(layout.path), "skip": layout.skip, "columns": columns, "delim": layout.delimiter,
         "enc": layout.encoding})
    reject = one(con, "SELECT line, line_byte_position, column_name, error_type, error_message FROM _pc_rejects "
                      "ORDER BY line LIMIT 1")
    if reject:
        line, byte_pos, column, kind, message = reject
        line = layout.byte_line(byte_pos) if byte_pos is not None else line
        if kind in ("MISSING COLUMNS", "UNQUOTED VALUE"):
            message = f"row is cut short ({message.strip()}); is the file truncated?"
        raise IngestError(layout.path, line, column, f"malformed CSV row: {message.strip()}")
    if row(con, "SELECT count(*) FROM _pc_raw")[0] == 0 and _has_data_lines(layout):
        raise IngestError(layout.path, layout.header_line + 1, None,
                          "no rows could be read after the header (mixed line endings or a broken quote?)")


def _has_data_lines(layout: CsvLayout) -> bool:
    with layout.open_text() as fh:
        for _ in range(layout.header_line):
            fh.readline()
        return any(line.strip() for line in fh)


def _type(con: duckdb.DuckDBPyConnection, reading: TimestampReading, tz: str) -> None:
    """One pass turning text into typed, unit-converted values; bad cells become NULL for _check_rows."""
    metrics = pd.DataFrame(
        [(k.lower(), *v) for k, v in METRICS.items()], columns=["metric_id", "col", "how", "needs", "level"])
    units = pd.DataFrame([(k, *v) for k, v in UNITS.items()], columns=["unit", "unit_kind", "factor"])
    con.register("_pc_metrics", metrics)
    con.register("_pc_units", units)
    # Get-Stat repeats each timestamp once per series: convert the distinct texts, then join.
    con.register("_pc_times_in", convert_distinct(con, reading, tz, _RAW, "Timestamp"))
    con.execute("CREATE TEMP TABLE _pc_times AS SELECT * FROM _pc_times_in")
    con.unregister("_pc_times_in")
    con.execute(  # a value with a comma and no dot is de-DE's decimal comma
        """CREATE TEMP TABLE _pc_typed AS
            SELECT r.rowid AS rec,
                   nullif(regexp_extract(r."EntityId", '^\\s*VirtualMachine-(\\S+)\\s*$', 1), '') AS moref,
                   nullif(trim(r."Entity"), '') AS name,
                   coalesce(trim(r."Instance"), '') AS raw_instance,
                   lower(trim(r."MetricId")) AS metric_id,
                   m.col, m.how, m.needs, m.level, u.unit_kind, u.factor,
                   try_cast(CASE WHEN contains(trim(r."Value"), '.') THEN trim(r."Value")
                                 ELSE replace(trim(r."Value"), ',', '.') END AS DOUBLE) AS value,
                   try_cast(trim(r."IntervalSecs") AS DOUBLE) AS interval_d,
                   CASE WHEN interval_d = floor(interval_d) AND interval_d BETWEEN 1 AND $max_interval
                        THEN interval_d::INTEGER END AS interval_s,
                   tt.ts, tt.ts_repeat,
                   NOT (m.level = 'disk' AND coalesce(trim(r."Instance"), '') <> '') AS keep
            FROM _pc_raw r
            LEFT JOIN _pc_metrics m ON lower(trim(r."MetricId")) = m.metric_id
            LEFT JOIN _pc_units u ON trim(r."Unit") = u.unit
            LEFT JOIN _pc_times tt ON trim(r."Timestamp") = tt.t""", {"max_interval": plausibility.MAX_INTERVAL_S})


def _check_rows(con: duckdb.DuckDBPyConnection, layout: CsvLayout, reading: TimestampReading) -> None:
    """Fail on the earliest row holding any bad cell, plausibility (core.plausibility's bounds) included."""
    window = plausibility.Window.from_env()
    known = ", ".join(METRICS)
    checks: list[tuple[str, str, str]] = [  # (condition, field, message with {v} for the cell)
        ("metric_id IS NULL OR col IS NULL", "MetricId",
         "unknown metric {v}; accepted: " + known),
        ("moref IS NULL", "EntityId", "{v} is not a virtual machine (expected 'VirtualMachine-vm-123')"),
        ("name IS NULL", "Entity", "VM name is empty"),
        ("value IS NULL", "Value", "{v} is not a number"),
        ("NOT isfinite(value)", "Value", "{v} is not a finite number"),
        ("value < 0", "Value", "negative value {v}: rates and counts cannot be below zero"),
        ("interval_d IS NULL OR NOT isfinite(interval_d) OR interval_d <= 0", "IntervalSecs",
         "{v} is not a positive whole number of seconds"),
        ("interval_d <> floor(interval_d)", "IntervalSecs",
         "{v} is not a whole number of seconds (intervals are refused, not rounded)"),
        ("interval_d > $max_interval", "IntervalSecs", "{v} is longer than one day, vCenter's longest interval"),
        ("unit_kind = 'rate' AND value * factor > $max_rate", "Value",
         "{v} is above 100 GiB/s, beyond any storage path (corrupt cell or wrong unit?)"),
        ("unit_kind = 'count' AND how = 'average' AND value > $max_iops", "Value",
         "{v} I/O per second is beyond any storage (corrupt cell or wrong unit?)"),
        ("unit_kind = 'count' AND how = 'summation' AND interval_s > 0 AND value / interval_s > $max_iops", "Value",
         "{v} I/Os per interval is beyond any storage (corrupt cell or wrong unit?)"),
        ("ts < $earliest", "Timestamp", "{v} is before " + f"{window.earliest:%Y-%m-%d}"
         + f" (set ${plausibility.EARLIEST_ENV} to accept older data)"),
        ("ts > $latest", "Timestamp", "{v} lies in the future (after now plus "
         + f"{window.skew.total_seconds():g} s): a clock or export fault (set ${plausibility.SKEW_ENV} to allow more)"),
        ("unit_kind IS NULL", "Unit", "unknown unit {v}; accepted: " + ", ".join(UNITS)),
        ("needs IS NOT NULL AND unit_kind IS NOT NULL AND needs <> unit_kind", "Unit",
         "unit {v} does not fit this metric (rates need KBps/MBps, counts need num)"),
        ("level = 'virtualdisk' AND raw_instance = ''", "Instance",
         "virtualdisk metrics need the disk instance (e.g. 'scsi0:0')"),
        ("ts IS NULL", "Timestamp", "cannot read timestamp {v} as " + reading.describe),
    ]
    cols = ", ".join(f"min(rec) FILTER (WHERE {cond})" for cond, _, _ in checks)
    bounds = {"max_interval": plausibility.MAX_INTERVAL_S, "max_rate": plausibility.MAX_RATE_KBPS,
              "max_iops": plausibility.MAX_IOPS, "earliest": window.earliest, "latest": window.latest()}
    firsts = row(con, f"SELECT {cols} FROM _pc_typed", bounds)  # noqa: S608 -- conditions are the fixed checks above
    failed = [(rec, i) for i, rec in enumerate(firsts) if rec is not None]
    if not failed:
        return
    rec, i = min(failed)
    _, field, message = checks[i]
    cell = row(con, f'SELECT "{field}" FROM _pc_raw WHERE rowid = ?', [rec])[0]  # noqa: S608 -- a REQUIRED_COLUMNS name
    raise IngestError(layout.path, layout.record_line(rec), field, message.format(v=shorten(cell or "")))


def _unfold_repeated_hour(con: duckdb.DuckDBPyConnection) -> None:
    """A series' second sample at a repeated local time (DST fall-back) is the later instant.

    'Second' follows the series' own order in the file, which Get-Stat may write newest first.
    """
    if not row(con, "SELECT count(*) FROM _pc_typed WHERE ts_repeat IS NOT NULL")[0]:
        return
    con.execute(
        """WITH dir AS (
              SELECT moref, raw_instance, metric_id, arg_min(ts, rec) <= arg_max(ts, rec) AS ascending
              FROM _pc_typed GROUP BY ALL),
            nth AS (
              SELECT t.rec, row_number() OVER (
                       PARTITION BY t.moref, t.raw_instance, t.metric_id, t.ts
                       ORDER BY CASE WHEN d.ascending THEN t.rec ELSE -t.rec END) AS n
              FROM _pc_typed t JOIN dir d USING (moref, raw_instance, metric_id)
              WHERE t.ts_repeat IS NOT NULL)
            UPDATE _pc_typed SET ts = ts_repeat WHERE rec IN (SELECT rec FROM nth WHERE n = 2)""")


def _check_series(con: duckdb.DuckDBPyConnection, layout: CsvLayout) -> None:
    """One interval per series (VM, instance, metric) and one row per series and time."""
    mixed = one(con, """WITH f AS (
              SELECT moref, raw_instance, metric_id, arg_min(interval_s, rec) AS first_iv, min(rec) AS first_rec
              FROM _pc_typed WHERE keep GROUP BY ALL HAVING count(DISTINCT interval_s) > 1)
            SELECT t.rec, t.interval_s, f.first_iv, f.first_rec
            FROM _pc_typed t JOIN f USING (moref, raw_instance, metric_id)
            WHERE t.interval_s <> f.first_iv ORDER BY t.rec LIMIT 1""")
    dupe = one(con, """WITH d AS (
              SELECT moref, raw_instance, metric_id, ts, min(rec) AS first_rec
              FROM _pc_typed WHERE keep GROUP BY ALL HAVING count(*) > 1)
            SELECT t.rec, d.first_rec FROM _pc_typed t JOIN d USING (moref, raw_instance, metric_id, ts)
            WHERE t.keep AND t.rec > d.first_rec ORDER BY t.rec LIMIT 1""")
    problems = []
    if mixed:
        rec, iv, first_iv, first_rec = mixed
        problems.append((rec, "IntervalSecs",
                         f"interval {iv} s differs from {first_iv} s on line {layout.record_line(first_rec)} "
                         "for the same VM, instance and metric; export one interval per file"))
    if dupe:
        rec, first_rec = dupe
        problems.append((rec, "Timestamp",
                         f"duplicate row: same VM, instance, metric and time as line {layout.record_line(first_rec)}"))
    if problems:
        rec, field, message = min(problems)
        raise IngestError(layout.path, layout.record_line(rec), field, message)


def _map_vms(con: duckdb.DuckDBPyConnection, vcenter: str | None) -> pd.DataFrame:
    """One row per moref in the file: the store key its samples go under, and whether that VM is new."""
    vms = con.execute(
        "SELECT moref, arg_max(name, ts) AS name FROM _pc_typed WHERE keep GROUP BY moref ORDER BY moref").df()
    vms["vcenter"] = vcenter or DEFAULT_VCENTER
    vms["vm_id"] = vms["moref"]
    vms["uuid"] = None
    matched = match_vms(con, vms, vcenter)
    hit = matched["matched_by"].notna()
    matched.loc[hit, "vcenter"] = matched.loc[hit, "match_vcenter"]
    matched.loc[hit, "vm_id"] = matched.loc[hit, "match_vm_id"]
    return matched[["moref", "name", "vcenter", "vm_id", "matched_by"]]


def _pivot(con: duckdb.DuckDBPyConnection, vm_map: pd.DataFrame) -> None:
    con.register("_pc_vmmap", vm_map[["moref", "vcenter", "vm_id"]])
    con.execute(
        """CREATE TEMP TABLE _pc_samples AS
            SELECT m.vcenter, m.vm_id,
                   CASE WHEN t.level = 'disk' THEN $total ELSE t.raw_instance END AS instance,
                   t.ts, t.interval_s,
                   max(v) FILTER (WHERE col = 'write_kbps') AS write_kbps,
                   max(v) FILTER (WHERE col = 'read_kbps') AS read_kbps,
                   max(v) FILTER (WHERE col = 'write_iops') AS write_iops,
                   max(v) FILTER (WHERE col = 'read_iops') AS read_iops
            FROM (SELECT *, CASE WHEN how = 'summation' THEN value * factor / interval_s
                                 ELSE value * factor END AS v
                  FROM _pc_typed WHERE keep) t
            JOIN _pc_vmmap m USING (moref)
            GROUP BY ALL""",
        {"total": VM_TOTAL_INSTANCE})
