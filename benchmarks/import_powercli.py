"""Benchmark `churnplan import powercli`: write a large Get-Stat CSV in a temp dir, import it, print rows/s
and the importing process's peak RSS (the CSV is written by another process), plus one JSON line.

    python benchmarks/import_powercli.py [--rows 2000000] [--vms 200]

Run it at two sizes: when peak RSS grows with --rows, the import holds the file in memory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from churnplan.core import store
from churnplan.ingest import powercli

METRICS = ("virtualdisk.write.average", "virtualdisk.read.average",
           "virtualdisk.numberWriteAveraged.average", "virtualdisk.numberReadAveraged.average")


def write_getstat_csv(path: Path, rows: int, vms: int, disks_per_vm: int = 2) -> int:
    """An en-US Get-Stat export (with '#TYPE' line, every field quoted) of about `rows` rows; returns rows written."""
    series = vms * disks_per_vm * len(METRICS)
    steps = max(1, rows // series)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    body = path.with_suffix(".body")
    con.execute(
        """COPY (
             SELECT CAST((hash(s, t) % 5000) AS VARCHAR) AS "Value",
                    strftime(TIMESTAMP '2026-11-01 00:00:00' + to_seconds(300 * t), '%-m/%-d/%Y %-I:%M:%S %p')
                      AS "Timestamp",
                    ($metrics)[1 + s % 4] AS "MetricId",
                    CASE WHEN s % 4 < 2 THEN 'KBps' ELSE 'num' END AS "Unit",
                    'benchmark' AS "Description",
                    'vm' || (s // ($disks * 4)) AS "Entity",
                    'VirtualMachine-vm-' || (1000 + s // ($disks * 4)) AS "EntityId",
                    '300' AS "IntervalSecs",
                    'scsi0:' || ((s // 4) % $disks) AS "Instance"
             FROM range($steps) a(t), range($series) b(s)
             ORDER BY t, s)
           TO $body (HEADER, FORCE_QUOTE *)""",
        {"metrics": list(METRICS), "disks": disks_per_vm, "steps": steps, "series": series, "body": str(body)})
    con.close()
    with open(path, "wb") as out, open(body, "rb") as src:
        out.write(b"#TYPE VMware.VimAutomation.ViCore.Impl.V1.VirtualDevice.FloatSampleImpl\n")
        while chunk := src.read(1 << 24):
            out.write(chunk)
    body.unlink()
    return steps * series


def import_case(csv: str, db: str) -> dict:
    """In a fresh process: import `csv` into a new store at `db`, then again (idempotent); times and peak RSS."""
    con = store.connect(Path(db))
    t0 = time.perf_counter()
    result = powercli.import_file(con, Path(csv))
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = powercli.import_file(con, Path(csv))
    again_s = time.perf_counter() - t0
    con.close()
    return {"records": result.records, "samples_added": result.samples_added, "import_s": took,
            "rows_per_s": result.records / took, "reimport_added": again.samples_added, "reimport_s": again_s,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--vms", type=int, default=200)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "getstat.csv"
        t0 = time.perf_counter()
        with ctx.Pool(1) as pool:
            rows = pool.apply(write_getstat_csv, (csv, args.rows, args.vms))
        size_mib = csv.stat().st_size / 2**20
        print(f"wrote {rows:,} rows ({size_mib:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        with ctx.Pool(1) as pool:
            r = pool.apply(import_case, (str(csv), str(Path(tmp) / "bench.duckdb")))
        print(f"imported {r['records']:,} rows -> {r['samples_added']:,} samples in {r['import_s']:.1f} s: "
              f"{r['rows_per_s']:,.0f} rows/s; re-import added {r['reimport_added']} samples in "
              f"{r['reimport_s']:.1f} s; peak RSS {r['peak_rss_gb']:.2f} GB (load avg {os.getloadavg()[0]:.1f})")
        print("JSON " + json.dumps({"rows": rows, "csv_mib": size_mib, **r, "load_avg_1m": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
