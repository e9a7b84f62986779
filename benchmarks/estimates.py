"""Benchmark: telemetry quality and outage catch-up on a synthetic estate (defaults: 1,000 VMs x 3 disks x 14 days
at 5 min), and VM sizing for as many VMs.

    python benchmarks/estimates.py [--vms 1000] [--days 14]

Prints the time to judge the telemetry (polars group-bys over every sample), to prepare the churn matrix, to
simulate a 4 h outage at every hour of the profile, and to pick a size for every VM.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import azure_vm_size, outage, queue, rpo, telemetry_quality


def synthetic(vms: int, days: int, disks: int = 3, interval_s: int = 300, seed: int = 7) -> pl.DataFrame:
    """Samples with a daily cycle, 1 % of them missing, and no write IOPS on every tenth VM."""
    rng = np.random.default_rng(seed)
    n_t = days * 86_400 // interval_s
    ts = pd.Timestamp("2026-11-02", tz="UTC") + pd.to_timedelta(np.arange(1, n_t + 1) * interval_s, unit="s")
    keys = vms * disks
    hour = np.asarray(ts.hour)
    cycle = np.where((hour >= 8) & (hour < 18), 3.0, 1.0)
    write = rng.gamma(2.0, 150.0, (keys, n_t)) * cycle
    keep = rng.random((keys, n_t)) > 0.01
    row, col = np.nonzero(keep)
    vm = row // disks
    w = write[row, col]
    return pl.DataFrame({"vm": vm, "disk": row % disks, "ts": ts[col], "write_kbps": w}).select(
        pl.lit("vc1").alias("vcenter"), pl.format("vm-{}", "vm").alias("vm_id"),
        pl.format("scsi0:{}", "disk").alias("instance"), "ts", pl.lit(interval_s).alias("interval_s"), "write_kbps",
        (pl.col("write_kbps") * 0.5).alias("read_kbps"),
        pl.when(pl.col("vm") % 10 == 0).then(None).otherwise(pl.col("write_kbps") / 16.0).alias("write_iops"),
        (pl.col("write_kbps") / 32.0).alias("read_iops"))


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--days", type=int, default=14)
    a = ap.parse_args()
    gen_s, samples = timed(synthetic, a.vms, a.days)
    print(f"{a.vms:,} VMs x 3 disks x {a.days} days at 300 s: {samples.height:,} samples (made in {gen_s:.1f} s)")
    q_s, q = timed(telemetry_quality.assess, samples)
    print(f"telemetry quality: {q_s:.2f} s (confidence {q.rating} of 5, {q.estate['coverage_pct']:.1f} % present)")
    prep_s, prepared = timed(rpo.prepare, samples)
    peak = float(prepared.scope_bytes(np.arange(len(prepared.vms))).max()) / prepared.interval_s
    mbps = 1.5 * peak / queue.BYTES_PER_MBPS
    out_s, res = timed(outage.catch_up, prepared, 4.0, queue.Capacity(mbps=mbps), 15.0)
    print(f"prepare {prep_s:.2f} s; 4 h outage at {len(res.starts)} hourly starts on {mbps:,.0f} Mbps: {out_s:.2f} s "
          f"(worst back within RPO after {res.worst.catchup_h:.2f} h, cache {res.cache_gib:,.0f} GiB)")
    rng = np.random.default_rng(1)
    needs = pd.DataFrame({"vcpus": rng.choice([1, 2, 4, 8, 16], a.vms), "memory_gib": rng.choice([2, 8, 16, 64], a.vms),
                          "nics": 1, "data_disks": 2, "iops": rng.uniform(100, 20_000, a.vms),
                          "mbps": rng.uniform(5, 500, a.vms), "premium": rng.random(a.vms) > 0.5})
    size_s, _ = timed(azure_vm_size.pick_sizes, needs)
    print(f"VM sizes for {a.vms:,} VMs: {size_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
