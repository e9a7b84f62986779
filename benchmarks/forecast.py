"""Benchmark: forecast time for N VMs x 3 disks x D days x 5 min (the synthetic store of benchmarks/plan.py).

    python benchmarks/forecast.py                   # 1,000 VMs
    python benchmarks/forecast.py --vms 1000 5000   # also 5,000

Times reading the store into the churn by process server (the default plan's assignment, planned and read a
block of VMs at a time as `churnplan forecast` does), and the forecast of the estate and every process server
(90-day horizon, 200 traces, RPO 15/30/60, goals 100/99/95/90 %). Prints one line and one JSON line per case.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plan as plan_bench

from churnplan.analytics.forecast import scope as fc
from churnplan.analytics.model import PlanConfig
from churnplan.core import store
from churnplan.engines.store import churn_by_process_server


def bench(n_vms: int, days: int, horizon_days: float, traces: int, workdir: Path) -> dict:
    path = workdir / f"forecast-{n_vms}.duckdb"
    rows = plan_bench.generate(path, n_vms, days)
    t = time.perf_counter()
    con = store.connect(path, read_only=True)
    prepared = churn_by_process_server(con, PlanConfig())
    con.close()
    prepare_s = time.perf_counter() - t
    t = time.perf_counter()
    result = fc.forecast(prepared, horizon_days, n_traces=traces)
    forecast_s = time.perf_counter() - t
    estate = result[0].bandwidth
    p = estate[(estate["rpo_min"] == 15) & (estate["compliance_goal_pct"] == 100)].iloc[0]
    return {"vms": n_vms, "samples": rows, "days": days, "horizon_days": horizon_days, "traces": traces,
            "scopes": len(result), "read_and_prepare_s": round(prepare_s, 2),
            "forecast_s": round(forecast_s, 2), "forecast_s_per_scope": round(forecast_s / len(result), 2),
            "estate_rpo15_median_mbps": round(float(p["median"]), 1),
            "estate_rpo15_p90_mbps": round(float(p["p90"]), 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="+", default=[1000])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--horizon", type=float, default=90.0)
    ap.add_argument("--traces", type=int, default=fc.N_TRACES)
    args = ap.parse_args()
    print(f"{'VMs':>6} {'samples':>12} {'scopes':>6} {'read+prepare s':>14} {'forecast s':>10} "
          f"{'s/scope':>7} {'RSS GB':>6}")
    with tempfile.TemporaryDirectory(prefix="churnplan-forecast-bench-") as tmp:
        for n in args.vms:
            r = bench(n, args.days, args.horizon, args.traces, Path(tmp))
            print(f"{r['vms']:>6,} {r['samples']:>12,} {r['scopes']:>6} {r['read_and_prepare_s']:>14.1f} "
                  f"{r['forecast_s']:>10.1f} {r['forecast_s_per_scope']:>7.1f} {r['peak_rss_gb']:>6.1f}")
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
