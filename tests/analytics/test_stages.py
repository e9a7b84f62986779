"""Each build_plan stage on its own, with small inputs worked by hand."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from datetime import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics import rpo
from churnplan.analytics.config import PlanConfig, ThrottleSchedule
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.assignment import assign
from churnplan.analytics.stages.cache import CACHE_STEP_GIB, server_cache
from churnplan.analytics.stages.churn_by_scope import churn_by_scope
from churnplan.analytics.stages.links import links, planned_mbps, work_hours_per_week
from churnplan.analytics.stages.profiles import profile
from churnplan.analytics.stages.seeding import replicated_disks, seed_and_cost, seed_sizes
from churnplan.analytics.stages.simulation import simulate
from churnplan.analytics.stages.summary import PlanSummary
from churnplan.analytics.stages.targets import targets
from churnplan.analytics.vocabulary import Compatibility, Scope, protected
from churnplan.core.units import BYTES_PER_MBPS, GIB, MIB, SECONDS_PER_DAY

START = pd.Timestamp("2026-11-09 00:00", tz="UTC")  # a Monday
ANALYTICS = Path(__file__).resolve().parents[2] / "analytics"
ONE_STEP = PlanConfig(rpo_targets_min=(15.0,), compliance_goals_pct=(100.0,), growth_pct=0.0)


def estate(kibps: dict[tuple[str, str], list[float]], capacity_gib: dict[tuple[str, str], float] | None = None,
           io_kib: float = 8.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Store-shaped vms, disks, samples: (vm, instance) -> write KiB/s per 300 s sample; scsi0:0 is the OS disk."""
    capacity_gib = capacity_gib or {}
    names = sorted({vm for vm, _ in kibps})
    vms = pd.DataFrame({"vcenter": "vc", "vm_id": names, "name": [f"{n}-name" for n in names], "firmware": "bios",
                        "num_cpu": 2, "memory_mb": 4096})
    disks = pd.DataFrame([{"vcenter": "vc", "vm_id": vm, "instance": inst, "label": f"{vm} {inst}",
                           "capacity_gb": capacity_gib.get((vm, inst), 100.0), "used_gb": 40.0,
                           "is_os_disk": inst == "scsi0:0"} for vm, inst in kibps])
    rows = []
    for (vm, inst), series in kibps.items():
        for k, w in enumerate(series):
            rows.append({"vcenter": "vc", "vm_id": vm, "instance": inst, "interval_s": 300,
                         "ts": START + pd.Timedelta(seconds=300 * (k + 1)), "write_kbps": w, "read_kbps": 0.0,
                         "write_iops": w / io_kib, "read_iops": 0.0})
    return vms, disks, pd.DataFrame(rows)


def test_profiles_rename_store_units_and_leave_excluded_disks_out_of_the_vm():
    # Disk 0 writes 100, 100, 100, 500 KiB/s; disk 1 (excluded) 1,000 each time. The VM is disk 0 alone:
    # median 100 KiB/s, max 500, mean 200 KiB/s = 200 x 86,400 / 1,048,576 GiB/day.
    vms, disks, samples = estate({("a", "scsi0:0"): [100, 100, 100, 500], ("a", "scsi0:1"): [1000] * 4})
    p = profile(vms, disks, samples, replace(ONE_STEP, percentile=50.0, exclude_disks=("a-name/scsi0:1",)))
    vm = p.vms.iloc[0]
    assert vm["peak_write_kibps"] == 100 and vm["max_write_kibps"] == 500 and vm["avg_write_kibps"] == 200
    assert vm["churn_gib_day"] == pytest.approx(200 * 86_400 / 1024 ** 2)
    assert vm["memory_mib"] == 4096 and "memory_mb" not in p.vms
    assert p.disks["excluded"].tolist() == [False, True] and "capacity_gib" in p.disks
    assert p.disks.loc[1, "peak_churn_mibps"] == pytest.approx(1000 / 1024)  # excluded disks keep their profile
    assert p.times.size == 4 and len(p.vm_grid.keys) == 1


