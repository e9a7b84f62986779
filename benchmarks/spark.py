"""Benchmark: the Spark engine on local[2] against the default engine, N VMs x 3 disks x 30 days x 5 min,
and a projection for 50,000 VMs x 3 disks x 30 days at 20 s on a cluster from the figures measured here.

    python benchmarks/spark.py              # 1,000 VMs (26 M samples)
    python benchmarks/spark.py --vms 200    # a quicker look

Both engines plan the same synthetic store (benchmarks/plan.py's generator); the Spark engine reads it as the
Parquet layout `churnplan export samples --parquet` writes. Local Spark on one small machine is expected to
be slower than the default engine: it pays for a JVM, two shuffles of every sample and Arrow transfers to
Python workers, which buy nothing on one machine. Shuffle bytes and task times come from Spark's own
monitoring API, so the projection scales measured figures, not guesses. Prints a table and one JSON line per
engine.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan import generate, load_all  # benchmarks/plan.py: the synthetic store and the in-memory load

from churnplan.analytics.config import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.core import store
from churnplan.ingest.spool import Spool
from churnplan.ingest.spool_store import export

# The projected estate: 50,000 VMs x 3 disks x 30 days at 20 s.
P_VMS, P_DISKS_PER_VM, P_DAYS, P_INTERVAL_S = 50_000, 3, 30, 20
MAX_VMS_PER_SERVER = 225        # analytics.facts: the largest scale-out process server's machines
PANDAS_BYTES_PER_SERVER_ROW = 36 * 3   # 6 integer/double columns; Arrow batches + pandas frame + polars copy


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def default_engine(db: Path) -> dict:
    vms, disks, samples, load_s = load_all(db)
    t = time.perf_counter()
    plan = build_plan(vms, disks, samples, PlanConfig())
    return {"engine": "default", "load_s": load_s, "plan_s": time.perf_counter() - t, "plan": plan,
            "peak_rss_gb": _rss_gb()}


def _stages(spark) -> list[dict]:
    """Spark's per-stage metrics (shuffle bytes, executor run time) from its monitoring REST API."""
    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages?status=complete"
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)


def spark_engine(layout: Path, master: str) -> dict:
    from churnplan.engines.spark import plan_samples
    from churnplan.engines.spark_session import spark_session

    t = time.perf_counter()
    spark = spark_session(master, app_name="churnplan-bench", shuffle_partitions=4, driver_memory="2g",
                          **{"spark.ui.enabled": "true", "spark.ui.port": "4141"})
    start_s = time.perf_counter() - t
    t = time.perf_counter()
    plan = plan_samples(spark, str(layout), PlanConfig())
    plan_s = time.perf_counter() - t
    try:
        stages = _stages(spark)
    except OSError as exc:
        print(f"(no Spark stage metrics: {exc})")
        stages = []
    spark.stop()
    shuffle = sum(s.get("shuffleWriteBytes", 0) for s in stages)
    run_s = sum(s.get("executorRunTime", 0) for s in stages) / 1000.0
    return {"engine": "spark", "master": master, "start_s": start_s, "plan_s": plan_s, "plan": plan,
            "shuffle_write_bytes": shuffle, "executor_run_s": run_s, "stages": len(stages),
            "driver_python_peak_rss_gb": _rss_gb()}


def same_plan(a, b) -> tuple[list[str], float]:
    """The non-float columns and summary figures that differ (as the CSV files write them), and the largest
    relative float difference of any table or summary figure."""
    worst, differ = 0.0, []
    for name in (*a.tables(), "summary"):
        x, y = (pd.json_normalize(p.summary.to_dict()) if name == "summary" else p.tables()[name] for p in (a, b))
        if name == "summary":
            x, y = x.drop(columns="generated_utc"), y.drop(columns="generated_utc")
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            return [f"{name}: shape"], math.inf
        for c in x.columns:
            if x[c].dtype.kind == "f" and y[c].dtype.kind in "fi":
                d = (x[c] - y[c]).abs() / x[c].abs().where(x[c] != 0, 1.0)
                worst = max(worst, float(d.max(skipna=True) or 0.0))
            elif not x[c].to_csv(index=False) == y[c].to_csv(index=False):
                differ.append(f"{name}.{c}")
    return differ, worst


