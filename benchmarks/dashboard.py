"""Benchmark: the dashboard on a large store, through the dashboard's own data functions as its pages call them.

    python benchmarks/dashboard.py --vms 5000 [--keep DIR]

First page (Estate overview): overview, inventory and the estate series, cold. What-if page: the plan and the
prepared churn (once per store version and settings), then the median of what-if calls as the slider makes
them (estate scope with per-VM fair share, as the page asks, and one process server). Prints the table and
one JSON line (prefix `JSON `); peak RSS is this process's high-water mark. Stores are generated as
benchmarks/plan.py makes them (clustered by VM); --keep reuses them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan import generate  # the plan benchmark's synthetic estate


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def bench(path: Path, repeats: int = 5) -> dict:
    """Time the first page and the what-if loop on the store at `path`."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from churnplan.analytics import rpo
    from churnplan.analytics.config import PlanConfig
    from churnplan.dashboard import data

    db = str(path)
    version = data.stamp(db)
    t = time.perf_counter()
    info = data.overview(db, version)
    data.inventory(db, version)
    data.estate_series(db, info["default_interval"], version)
    first_page_s = time.perf_counter() - t
    config = PlanConfig()
    t = time.perf_counter()
    plan = data.plan(db, repr(config), config, version)
    plan_s = time.perf_counter() - t
    t = time.perf_counter()
    prepared = data.prepared(db, "UTC", repr(config), plan, version)
    prepared_s = time.perf_counter() - t
    need = plan.summary.required_mbps_100pct
    server = prepared.scopes()[0]

    def median_s(runs: int = repeats, **kw) -> float:
        times = []
        for k in range(runs):
            t0 = time.perf_counter()
            rpo.what_if(prepared, bandwidth_mbps=need * (0.6 + 0.1 * k), rpo_min=15.0, **kw)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return {"vms": int(info["counts"].vms), "samples": int(info["counts"].samples), "first_page_s": first_page_s,
            "plan_s": plan_s, "prepared_s": prepared_s, "what_if_estate_s": median_s(1, scope=rpo.ESTATE),
            "what_if_estate_no_per_vm_s": median_s(scope=rpo.ESTATE, per_vm=False),
            "what_if_server_s": median_s(scope=server), "peak_rss_gb": _rss_gb(),
            "load_avg_1m": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="keep the generated store in this folder and reuse it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="churnplan-dash-") as tmp:
        folder = args.keep or Path(tmp)
        path = folder / f"bench-{args.vms}-300-{args.days}.duckdb"
        if not path.exists():
            generate(path, args.vms, args.days, 300)
        r = bench(path)
    print(f"{r['vms']:,} VMs, {r['samples']:,} samples: first page {r['first_page_s']:.2f} s; what-if page: plan "
          f"{r['plan_s']:.1f} s + prepare {r['prepared_s']:.1f} s once, then what-if {r['what_if_estate_s']:.2f} s "
          f"(estate, per-VM fair share), {r['what_if_estate_no_per_vm_s']:.2f} s (estate only), "
          f"{r['what_if_server_s']:.2f} s (one server); peak RSS {r['peak_rss_gb']:.2f} GB "
          f"(load avg {r['load_avg_1m']:.1f})")
    print("JSON " + json.dumps(r))


if __name__ == "__main__":
    main()
