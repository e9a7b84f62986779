"""Benchmark: how fast the RPO what-if answers on the bundled sample estate (the dashboard's slider loop).

    python benchmarks/whatif.py

Prints the one-off cost (store read, plan, prepare) and the median of repeated what-if calls at a few
bandwidths, with and without the per-VM fair-share mode.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from churnplan.analytics import rpo
from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.ingest import sample_estate as samples
from churnplan.core import store


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="churnplan-whatif-") as tmp:
        con = store.connect(Path(tmp) / "sample.duckdb")
        samples.load_into(con)
        read_s, frames = timed(lambda: (store.load_vms(con), store.load_disks(con), store.load_samples_polars(con)))
        con.close()
    vms, disks, sample_frame = frames
    plan_s, plan = timed(build_plan, vms, disks, sample_frame, PlanConfig())
    prep_s, prepared = timed(rpo.prepare, sample_frame, assignment=plan.vms, excluded=plan.disks)
    print(f"sample estate: {len(sample_frame):,} samples; read {read_s:.2f} s, plan {plan_s:.2f} s, "
          f"prepare {prep_s:.2f} s")
    for per_vm in (False, True):
        for mbps in (200.0, 400.0, 800.0):
            runs = [timed(rpo.what_if, prepared, bandwidth_mbps=mbps, rpo_min=15, growth_pct=30, per_vm=per_vm)[0]
                    for _ in range(5)]
            print(f"what-if at {mbps:>5.0f} Mbps, per-VM fair share {'on ' if per_vm else 'off'}: "
                  f"median {statistics.median(runs) * 1000:6.1f} ms over {len(runs)} runs")


if __name__ == "__main__":
    main()