def test_targets_grade_yes_yes_star_and_no():
    # a: 1 MiB/s fits a Standard disk -> Yes. b: 3 MiB/s at 8 KiB writes is above the P10/P15 limit of
    # 2 MiB/s, so its 100 GiB disk goes to P20 (Yes*). c: a 40,960 GiB data disk is above 32 TiB -> No.
    kib = {("a", "scsi0:0"): [1024.0] * 3, ("b", "scsi0:0"): [3 * 1024.0] * 3, ("c", "scsi0:0"): [10.0] * 3,
           ("c", "scsi0:1"): [10.0] * 3}
    vms, disks, samples = estate(kib, capacity_gib={("c", "scsi0:1"): 40_960.0})
    t = targets(profile(vms, disks, samples, replace(ONE_STEP, percentile=100.0)))
    status = dict(zip(t.vms["vm_id"], t.vms["compatibility"], strict=True))
    assert status == {"a": Compatibility.YES, "b": Compatibility.YES_PREMIUM, "c": Compatibility.NO}
    tiers = dict(zip(t.disks["vm_id"] + "/" + t.disks["instance"], t.disks["target_tier"], strict=True))
    assert tiers["a/scsi0:0"] == "Standard" and tiers["b/scsi0:0"] == "P20"
    assert "data disk 40,960 GB > 32,768 GB" in t.vms.set_index("vm_id").loc["c", "reasons"]
    assert protected(t.vms).tolist() == [True, True, False]


def test_assignment_gives_protected_vms_a_server_and_the_others_none():
    kib = {("a", "scsi0:0"): [10.0] * 3, ("b", "scsi0:0"): [10.0] * 3, ("c", "scsi0:1"): [10.0] * 3}
    vms, disks, samples = estate(kib, capacity_gib={("c", "scsi0:1"): 40_960.0})
    placed = assign(targets(profile(vms, disks, samples, ONE_STEP)), "classic")
    assert placed.vms["process_server"].tolist() == ["CS01", "CS01", ""]
    assert placed.scopes == ["estate", "CS01"] and placed.servers["vms"].tolist() == [2]
    assert placed.disks.set_index("vm_id").loc["c", "process_server"] == ""


def burst_churns() -> dict[str, rpo.PreparedChurn]:
    """One VM writing 60 MiB in its first 300 s sample, then nothing: the estate and its server CS01."""
    vms, disks, samples = estate({("a", "scsi0:0"): [60 * 1024 / 300, 0.0, 0.0]})
    p = profile(vms, disks, samples, ONE_STEP)
    return churn_by_scope(p.vm_grid, assign(targets(p), "classic"), "UTC")


def test_bandwidth_table_and_its_one_lookup_worked_by_hand():
    # The last byte of the burst is written at 300 s and must leave by 300 + 900 s: 60 MiB / 1,200 s.
    churns = burst_churns()
    rows = [bw.scope_bandwidth(churns[s], s, [15.0, 60.0], [100.0], 1.0) for s in churns]
    table = bw.BandwidthTable.of(rows)
    assert table.required(Scope.ESTATE, 15, 100) == pytest.approx(60 * MIB / 1200 / BYTES_PER_MBPS)
    assert table.required("CS01", 60.0, 100.0) == pytest.approx(60 * MIB / (300 + 3600) / BYTES_PER_MBPS)
    assert table.required(Scope.ESTATE, 15, 90.0) is None and table.required("PS09", 15, 100) is None
    assert table.frame.columns.tolist() == bw.COLUMNS and len(table.frame) == 4


def test_links_share_a_given_bandwidth_by_churn_and_a_schedule_averages_over_the_week():
    servers = pd.DataFrame({"server": ["CS01", "PS01"], "churn_gib_day": [30.0, 10.0]})
    table = bw.BandwidthTable(pd.DataFrame({"scope": ["estate", "CS01", "PS01"], "rpo_min": 15.0,
                                            "compliance_goal_pct": 100.0, "required_mbps": [80.0, 60.0, 20.0]}))
    given = links(PlanConfig(bandwidth_mbps=100.0), servers, table, 40.0)
    assert {s: k.bandwidth_mbps for s, k in given.items()} == {"estate": 100.0, "CS01": 75.0, "PS01": 25.0}
    own = links(PlanConfig(), servers, table, 40.0)
    assert {s: k.bandwidth_mbps for s, k in own.items()} == {"estate": 80.0, "CS01": 60.0, "PS01": 20.0}
    assert planned_mbps(PlanConfig(), table) == 80.0
    # 09:00-18:00 Monday to Friday = 45 h at 100 Mbps, 123 h at 400 Mbps.
    th = ThrottleSchedule(work_start=time(9), work_end=time(18), work_mbps=100.0, offhours_mbps=400.0)
    assert work_hours_per_week(th) == 45.0
    assert planned_mbps(PlanConfig(throttle=th), table) == pytest.approx((45 * 100 + 123 * 400) / 168)
    assert links(PlanConfig(throttle=th), servers, table, 40.0)["PS01"].throttle.work_mbps == 25.0


