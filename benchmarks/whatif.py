"""Benchmark: how fast the RPO what-if answers (the dashboard's slider loop), on the sample estate or large stores.

    python benchmarks/whatif.py                       # the bundled sample estate
    python benchmarks/whatif.py --vms 1000 5000       # generated stores (as benchmarks/plan.py makes them)
    python benchmarks/whatif.py --vms 1000 --per-vm   # also the estate's per-VM fair-share table

Per case, in a fresh process: the one-off costs (plan; the churn summed per process server, as the dashboard
reads it) and the median of what-if calls at a few bandwidths, for the estate and for one process server, as a
slider move asks them (no per-VM table). With --per-vm, also every VM's series (read once) and the per-VM
fair-share table of the estate: the dashboard computes that only on request. Prints the table and one JSON
line per case (prefix `JSON `).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from dashboard import store_for  # generated stores, with watermarks

BANDWIDTH_SHARES = (0.5, 0.8, 1.2)   # of the bandwidth the plan needs for 100 % compliance


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def case(db: str, per_vm: bool, repeats: int = 3) -> dict:
    """In a fresh process: one-off costs and the what-if medians on the store at `db`."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from churnplan.analytics import rpo
    from churnplan.analytics.config import PlanConfig
    from churnplan.dashboard import data

    version, config = data.stamp(db), PlanConfig()
    key = repr(config)
    plan_s, plan = timed(data.plan, db, key, config, version)
    churn_s, churn = timed(data.scope_churn, db, "UTC", key, plan, version)
    need = plan.summary.required_mbps_100pct

    def median_s(prepared, scope: str, **kw) -> float:
        return statistics.median(
            timed(rpo.what_if, prepared, bandwidth_mbps=need * share, rpo_min=15, growth_pct=30, scope=scope, **kw)[0]
            for share in BANDWIDTH_SHARES for _ in range(repeats))

    r = {"vms": len(plan.vms), "process_servers": len(churn.scopes()), "plan_s": plan_s, "scope_churn_s": churn_s,
         "what_if_s": median_s(churn, rpo.ESTATE, per_vm=False),
         "what_if_server_s": median_s(churn, churn.scopes()[0], per_vm=False)}
    if per_vm:
        r["prepared_s"], every_vm = timed(data.prepared, db, "UTC", key, plan, version)
        r["per_vm_estate_s"] = timed(rpo.what_if, every_vm, bandwidth_mbps=need * 0.8, rpo_min=15, growth_pct=30)[0]
    return r


def sample_store(folder: Path) -> Path:
    from churnplan.core import store
    from churnplan.ingest import sample_estate

    path = folder / "sample.duckdb"
    if not path.exists():
        con = store.connect(path)
        sample_estate.load_into(con)
        con.close()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, nargs="*", default=[], help="generated stores of these VM counts")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--per-vm", action="store_true", help="also the estate's per-VM fair-share table")
    ap.add_argument("--keep", type=Path, help="keep generated stores in this folder and reuse them")
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="churnplan-whatif-") as tmp:
        folder = args.keep or Path(tmp)
        stores = [("sample estate", sample_store(folder))] if not args.vms else []
        stores += [(f"{n:,} VMs", store_for(folder, n, args.days)) for n in args.vms]
        for name, path in stores:
            with ctx.Pool(1) as pool:
                r = pool.apply(case, (str(path), args.per_vm))
            r["case"] = name
            extra = (f"; every VM's series {r['prepared_s']:.1f} s, per-VM table (estate) {r['per_vm_estate_s']:.1f} s"
                     if args.per_vm else "")
            print(f"{name}: {r['vms']:,} VMs, {r['process_servers']} servers; plan {r['plan_s']:.1f} s, churn per "
                  f"server {r['scope_churn_s']:.1f} s once; what-if median {r['what_if_s'] * 1000:.0f} ms (estate), "
                  f"{r['what_if_server_s'] * 1000:.0f} ms (one server){extra}", flush=True)
            print("JSON " + json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
