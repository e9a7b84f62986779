"""Benchmark: plan time and peak memory for N VMs x 3 disks, as a ratio to a bare DuckDB scan of the samples.

    python benchmarks/plan.py                          # 1,000 VMs, 30 days of 5 min samples
    python benchmarks/plan.py --vms 1000 5000          # also 5,000 (about 130 M samples)
    python benchmarks/plan.py --interval 20 --days 7   # 7 days of 20 s samples (1,000 VMs: 90 M samples)
    python benchmarks/plan.py --profile                # also each stage's time
    python benchmarks/plan.py --series-budget-mb 0     # keep no per-VM series: read the write column again
    python benchmarks/plan.py --engine memory          # today's path: load every sample, then build_plan

Engines: `store` plans straight from the store in bounded memory (churnplan.engines.store: samples read
per block of VMs); `memory` loads every sample with store.load_samples_polars and calls build_plan.
Each case generates its store in one child process and plans it in another, so the peak RSS printed is the
planning process's own high-water mark. Besides the table, one JSON line per case (prefix `JSON `).

Synthetic samples (diurnal rhythm, lognormal noise, nightly batch bursts) are generated with vectorised
numpy and inserted straight into a DuckDB store in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

START = pd.Timestamp("2026-10-05 00:00")  # naive UTC, a Monday
STAGES = ["profile", "targets", "assign", "churn_by_scope", "simulate", "size_caches", "seed_and_cost", "summarise",
          "compliance_curve"]


def generate(path: Path, n_vms: int, days: int, interval_s: int = 300, disks_per_vm: int = 3, seed: int = 7) -> int:
    """Write inventory and samples for `n_vms` into a new store at `path`; returns the sample count."""
    from churnplan.core import store
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
    n_t = days * 86400 // interval_s
    ts = START + pd.to_timedelta((np.arange(n_t) + 1) * interval_s, unit="s")
    hour = ((np.arange(n_t) + 1) * interval_s / 3600.0) % 24
    rhythm = 0.4 + 0.6 * np.exp(-((hour - 13.0) ** 2) / 18.0) + 1.5 * ((hour >= 1) & (hour < 3))
    chunk_vms = max(1, 2_000_000 // (n_t * disks_per_vm))
    in_order = sorted(vm_ids)   # rows land clustered by VM, disk and time: the order cluster_samples leaves
    total = 0
    for lo in range(0, n_vms, chunk_vms):
        hi = min(lo + chunk_vms, n_vms)
        n_d = (hi - lo) * disks_per_vm
        level = rng.lognormal(4.0, 1.0, size=n_d)                     # KBps at a quiet hour, per disk
        write = (level[None, :] * rhythm[:, None] * rng.lognormal(0.0, 0.5, size=(n_t, n_d))).T.copy()
        vm_col = np.repeat(np.arange(hi - lo), disks_per_vm)
        table = pa.table({
            "vcenter": pa.DictionaryArray.from_arrays(np.zeros(n_t * n_d, dtype=np.int32), ["bench"]),
            "vm_id": pa.DictionaryArray.from_arrays(np.repeat(vm_col, n_t).astype(np.int32), in_order[lo:hi]),
            "instance": pa.DictionaryArray.from_arrays(np.repeat(np.arange(n_d) % disks_per_vm, n_t).astype(np.int32),
                                                       inst),
            "ts": pa.array(np.tile(ts.to_numpy(), n_d)),
            "interval_s": pa.array(np.full(n_t * n_d, interval_s, dtype=np.int32)),
            "write_kbps": write.reshape(-1), "read_kbps": write.reshape(-1) * 1.5,
            "write_iops": write.reshape(-1) / 16.0, "read_iops": write.reshape(-1) / 10.0})
        con.register("_bench", table)
        con.execute("INSERT INTO samples SELECT vcenter::VARCHAR, vm_id::VARCHAR, instance::VARCHAR, ts, interval_s, "
                    "write_kbps, read_kbps, write_iops, read_iops FROM _bench")
        con.unregister("_bench")
        total += n_t * n_d
    from churnplan.core import sample_layout
    sample_layout.record_extents(con)   # as cluster_samples leaves an imported store (the rows are in its order)
    con.close()
    return total


class StageClock:
    """Wall time per build_plan stage, by wrapping the stage functions churnplan.analytics.plan calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def install(self) -> None:
        import churnplan.engines.store as engine
        from churnplan.analytics import plan
        for name in STAGES:
            if hasattr(plan, name):
                setattr(plan, name, self._timed(name, getattr(plan, name)))
        engine.profile_blocks = self._timed("read_and_profile", engine.profile_blocks)
        engine.sample_reader.SampleReader._stats = self._timed("read_stats", engine.sample_reader.SampleReader._stats)
        plan.bw.bandwidth_table = self._timed("bandwidth", plan.bw.bandwidth_table)

    def _timed(self, name, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t
        return timed


def load_all(path: str | Path, vcenters: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, object, float]:
    """Inventory and every sample of the store at `path` (the in-memory path; of `vcenters`, all when None), with
    the seconds it took."""
    from churnplan.core import store
    t = time.perf_counter()
    con = store.connect(path, read_only=True)
    try:
        vms, disks = store.load_vms(con, vcenters), store.load_disks(con, vcenters)
        samples = store.load_samples_polars(con, None, None, None, vcenters)
    finally:
        con.close()
    return vms, disks, samples, time.perf_counter() - t


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def plan_case(path: str, engine: str, profile: bool, series_budget_mb: float | None = None) -> dict:
    """In a fresh process: time a plan of the store at `path` with `engine` (`series_budget_mb`: the store
    engine's budget for per-VM series kept from the first read; None: its default)."""
    from churnplan.analytics.config import PlanConfig
    from churnplan.analytics.plan import build_plan
    from churnplan.core import store
    from churnplan.engines.store import plan_from_store   # modules load before the clock starts, as for the scan
    clock = StageClock()
    if profile:
        clock.install()
    t = time.perf_counter()
    if engine == "memory":
        vms, disks, samples, load_s = load_all(path)
        rss_after_load = _rss_gb()
        t = time.perf_counter()
        plan = build_plan(vms, disks, samples, PlanConfig())
        plan_s = time.perf_counter() - t
    else:
        con = store.connect(path, read_only=True)
        budget = {} if series_budget_mb is None else {"series_budget_bytes": int(series_budget_mb * 2**20)}
        plan = plan_from_store(con, PlanConfig(), **budget)
        con.close()
        load_s, rss_after_load = 0.0, float("nan")
        plan_s = time.perf_counter() - t
    stages = {k: round(v, 3) for k, v in clock.seconds.items()}
    if profile:
        timed = sum(clock.seconds.values())   # stages do not nest
        stages["rest"] = round(plan_s - timed, 3)
    return {"load_s": load_s, "plan_s": plan_s, "process_servers": len(plan.process_servers), "peak_rss_gb": _rss_gb(),
            "rss_after_load_gb": rss_after_load, "stages_s": stages}


def scan_case(path: str) -> tuple[int, float]:
    """In a fresh process (its cache does not count against the plan's memory): rows and bare scan seconds."""
    from churnplan.core import store
    con = store.connect(path, read_only=True)
    t = time.perf_counter()
    rows = con.execute("SELECT count(*), sum(write_kbps), sum(write_iops), sum(read_iops) FROM samples").fetchone()[0]
    scan_s = time.perf_counter() - t
    con.close()
    return int(rows), scan_s


def bench(ctx, n_vms: int, days: int, interval_s: int, engine: str, profile: bool, workdir: Path,
          series_budget_mb: float | None = None) -> dict:
    """Generate a store of `n_vms` in one child process, then plan it in another."""
    path = workdir / f"bench-{n_vms}-{interval_s}-{days}.duckdb"
    t = time.perf_counter()
    if not path.exists():
        with ctx.Pool(1) as pool:
            pool.apply(generate, (path, n_vms, days, interval_s))
    gen_s = time.perf_counter() - t
    for _ in range(2):   # the first scan reads the store into the OS cache; the second, in a fresh process too, is
        with ctx.Pool(1) as pool:   # timed: scan and plan both find it there (a cold scan would flatter the ratio)
            rows, scan_s = pool.apply(scan_case, (str(path),))
    with ctx.Pool(1) as pool:
        r = pool.apply(plan_case, (str(path), engine, profile, series_budget_mb))
    r.update(scan_s=scan_s, load_plus_plan_over_scan=(r["load_s"] + r["plan_s"]) / scan_s)
    return {"vms": n_vms, "interval_s": interval_s, "days": days, "samples": rows, "engine": engine,
            "series_budget_mb": series_budget_mb,
            "generate_s": gen_s, "load_avg_1m": os.getloadavg()[0], **r}


def compile_kernels(ctx, workdir: Path, engine: str) -> None:
    """Plan a tiny store once, untimed: numba compiles the plan's kernels into its cache on their first use after
    an install (about 12 s, once), so the timed plans load them as every later run does."""
    tiny = workdir / "compile-2-300-2.duckdb"
    with ctx.Pool(1) as pool:
        pool.apply(generate, (tiny, 2, 2, 300))
    with ctx.Pool(1) as pool:
        pool.apply(plan_case, (str(tiny), engine, False))
    tiny.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="+", default=[1000], help="VM counts to run (e.g. 1000 5000)")
    ap.add_argument("--days", type=int, default=None, help="days of samples (default 30, or 7 at --interval 20)")
    ap.add_argument("--interval", type=int, default=300, help="sample interval in seconds (300 or 20)")
    ap.add_argument("--engine", choices=["store", "memory"], default="store")
    ap.add_argument("--profile", action="store_true", help="print each stage's time")
    ap.add_argument("--keep", type=Path, help="keep generated stores in this folder and reuse them")
    ap.add_argument("--series-budget-mb", type=float, default=None,
                    help="store engine: per-VM series kept from the first read up to this size, else read again "
                         "(default: the engine's, 512 MiB; 0 always reads again)")
    args = ap.parse_args()
    days = args.days if args.days is not None else (7 if args.interval < 300 else 30)
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="churnplan-bench-") as tmp:
        compile_kernels(ctx, Path(tmp), args.engine)
        for n in args.vms:
            r = bench(ctx, n, days, args.interval, args.engine, args.profile, args.keep or Path(tmp),
                      args.series_budget_mb)
            print(f"{r['vms']:>6,} VMs  {r['samples']:>12,} samples ({r['interval_s']} s, {r['days']} d)  "
                  f"engine {r['engine']}  bare scan {r['scan_s']:5.2f} s  load {r['load_s']:5.2f} s  "
                  f"plan {r['plan_s']:5.2f} s  ({r['process_servers']} servers)  "
                  f"(load+plan)/scan {r['load_plus_plan_over_scan']:.1f}x  peak RSS {r['peak_rss_gb']:.2f} GB  "
                  f"(load avg {r['load_avg_1m']:.1f})", flush=True)
            if args.profile:
                print("        stages: " + "  ".join(f"{k} {v:.2f} s" for k, v in r["stages_s"].items()), flush=True)
            print("JSON " + json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
