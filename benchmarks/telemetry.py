"""Benchmark: the telemetry assessment of a store in bounded memory (per-disk statistics aggregated in DuckDB,
churnplan.engines.store_telemetry) against every sample loaded and assessed in memory (telemetry_quality.assess).

    python benchmarks/telemetry.py                    # 1,000 VMs x 3 disks, 30 days of 5 min samples
    python benchmarks/telemetry.py --vms 1000 5000
    python benchmarks/telemetry.py --gaps 1            # 1 % of the samples dropped at random: every disk gappy

Each path runs in a fresh process (spawned), so the peak RSS printed is that path's own high-water mark; the
store is generated as benchmarks/plan.py generates it. DuckDB is capped at 256 MB as plan_from_store caps it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from plan import generate


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def drop(path: str, gaps_pct: float) -> int:
    """Delete about `gaps_pct` % of the samples, spread by a hash of their row id; returns rows deleted."""
    import duckdb
    con = duckdb.connect(path)
    row = con.execute("DELETE FROM samples WHERE hash(rowid) % 10000 < ?", [int(gaps_pct * 100)]).fetchone()
    con.close()
    return int(row[0]) if row else 0


def bounded(path: str) -> tuple[float, float, int]:
    """Seconds, peak RSS (GB) and rating of the store-side assessment."""
    from churnplan.analytics import telemetry_quality
    from churnplan.core import memory_cap, store
    from churnplan.engines.store_telemetry import statistics_from_store
    t = time.perf_counter()
    con = store.connect(path, read_only=True)
    memory_cap.cap_memory(con, "256MB")
    q = telemetry_quality.from_statistics(statistics_from_store(con, float(store.default_interval(con) or 300)))
    con.close()
    return time.perf_counter() - t, _rss_gb(), q.rating


def in_memory(path: str) -> tuple[float, float, int]:
    """Seconds, peak RSS (GB) and rating of loading every sample and assessing them."""
    from churnplan.analytics import telemetry_quality
    from churnplan.core import store
    t = time.perf_counter()
    con = store.connect(path, read_only=True)
    samples = store.load_samples_polars(con)
    con.close()
    q = telemetry_quality.assess(samples)
    return time.perf_counter() - t, _rss_gb(), q.rating


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="+", default=[1000])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--gaps", type=float, default=0.0, help="percent of samples to drop (gaps on every disk)")
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="churnplan-bench-") as tmp:
        for n in args.vms:
            path = Path(tmp) / f"t-{n}.duckdb"
            with ctx.Pool(1) as pool:
                samples = pool.apply(generate, (path, n, args.days))
                if args.gaps:
                    samples -= pool.apply(drop, (str(path), args.gaps))
            for name, fn in (("store aggregate", bounded), ("every sample in memory", in_memory)):
                with ctx.Pool(1) as pool:
                    secs, rss, rating = pool.apply(fn, (str(path),))
                print(f"{n:>6,} VMs {samples:>12,} samples  {name:<24} {secs:6.2f} s  peak RSS {rss:5.2f} GB  "
                      f"confidence {rating}", flush=True)


if __name__ == "__main__":
    main()