def test_simulation_at_one_mbps_worked_by_hand():
    # 62,914,560 B at 125,000 B/s: the last byte, written at 300 s, leaves at 503.3 s (203.3 s late).
    churns = burst_churns()
    one = {s: links(PlanConfig(bandwidth_mbps=1.0), pd.DataFrame({"server": ["CS01"], "churn_gib_day": [1.0]}),
                    bw.BandwidthTable(pd.DataFrame(columns=bw.COLUMNS)), 1.0)[s] for s in churns}
    sim = simulate(churns, one, [1.0, 15.0], replace(ONE_STEP, bandwidth_mbps=1.0))
    assert sim.estate.max_lag_min == pytest.approx((60 * MIB / 125_000 - 300) / 60, rel=1e-6)
    assert sim.estate.compliance_pct == pytest.approx(100.0)
    assert sim.rpo["rpo_min"].tolist() == [1.0, 15.0, 1.0, 15.0] and set(sim.outcomes) == {"estate", "CS01"}
    assert sim.rpo.loc[0, "compliance_pct"] < 100.0                   # RPO 1 min is missed for a while
    assert sim.estate.vm_misses["vm_id"].tolist() == ["a"]            # fair share: the estate, link given
    assert sim.lag_series.columns.tolist() == ["ts", "scope", "lag_min", "backlog_mib"]


def test_cache_holds_the_backlog_with_the_free_space_warning_clear():
    # 40 GiB backlog / (1 - 30 %) = 57.1 GiB, in whole 50 GiB steps: 100 GiB.
    churns = burst_churns()
    outcome = rpo.WhatIf("CS01", 15.0, 100.0, 0.0, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                         max_backlog_mib=40 * 1024.0)
    c = server_cache(churns["CS01"], outcome, percentile=100.0, growth_pct=0.0)
    assert c.max_backlog_gib == 40.0 and c.least_cache_gib == 2 * CACHE_STEP_GIB
    assert c.peak_churn_mibps == pytest.approx(60 / 300)


def test_seeding_copies_used_space_of_protected_included_disks():
    # a: two disks, 40 GiB used each; disk scsi0:1 excluded -> 40 GiB to seed. c is not protected.
    kib = {("a", "scsi0:0"): [0.0] * 3, ("a", "scsi0:1"): [0.0] * 3, ("c", "scsi0:1"): [0.0] * 3}
    vms, disks, samples = estate(kib, capacity_gib={("c", "scsi0:1"): 40_960.0})
    config = replace(ONE_STEP, exclude_disks=("a-name/scsi0:1",))
    p = profile(vms, disks, samples, config)
    placed = assign(targets(p), "classic")
    replicas = replicated_disks(placed)
    assert replicas[["vm_id", "instance"]].values.tolist() == [["a", "scsi0:0"]]
    assert seed_sizes(replicas, placed.vms)["size_gib"].tolist() == [40.0]
    # 10 Mbps with no churn: 40 GiB x 2^30 B / 1,250,000 B/s = 34,359.7 s = 9.54 h.
    seeded = seed_and_cost(p.vm_grid, placed, 10.0, config, estate_gib_day=0.0)
    assert seeded.ir_hours == pytest.approx(40 * GIB / 1_250_000 / 3600)
    assert seeded.cost.loc[0, "quantity"] == 1                     # one protected instance licensed
    assert seed_and_cost(p.vm_grid, placed, 1.0, config, estate_gib_day=2 * SECONDS_PER_DAY / 8 / GIB * 1e6
                         ).ir_hours is None                       # churn takes the whole 1 Mbps link


def test_summary_writes_sorted_strict_json_and_lists_its_figures():
    fields = {name: 0 for name in PlanSummary.__dataclass_fields__}
    s = PlanSummary(**(fields | {"config": {"rpo_min": 15.0}, "compliance_pct": float("nan"), "ir_hours": None,
                                 "max_lag_min": np.float64(3.5), "currency": "USD"}))
    data = json.loads(s.to_json())
    assert list(data) == sorted(data) and data["compliance_pct"] is None and data["max_lag_min"] == 3.5
    assert "config" not in dict(s.figures()) and dict(s.figures())["currency"] == "USD"
    with pytest.raises(AttributeError):
        s.vms = 3  # type: ignore[misc]  # frozen


def test_no_function_in_analytics_is_longer_than_sixty_lines():
    long = []
    for path in ANALYTICS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.name}:{node.name}")
    assert not long
