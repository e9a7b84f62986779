"""The stages an engine without every VM's grid calls (the block-wise store engine, Spark) give build_plan's
figures: Azure sizes from the profiles' peaks, coverage from the estate's summed churn, and cost, recovery points
and outage catch-up from the churn summed per process server instead of per VM."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from churnplan.analytics import azure_vm_size, rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.analytics.scope_sums import ScopeSums
from churnplan.analytics.sample_grid import VM_KEY
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.assignment import assign
from churnplan.analytics.stages.azure_targets import profiled_load
from churnplan.analytics.stages.churn_by_scope import churn_by_scope
from churnplan.analytics.stages.coverage import coverage_of
from churnplan.analytics.stages.estimates import estimates
from churnplan.analytics.stages.profiles import profile
from churnplan.analytics.stages.targets import targets
from churnplan.analytics.vocabulary import Scope
from churnplan.core.units import KIB

START = pd.Timestamp("2026-11-09 00:00", tz="UTC")


def _estate(iops: dict[tuple[str, str], list[float]], capacity_gb: dict[str, float] | None = None,
            unsampled: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Store-shaped vms, disks, samples: (vm, instance) -> write IOPS per 300 s sample at 8 KiB a write; VMs in
    `unsampled` are inventoried with one disk and no samples; `capacity_gb` per VM (default 100)."""
    names = sorted({vm for vm, _ in iops} | set(unsampled))
    vms = pd.DataFrame({"vcenter": "vc", "vm_id": names, "name": names, "firmware": "bios", "num_cpu": 2,
                        "memory_mb": 8192})
    keys = list(iops) + [(vm, "scsi0:0") for vm in unsampled]
    disks = pd.DataFrame([{"vcenter": "vc", "vm_id": vm, "instance": inst, "label": inst,
                           "capacity_gb": (capacity_gb or {}).get(vm, 100.0), "used_gb": 40.0,
                           "is_os_disk": inst == "scsi0:0"} for vm, inst in keys])
    rows = [{"vcenter": "vc", "vm_id": vm, "instance": inst, "interval_s": 300,
             "ts": START + pd.Timedelta(seconds=300 * (k + 1)), "write_kbps": 8.0 * w, "read_kbps": 0.0,
             "write_iops": w, "read_iops": 0.0}
            for (vm, inst), series in iops.items() for k, w in enumerate(series)]
    return vms, disks, pd.DataFrame(rows)


def test_azure_sizes_read_the_vms_profiled_peaks_and_leave_a_vm_without_samples_unchecked():
    # VM a: 100..400 IOPS on one disk plus 10 on another; the median of the sums 110, 210, 310, 410 is 260 IOPS,
    # with 10 % growth 286; at 8 KiB a write that is 2,288 KiB/s = 2.234375 MiB/s. VM c has no samples.
    vms, disks, samples = _estate({("a", "scsi0:0"): [100, 200, 300, 400], ("a", "scsi0:1"): [10] * 4},
                                  unsampled=("c",))
    plan = build_plan(vms, disks, samples, PlanConfig(percentile=50.0, growth_pct=10.0))
    sizes = plan.vm_sizes.set_index("vm_id")
    assert math.isclose(sizes.loc["a", "iops"], 286.0, rel_tol=1e-12)
    assert math.isclose(sizes.loc["a", "mbps"], 2.234375, rel_tol=1e-12)
    assert np.isnan(sizes.loc["c", "iops"]) and "not checked (unknown)" in sizes.loc["c", "reason"]


def test_the_profiles_peaks_are_azure_vm_sizes_peak_load_of_the_grids_bit_for_bit():
    rng = np.random.default_rng(7)
    series = {(f"vm{v}", f"scsi0:{d}"): list(rng.gamma(2.0, 50.0, 40)) for v in range(5) for d in range(3)}
    vms, disks, samples = _estate(series)
    config = PlanConfig(percentile=95.0, growth_pct=30.0, exclude_disks=("vm1/scsi0:2",))
    p = profile(vms, disks, samples, config)
    from_grid = azure_vm_size.peak_load(p.vm_grid, config.percentile, config.growth_pct)
    both = profiled_load(p.vms, VM_KEY).merge(from_grid, on=VM_KEY, suffixes=("", "_grid"))
    assert len(both) == 5
    assert both["peak_iops"].equals(both["peak_iops_grid"]) and both["peak_mbps_rw"].equals(both["peak_mbps_rw_grid"])


