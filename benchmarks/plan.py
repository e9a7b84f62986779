"""Benchmark: plan time for N VMs x 3 disks x 30 days x 5 min, as a ratio to a bare DuckDB scan of the samples.

    python benchmarks/plan.py                 # 1,000 VMs
    python benchmarks/plan.py --vms 1000 5000 # also 5,000 (about 130 M samples)

Samples load with churnplan.core.store.load_samples_polars (the planning fast path). Peak RSS is the process's
high-water mark so far, so with several --vms it belongs to the largest run up to that line.

Synthetic samples (diurnal rhythm, lognormal noise, nightly batch bursts) are generated with vectorised
numpy and inserted straight into a DuckDB store in a temporary directory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.core import store

START = pd.Timestamp("2026-10-05 00:00")  # naive UTC, a Monday
INTERVAL = 300


def generate(path: Path, n_vms: int, days: int, disks_per_vm: int = 3, seed: int = 7, chunk_vms: int = 100) -> int:
    """Write inventory and samples for `n_vms` into a new store at `path`; returns the sample count."""
    rng = np.random.default_rng(seed)
    con = store.connect(path)
    vm_ids = [f"vm-{i}" for i in range(n_vms)]
    store.upsert_vms(con, pd.DataFrame({"vcenter": "bench", "vm_id": vm_ids,
                                        "name": [f"bench{i:05d}" for i in range(n_vms)],
                                        "firmware": "bios", "num_cpu": 4, "memory_mb": 8192}))
    inst = [f"scsi0:{k}" for k in range(disks_per_vm)]
    store.upsert_disks(con, pd.DataFrame({
        "vcenter": "bench", "vm_id": np.repeat(vm_ids, disks_per_vm), "instance": np.tile(inst, n_vms),
        "label": np.tile([f"Hard disk {k + 1}" for k in range(disks_per_vm)], n_vms),
        "capacity_gb": rng.choice([60.0, 200.0, 500.0, 1024.0], size=n_vms * disks_per_vm),
        "used_gb": 40.0, "is_os_disk": np.tile([k == 0 for k in range(disks_per_vm)], n_vms)}))
    n_t = days * 86400 // INTERVAL
    ts = START + pd.to_timedelta((np.arange(n_t) + 1) * INTERVAL, unit="s")
    hour = ((np.arange(n_t) + 1) * INTERVAL / 3600.0) % 24
    rhythm = 0.4 + 0.6 * np.exp(-((hour - 13.0) ** 2) / 18.0) + 1.5 * ((hour >= 1) & (hour < 3))
    total = 0
    for lo in range(0, n_vms, chunk_vms):
        hi = min(lo + chunk_vms, n_vms)
        n_d = (hi - lo) * disks_per_vm
        level = rng.lognormal(4.0, 1.0, size=n_d)                     # KBps at a quiet hour, per disk
        write = level[None, :] * rhythm[:, None] * rng.lognormal(0.0, 0.5, size=(n_t, n_d))
        vm_col = np.repeat(np.arange(lo, hi), disks_per_vm)
        table = pa.table({
            "vcenter": pa.DictionaryArray.from_arrays(np.zeros(n_t * n_d, dtype=np.int32), ["bench"]),
            "vm_id": pa.DictionaryArray.from_arrays(np.tile(vm_col - lo, n_t).astype(np.int32), vm_ids[lo:hi]),
            "instance": pa.DictionaryArray.from_arrays(np.tile(np.arange(n_d) % disks_per_vm, n_t).astype(np.int32),
                                                       inst),
            "ts": pa.array(np.repeat(ts.to_numpy(), n_d)),
            "interval_s": pa.array(np.full(n_t * n_d, INTERVAL, dtype=np.int32)),
            "write_kbps": write.reshape(-1), "read_kbps": write.reshape(-1) * 1.5,
            "write_iops": write.reshape(-1) / 16.0, "read_iops": write.reshape(-1) / 10.0})
        con.register("_bench", table)
        con.execute("INSERT INTO samples SELECT vcenter::VARCHAR, vm_id::VARCHAR, instance::VARCHAR, ts, interval_s, "
                    "write_kbps, read_kbps, write_iops, read_iops FROM _bench")
        con.unregister("_bench")
        total += n_t * n_d
    con.close()
    return total


def bench(n_vms: int, days: int, workdir: Path) -> dict[str, float]:
    """Generate a store of `n_vms`, then time a bare scan, the fast load and build_plan on it."""
    path = workdir / f"bench-{n_vms}.duckdb"
    t = time.perf_counter()
    rows = generate(path, n_vms, days)
    gen_s = time.perf_counter() - t
    con = store.connect(path, read_only=True)
    t = time.perf_counter()
    con.execute("SELECT count(*), sum(write_kbps), sum(write_iops), sum(read_iops) FROM samples").fetchall()
    scan_s = time.perf_counter() - t
    t = time.perf_counter()  # the same scan, materialising every sample column (what any planner must read)
    con.sql("SELECT * FROM samples").to_arrow_table()
    fetch_s = time.perf_counter() - t
    t = time.perf_counter()
    vms, disks, samples = store.load_vms(con), store.load_disks(con), store.load_samples_polars(con)
    load_s = time.perf_counter() - t
    con.close()
    t = time.perf_counter()
    plan = build_plan(vms, disks, samples, PlanConfig())
    plan_s = time.perf_counter() - t
    return {"vms": n_vms, "samples": rows, "generate_s": gen_s, "scan_s": scan_s, "fetch_s": fetch_s, "load_s": load_s,
            "plan_s": plan_s, "process_servers": len(plan.process_servers),
            "plan_over_scan": plan_s / scan_s, "load_plus_plan_over_scan": (load_s + plan_s) / scan_s,
            "plan_over_fetch": plan_s / fetch_s,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="+", default=[1000], help="VM counts to run (e.g. 1000 5000)")
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="churnplan-bench-") as tmp:
        for n in args.vms:
            r = bench(n, args.days, Path(tmp))
            print(f"{r['vms']:>6,} VMs  {r['samples']:>12,} samples  generate {r['generate_s']:6.1f} s  "
                  f"bare scan {r['scan_s']:5.2f} s  load {r['load_s']:5.2f} s  plan {r['plan_s']:5.2f} s  "
                  f"({r['process_servers']} servers)  plan/scan {r['plan_over_scan']:.1f}x  "
                  f"(load+plan)/scan {r['load_plus_plan_over_scan']:.1f}x  "
                  f"full fetch {r['fetch_s']:5.2f} s  plan/fetch {r['plan_over_fetch']:.1f}x  "
                  f"peak RSS {r['peak_rss_gb']:.1f} GB",
                  flush=True)


if __name__ == "__main__":
    main()