def projection(samples: int, parquet_bytes: int, spark: dict) -> list[str]:
    """50,000 VMs x 3 disks x 30 days at 20 s, scaled from this run's measured per-sample figures."""
    disks = P_VMS * P_DISKS_PER_VM
    per_disk = P_DAYS * 86_400 // P_INTERVAL_S
    rows = disks * per_disk
    k = rows / samples
    pq_b = parquet_bytes / samples
    sh_b = spark["shuffle_write_bytes"] / samples
    cpu_us = spark["executor_run_s"] / samples * 1e6
    splits = math.ceil(rows * pq_b / 128 / 2 ** 20)
    shuffle_tb = rows * sh_b / 1e12
    shuffle_parts = math.ceil(rows * sh_b / 200 / 2 ** 20)
    vm_rows = P_DISKS_PER_VM * per_disk
    server_rows = MAX_VMS_PER_SERVER * vm_rows
    server_gb = server_rows * PANDAS_BYTES_PER_SERVER_ROW / 1e9
    servers = math.ceil(P_VMS / MAX_VMS_PER_SERVER)
    core_h = rows * cpu_us / 1e6 / 3600
    return [
        f"samples: {P_VMS:,} VMs x {P_DISKS_PER_VM} disks = {disks:,} disks; {P_DAYS} d x 86,400 s / {P_INTERVAL_S} s"
        f" = {per_disk:,} samples a disk; {disks:,} x {per_disk:,} = {rows:,} samples ({k:,.0f}x this run)",
        f"Parquet: {pq_b:.1f} B a sample measured here -> {rows * pq_b / 1e9:,.0f} GB; in 128 MiB splits: "
        f"{splits:,} input partitions",
        f"shuffle: {sh_b:.1f} B a sample written here (both group-bys, compressed) -> {shuffle_tb:,.2f} TB; at "
        f"~200 MiB a partition: spark.sql.shuffle.partitions ~ {shuffle_parts:,} (AQE coalesces)",
        f"per-VM group: {P_DISKS_PER_VM} x {per_disk:,} = {vm_rows:,} rows, ~{vm_rows * 250 / 1e6:,.0f} MB in pandas "
        "(string keys, ~250 B a row) plus its grid",
        f"per-server group (the largest: {MAX_VMS_PER_SERVER} VMs): {server_rows:,} rows x "
        f"{PANDAS_BYTES_PER_SERVER_ROW} B (integer-coded; Arrow + pandas + polars copies) = {server_gb:,.1f} GB -> "
        f"spark.executor.pyspark.memory >= {math.ceil(server_gb * 1.5):,} g for the task running it, "
        f"1-2 cores an executor",
        f"parallelism: profiles {P_VMS:,} groups; queues {servers:,}+ groups (one per server, {P_VMS:,} / "
        f"{MAX_VMS_PER_SERVER}), so the queue stage uses at most ~{servers:,} cores",
        f"CPU: {cpu_us:.2f} executor-us a sample here -> {core_h:,.0f} core-hours; on 200 cores ~"
        f"{core_h / 200 * 60:,.0f} min if the largest server's task is not longer (it is ~"
        f"{server_rows * cpu_us / 1e6 / 60:,.0f} min at this rate)",
        "driver: inventory-sized tables plus the estate's series (129,600 times x 8 B) and one byte series per "
        f"server ({servers:,} x 1 MB): ~{servers * per_disk * 8 * 2 / 1e9 + 1:,.1f} GB; with --bandwidth/--throttle "
        f"every VM's series ({P_VMS:,} x {per_disk:,} x 8 B = {P_VMS * per_disk * 8 / 1e9:,.0f} GB) for the fair share",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="churnplan-spark-bench-") as tmp:
        db, layout = Path(tmp) / "bench.duckdb", Path(tmp) / "parquet"
        t = time.perf_counter()
        samples = generate(db, args.vms, args.days)
        con = store.connect(db, read_only=True)
        export(con, Spool(layout))
        con.close()
        parquet_bytes = sum(p.stat().st_size for p in (layout / "samples").rglob("*.parquet"))
        print(f"{args.vms:,} VMs x 3 disks x {args.days} d at 300 s: {samples:,} samples, "
              f"{parquet_bytes / 1e6:,.0f} MB of Parquet ({time.perf_counter() - t:.0f} s to make)", flush=True)
        d = default_engine(db)
        print(f"default engine: load {d['load_s']:.1f} s + plan {d['plan_s']:.1f} s = "
              f"{d['load_s'] + d['plan_s']:.1f} s, peak RSS {d['peak_rss_gb']:.1f} GB", flush=True)
        s = spark_engine(layout, args.master)
        differ, worst = same_plan(d["plan"], s["plan"])
        print(f"spark engine ({args.master}): session {s['start_s']:.1f} s + plan {s['plan_s']:.1f} s = "
              f"{s['start_s'] + s['plan_s']:.1f} s ({s['plan_s'] / (d['load_s'] + d['plan_s']):.1f}x the default "
              f"engine's load + plan); shuffle written {s['shuffle_write_bytes'] / 1e6:,.0f} MB; executor time "
              f"{s['executor_run_s']:.0f} s in {s['stages']} stages; columns that differ: {differ or 'none'} "
              f"(largest relative float difference {worst:.1e})", flush=True)
        for r in (d, s):
            print(json.dumps({k: v for k, v in r.items() if k != "plan"} | {"vms": args.vms, "samples": samples}))
        print("\nprojection: 50,000 VMs x 3 disks x 30 days at 20 s on a cluster")
        for line in projection(samples, parquet_bytes, s):
            print("  " + line)


if __name__ == "__main__":
    main()