def test_cost_recovery_points_and_outage_catch_up_are_the_same_from_per_server_sums():
    rng = np.random.default_rng(11)
    series = {(f"vm{v}", f"scsi0:{d}"): list(rng.gamma(1.5, 40.0, 288 * 3)) for v in range(6) for d in range(2)}
    vms, disks, samples = _estate(series)
    config = PlanConfig(outage_h=3.0, retention_h=48.0, app_consistent_h=4.0)
    p = profile(vms, disks, samples, config)
    placed = assign(targets(p), config.architecture)
    estate = churn_by_scope(p.vm_grid, placed, config.timezone)[Scope.ESTATE]
    per_server = _summed(p, placed).churns(config.timezone, placed.scopes)[Scope.ESTATE]
    by_vm = estimates(None, placed, estate, config, 200.0)
    by_server = estimates(None, placed, per_server, config, 200.0)
    assert len(estate.vms) == 6 and len(per_server.vms) == 1 and by_vm.snapshot_gib > 0
    assert math.isclose(by_vm.snapshot_gib, by_server.snapshot_gib, rel_tol=1e-12)
    pd.testing.assert_frame_equal(by_vm.cost.lines, by_server.cost.lines, rtol=1e-12)
    assert by_vm.cost.lines.iloc[0]["quantity"] == 6   # the licence counts protected VMs, not columns
    assert all(r["worst_catchup_h"] is not None for r in by_vm.outage)   # 200 Mbps recovers from 3 h down
    assert [r["scope"] for r in by_vm.outage] == [r["scope"] for r in by_server.outage] == ["estate", "RA01"]
    for a, b in zip(by_vm.outage, by_server.outage, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert math.isclose(a[k], b[k], rel_tol=1e-9) if isinstance(a[k], float) else a[k] == b[k]


def test_coverage_replays_the_estates_summed_churn_as_it_replays_every_vm():
    # vm9's 3,000 GiB OS disk is beyond ASR's limit: it is left out, and the remediated link counts its churn.
    rng = np.random.default_rng(3)
    series = {(f"vm{v}", "scsi0:0"): list(rng.gamma(2.0, 30.0, 288)) for v in range(10)}
    vms, disks, samples = _estate(series, capacity_gb={"vm9": 3_000.0})
    config = replace(PlanConfig(), compliance_goals_pct=(90.0, 100.0))
    p = profile(vms, disks, samples, config)
    placed = assign(targets(p), config.architecture)
    table = bw.bandwidth_table(churn_by_scope(p.vm_grid, placed, config.timezone), config).table
    factor = bw.write_factor(config)
    from_grid = coverage_of(_summed(p, placed).every(config.timezone), placed, config, factor, table,
                            config.compliance_goals_pct)
    summed = np.nansum(p.vm_grid.write_kbps, axis=0) * (float(KIB) * p.vm_grid.interval_s)
    one = pd.DataFrame({"vcenter": [""], "vm_id": ["estate"], "name": ["estate"], "scope": ["estate"]})
    every = rpo.PreparedChurn(p.vm_grid.times, p.vm_grid.interval_s, one, summed[:, None])
    from_sum = coverage_of(every, placed, config, factor, table, config.compliance_goals_pct)
    assert [x.name for x in from_grid.left_out] == ["vm9"] and from_grid.protected_vms == 9
    want, got = from_grid.required_mbps_if_remediated_by_goal_pct, from_sum.required_mbps_if_remediated_by_goal_pct
    assert want.keys() == got.keys() == {"90", "100"}
    for goal, mbps in want.items():
        assert math.isclose(mbps, got[goal], rel_tol=1e-9)
    assert want["100"] > table.required(Scope.ESTATE, config.rpo_min, 100)


def _summed(p, placed) -> ScopeSums:
    sums = ScopeSums(placed.vms, p.vm_grid.times, p.vm_grid.interval_s)
    sums.add(p.vm_grid)
    return sums


def test_without_a_link_each_scope_holds_its_servers_summed_bytes():
    # Two VMs of one server, 8 KiB a write: 10 + 30 IOPS, then 20 + 0, over 300 s samples.
    vms, disks, samples = _estate({("a", "scsi0:0"): [10.0, 20.0], ("b", "scsi0:0"): [30.0, 0.0]})
    config = PlanConfig()
    p = profile(vms, disks, samples, config)
    placed = assign(targets(p), "classic")
    churns = _summed(p, placed).churns(config.timezone, placed.scopes)
    assert placed.scopes == ["estate", "CS01"] and list(churns) == placed.scopes
    for scope in placed.scopes:
        assert churns[scope].vms["scope"].tolist() == ["CS01"]
        assert churns[scope].vm_bytes.tolist() == [[40 * 8 * 1024 * 300.0], [20 * 8 * 1024 * 300.0]]


def test_the_servers_sums_are_their_vms_series_summed_whatever_the_blocks_they_arrive_in():
    rng = np.random.default_rng(4)
    series = {(f"vm{v:02d}", f"scsi0:{d}"): list(rng.gamma(0.6, 80.0, 288 * 2)) for v in range(40) for d in range(2)}
    series[("vm39", "scsi0:0")] = series[("vm39", "scsi0:0")][:300]   # a VM whose samples stop early: NaN after
    series[("vm39", "scsi0:1")] = series[("vm39", "scsi0:1")][:300]
    vms, disks, samples = _estate(series)
    config = PlanConfig(percentile=90.0, rpo_min=30.0)
    p = profile(vms, disks, samples, config)
    placed = assign(targets(p), config.architecture)
    whole = _summed(p, placed)
    by_blocks = ScopeSums(placed.vms, p.vm_grid.times, p.vm_grid.interval_s)
    assert not p.vm_grid.dense
    for lo, hi in ((0, 7), (7, 8), (8, 40)):
        by_blocks.add(p.vm_grid.select(np.isin(np.arange(40), np.arange(lo, hi))))
    per_vm = churn_by_scope(p.vm_grid, placed, config.timezone)
    for scope in placed.scopes:
        a = whole.churns(config.timezone, placed.scopes)[scope]
        b = by_blocks.churns(config.timezone, placed.scopes)[scope]
        assert np.array_equal(a.vm_bytes, b.vm_bytes) and np.array_equal(a.times, b.times)   # bit for bit
        assert np.allclose(a.scope_bytes(a.columns(scope)), per_vm[scope].scope_bytes(per_vm[scope].columns(scope)),
                           rtol=1e-13, atol=0.0)
    pd.testing.assert_frame_equal(bw.bandwidth_table(per_vm, config).table.frame,
                                  bw.bandwidth_table(whole.churns(config.timezone, placed.scopes), config).table.frame,
                                  check_exact=False, rtol=1e-9)
