"""Benchmark: the dashboard on a large store, through its own data functions and through Streamlit's AppTest.

    python benchmarks/dashboard.py --vms 1000 5000 [--keep DIR]

Per case, in fresh processes (cold caches, each its own peak RSS):
- data functions, as the pages call them: the first page's figures (overview, inventory, estate series: what the
  Estate overview draws before its plan), the plan (once per store version and settings), the churn per
  process server the what-if replays (once), then the median what-if as a slider move asks it (estate and one
  process server); the per-VM table of one server on request (every VM's series read once, then its queues);
- the app itself (AppTest): the first page's whole run (plan included), the what-if page's first run on the
  cached plan, and the median rerun after a bandwidth slider move.
Prints the table and one JSON line per case (prefix `JSON `). Stores are generated as benchmarks/plan.py makes
them (clustered by VM), with watermarks as churnplan's own writes leave them; --keep reuses them.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan import generate  # the plan benchmark's synthetic estate

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def store_for(folder: Path, n_vms: int, days: int) -> Path:
    """The generated store of `n_vms`, made once; its watermarks filled as store.insert_samples keeps them (the
    generator inserts samples directly, and the first page counts VMs per interval from the watermarks)."""
    from churnplan.core import store

    path = folder / f"bench-{n_vms}-300-{days}.duckdb"
    if not path.exists():
        generate(path, n_vms, days, 300)
    con = store.connect(path)
    try:
        if con.execute("SELECT count(*) FROM watermarks").fetchone() == (0,):
            con.execute("INSERT INTO watermarks SELECT vcenter, vm_id, interval_s, max(ts) FROM samples GROUP BY ALL")
    finally:
        con.close()
    return path


def data_case(db: str, repeats: int = 5) -> dict:
    """In a fresh process: the data functions' times, cold then cached."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from churnplan.analytics import rpo
    from churnplan.analytics.config import PlanConfig
    from churnplan.dashboard import data

    version = data.stamp(db)
    t = time.perf_counter()
    info = data.overview(db, version)
    data.inventory(db, version)
    data.estate_series(db, info["default_interval"], version)
    first_page_s = time.perf_counter() - t
    config = PlanConfig()
    key = repr(config)
    t = time.perf_counter()
    plan = data.plan(db, key, config, version)
    plan_s = time.perf_counter() - t
    t = time.perf_counter()
    churn = data.scope_churn(db, "UTC", key, plan, version)
    scope_churn_s = time.perf_counter() - t
    need = plan.summary.required_mbps_100pct
    server = churn.scopes()[0]

    def median_s(scope: str) -> float:
        times = []
        for k in range(repeats):
            t0 = time.perf_counter()
            rpo.what_if(churn, bandwidth_mbps=need * (0.6 + 0.1 * k), rpo_min=15.0, scope=scope, per_vm=False)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    what_if_s, what_if_server_s = median_s(rpo.ESTATE), median_s(server)
    t = time.perf_counter()
    every_vm = data.prepared(db, "UTC", key, plan, version)
    prepared_s = time.perf_counter() - t
    ask = data.WhatIfAsk(need * 0.6, None, 15.0, 0.0, 1.0, server)
    t = time.perf_counter()
    table = data.vm_misses(db, "UTC", key, ask.key(), every_vm, ask, version)
    per_vm_server_s = time.perf_counter() - t
    return {"vms": int(info["counts"].vms), "samples": int(info["counts"].samples), "first_page_s": first_page_s,
            "plan_s": plan_s, "scope_churn_s": scope_churn_s, "what_if_s": what_if_s,
            "what_if_server_s": what_if_server_s, "process_servers": len(churn.scopes()), "prepared_s": prepared_s,
            "per_vm_server_s": per_vm_server_s, "per_vm_server_vms": len(table), "data_peak_rss_gb": _rss_gb()}


def app_case(db: str, repeats: int = 3) -> dict:
    """In a fresh process: the app's own runs (AppTest), first page then the what-if page and its slider."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from streamlit.testing.v1 import AppTest

    os.environ["CHURNPLAN_DB"] = db
    at = AppTest.from_file(str(APP), default_timeout=3600)
    t = time.perf_counter()
    at.run()
    app_first_page_s = time.perf_counter() - t
    t = time.perf_counter()
    at.switch_page("views/whatif.py").run()
    app_what_if_first_s = time.perf_counter() - t
    slider = at.slider(key="wi_bandwidth")
    top = slider.value
    times = []
    for k in range(repeats):
        at.slider(key="wi_bandwidth").set_value(max(1, int(top * (0.5 + 0.1 * k))))
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    assert not at.exception, [e.value for e in at.exception]
    return {"app_first_page_s": app_first_page_s, "app_what_if_first_s": app_what_if_first_s,
            "app_what_if_rerun_s": statistics.median(times), "app_peak_rss_gb": _rss_gb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="keep the generated stores in this folder and reuse them")
    ap.add_argument("--no-app", action="store_true", help="only the data functions, not the AppTest runs")
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    print(f"{'VMs':>6} {'samples':>12} {'first page':>10} {'plan':>7} {'churn/PS':>8} {'what-if':>8} "
          f"{'1 PS':>6} {'per-VM 1 PS':>11} {'app 1st page':>12} {'app what-if':>11} {'slider':>7}", flush=True)
    with tempfile.TemporaryDirectory(prefix="churnplan-dash-") as tmp:
        for n in args.vms:
            path = str(store_for(args.keep or Path(tmp), n, args.days))
            with ctx.Pool(1) as pool:
                r = pool.apply(data_case, (path,))
            if not args.no_app:
                with ctx.Pool(1) as pool:
                    r |= pool.apply(app_case, (path,))
            r["load_avg_1m"] = os.getloadavg()[0]
            app = (f"{r['app_first_page_s']:>11.1f}s {r['app_what_if_first_s']:>10.1f}s "
                   f"{r['app_what_if_rerun_s']:>6.2f}s" if "app_first_page_s" in r else "")
            print(f"{r['vms']:>6,} {r['samples']:>12,} {r['first_page_s']:>9.2f}s {r['plan_s']:>6.1f}s "
                  f"{r['scope_churn_s']:>7.1f}s {r['what_if_s']:>7.3f}s {r['what_if_server_s']:>5.3f}s "
                  f"{r['prepared_s'] + r['per_vm_server_s']:>10.1f}s {app}  (load avg {r['load_avg_1m']:.1f})",
                  flush=True)
            print("JSON " + json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
