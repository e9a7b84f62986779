"""Issue #9's ten findings, each pinned on a small estate worked by hand: every figure says what it covers,
missing data is a state and not a zero, measured stays measured, one planned-bandwidth rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics.model import PlanConfig, ThrottleSchedule
from churnplan.analytics.plan import build_plan
KIB_PER_MIB = 2 ** 10   # churn is 1024-based (written here so the test also runs against older layouts)

VC = "vc1"
START = pd.Timestamp("2026-11-09 00:00", tz="UTC")  # a Monday
INTERVAL_S = 300


def estate(series: dict[str, list[tuple[str, float, bool, np.ndarray, np.ndarray | None]]],
           extra_samples: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """vms, disks, samples: {vm name: [(instance, capacity GiB, is OS disk, write KiB/s, write IOPS or None)]}."""
    vms = pd.DataFrame({"vcenter": VC, "vm_id": [f"vm-{i}" for i in range(len(series))], "name": list(series),
                        "uuid": None, "host": "esx1", "cluster": "c1", "guest_os": "Ubuntu Linux (64-bit)",
                        "firmware": "bios", "num_cpu": 2, "memory_mb": 8192, "num_nics": 1,
                        "power_state": "poweredOn"})
    disks, parts = [], []
    for vm_id, rows in zip(vms["vm_id"], series.values(), strict=True):
        for inst, cap, is_os, write, iops in rows:
            disks.append({"vcenter": VC, "vm_id": vm_id, "instance": inst, "label": inst, "capacity_gb": cap,
                          "provisioned_gb": cap, "used_gb": cap, "is_os_disk": is_os, "disk_mode": "persistent",
                          "controller": "pvscsi"})
            ts = pd.date_range(START + pd.Timedelta(seconds=INTERVAL_S), periods=len(write), freq=f"{INTERVAL_S}s")
            parts.append(pd.DataFrame({"vcenter": VC, "vm_id": vm_id, "instance": inst, "ts": ts,
                                       "interval_s": INTERVAL_S, "write_kbps": write, "read_kbps": 0.0,
                                       "write_iops": np.nan if iops is None else iops,
                                       "read_iops": 0.0}))
    return vms, pd.DataFrame(disks), pd.concat(parts, ignore_index=True)


DAY = 86400 // INTERVAL_S


def steady(mibps: float, n: int = DAY, io_kib: float | None = 64.0) -> tuple[np.ndarray, np.ndarray | None]:
    write = np.full(n, mibps * KIB_PER_MIB)
    return write, (None if io_kib is None else write / io_kib)


def bursty(base_mibps: float, burst_mibps: float, share: float, n: int = DAY) -> tuple[np.ndarray, np.ndarray]:
    """`base` most of the time, `burst` in every k-th sample (share of the samples)."""
    write = np.full(n, base_mibps * KIB_PER_MIB)
    write[:: int(round(1 / share))] = burst_mibps * KIB_PER_MIB
    return write, write / 64.0


def two_vm_estate(extra: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """web: 1 MiB/s steady; db: 4 MiB/s with 40 MiB/s bursts in 1 sample of 20 (5 %): over the 20 MiB/s disk limit at
    p99 but not at p50."""
    w, wi = steady(1.0, DAY + extra)
    b, bi = bursty(4.0, 40.0, 0.05, DAY + extra)
    os_w, os_i = steady(0.1, DAY + extra)
    return estate({"web": [("scsi0:0", 60, True, os_w, os_i), ("scsi0:1", 200, False, w, wi)],
                   "db": [("scsi0:0", 60, True, os_w, os_i), ("scsi0:1", 500, False, b, bi)]})


def plan(config: PlanConfig, frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None):
    vms, disks, samples = frames or two_vm_estate()
    return build_plan(vms, disks, samples, config)


def test_1_raising_the_percentile_says_what_it_leaves_out_and_keeps_the_remediated_link():
    low, high = plan(PlanConfig(percentile=50)), plan(PlanConfig(percentile=99))
    assert high.summary.incompatible_vms == 1 and low.summary.incompatible_vms == 0
    cover = high.summary.coverage
    assert [v["name"] for v in cover["left_out"]] == ["db"]
    assert "MiB/s > 20.0 MiB/s" in cover["left_out"][0]["reasons"]
    assert cover["protected_vms"] == 1 and cover["all_vms"] == 2
    assert "excludes 1 incompatible VM" in cover["statement"]
    remediated_high = cover["required_mbps_if_remediated_by_goal_pct"]["100"]
    remediated_low = low.summary.coverage["required_mbps_if_remediated_by_goal_pct"]["100"]
    assert remediated_high == pytest.approx(remediated_low, rel=1e-6)   # the percentile never shrinks the link
    assert remediated_high > high.summary.required_mbps_100pct
    assert len(low.summary.coverage["left_out"]) == 0


def test_2_unknown_write_size_is_reported_and_the_vm_stays_protected():
    w, _ = steady(6.6, io_kib=None)
    os_w, _ = steady(0.1, io_kib=None)
    frames = estate({"app": [("scsi0:0", 60, True, os_w, None), ("scsi0:1", 500, False, w, None)]})
    frames[2]["write_iops"] = np.nan   # a Get-Stat export with write KBps only
    p = plan(PlanConfig(growth_pct=0), frames)
    vm = p.vms.iloc[0]
    assert vm["compatibility"] != "No", vm["reasons"]
    assert "unknown (needs virtualDisk.numberWriteAveraged)" in vm["notes"]
    assert p.disks["avg_write_io_kib"].isna().all()
    assert p.summary.unknown_write_size_disks == 2


def test_3_inventory_with_other_ids_matches_by_name_once(tmp_path):
    from churnplan.core import store
    from churnplan.ingest.identity import match_vms

    con = store.connect(tmp_path / "s.duckdb")
    store.upsert_vms(con, pd.DataFrame({"vcenter": ["powercli"], "vm_id": ["vm-101"], "name": ["sql01"]}))
    incoming = pd.DataFrame({"vcenter": ["vc01.corp"], "vm_id": ["vm-555"], "name": ["SQL01"],
                             "moref": ["vm-555"], "uuid": [None]})
    out = match_vms(con, incoming, None)
    con.close()
    assert out.loc[0, "match_vm_id"] == "vm-101"
    assert out.loc[0, "matched_by"] == "name (ids differ)"


def test_4_measured_figures_stay_measured_and_reasons_show_the_comparison():
    p = plan(PlanConfig(growth_pct=30, percentile=99))
    web = p.vms.set_index("name").loc["web"]
    assert web["max_write_kibps"] == pytest.approx(1.1 * KIB_PER_MIB)     # measured: no growth
    assert p.summary.measured_peak_churn_mibps == pytest.approx(40.0 + 0.1 + 1.1, rel=1e-6)  # db burst + web, no growth
    assert p.summary.planned_churn_label == "p99 with 30 % growth"
    reason = p.vms.set_index("name").loc["db", "reasons"]
    for a, b in re.findall(r"([\d,.]+) \S+ > ([\d,.]+)", reason):
        assert a != b, reason


def test_4_a_churn_just_over_the_limit_reads_as_over_it():
    w, wi = steady(5.04, io_kib=4.0)   # at 4 KiB writes the limit is 5 MiB/s
    os_w, os_i = steady(0.1)
    p = plan(PlanConfig(growth_pct=0), estate({"x": [("scsi0:0", 60, True, os_w, os_i),
                                                     ("scsi0:1", 500, False, w, wi)]}))
    reason = p.vms.iloc[0]["reasons"]
    assert "5.04 MiB/s > 5.00 MiB/s" in reason, reason


def test_5_initial_replication_is_checked_against_the_goal_and_compression_applies_to_the_seed():
    missed = plan(PlanConfig(bandwidth_mbps=50.0, ir_goal_hours=1.0))
    s = missed.summary
    assert s.ir_goal_met is False and s.ir_hours > 1.0
    met = plan(PlanConfig(bandwidth_mbps=s.ir_mbps_for_goal * 1.001, ir_goal_hours=1.0)).summary
    assert met.ir_goal_met is True and met.ir_hours == pytest.approx(1.0, rel=0.01)
    plain, halved = plan(PlanConfig(percentile=50)).summary, plan(PlanConfig(percentile=50, compression=0.5)).summary
    assert plain.ir_hours is not None
    assert halved.planned_mbps == pytest.approx(plain.planned_mbps / 2, rel=1e-3)
    assert halved.ir_hours == pytest.approx(plain.ir_hours, rel=1e-3)


def test_6_counts_reconcile_os_disks_cannot_be_excluded_and_partial_days_are_dropped():
    p = plan(PlanConfig(percentile=99))
    protected_ids = set(p.vms.loc[p.vms["compatibility"] != "No", "vm_id"])
    replicated = p.disks[p.disks["vm_id"].isin(protected_ids) & ~p.disks["excluded"]]
    assert p.summary.premium_disks == int((replicated["target_tier"] != "Standard").sum())
    with pytest.raises(ValueError, match="OS disk web/scsi0:0"):
        plan(PlanConfig(exclude_disks=("web/scsi0:0",)))
    extra = plan(PlanConfig(bandwidth_mbps=100.0), two_vm_estate(extra=1))
    assert list(extra.daily_lag.loc[extra.daily_lag["scope"] == "estate", "date"].astype(str)) == ["2026-11-09"]


def test_7_workdays_option_parses_and_the_throttle_reports_its_own_compliance():
    from churnplan.cli.options import parse_workdays
    assert parse_workdays("Mon-Fri") == (0, 1, 2, 3, 4)
    assert parse_workdays("mon,wed,sat") == (0, 2, 5)
    with pytest.raises(ValueError, match="--workdays"):
        parse_workdays("Funday")
    th = ThrottleSchedule(work_mbps=20.0, offhours_mbps=200.0, workdays=(0, 1, 2, 3, 4))
    p = plan(PlanConfig(throttle=th))
    assert set(p.summary.throttle_work_mbps_needed_by_goal_pct) == {"100", "99", "95", "90"}
    assert p.summary.throttle_schedule_compliance_pct == pytest.approx(p.summary.compliance_pct)


def test_9_modernized_is_the_default_and_counts_appliances():
    p = plan(PlanConfig())
    assert p.summary.architecture == "modernized"
    assert p.summary.replication_appliances >= 1 and p.summary.configuration_servers == 0
    classic = plan(PlanConfig(architecture="classic")).summary
    assert classic.configuration_servers == 1 and classic.replication_appliances == 0


def test_10_azure_size_per_vm_cores_per_family_and_what_blocks_each_vm():
    p = plan(PlanConfig(percentile=99))
    assert set(p.vm_sizes["name"]) == {"web"}
    assert p.vm_sizes["azure_size"].str.startswith("Standard_").all()
    assert sum(p.summary.azure_cores_by_family.values()) >= 2
    assert p.summary.blocked_vms == [{"name": "db", "limits": p.vms.set_index("name").loc["db", "reasons"]}]
    assert len(p.storage_accounts) >= 1


def test_13_disks_known_only_from_samples_have_unknown_size_and_unknown_seeding():
    vms, disks, samples = two_vm_estate()
    p = build_plan(vms, disks.iloc[:0], samples, PlanConfig(percentile=50))   # a store filled from Get-Stat only
    assert len(p.disks) == 4 and p.disks["capacity_gib"].isna().all()
    assert set(p.disks["size_tier"]) == {"unknown"}
    assert p.disks["warnings"].str.contains("capacity unknown").all()
    s = p.summary
    assert s.unknown_capacity_disks == 4
    assert s.seed_gib is None and s.ir_hours is None and s.ir_goal_met is None   # unknown, not 0 h
    assert s.unpriced_disks == 4                                               # not priced as 0 GiB


def test_13_plan_carries_confidence_outage_catch_up_and_the_billed_cost():
    p = plan(PlanConfig(percentile=50, outage_h=2.0, bandwidth_mbps=200.0))
    s = p.summary
    assert 1 <= s.telemetry["confidence"] <= 5 and any("under 7" in w for w in s.telemetry["telemetry_warnings"])
    estate_run = s.outage_catchup[0]
    assert estate_run["scope"] == "estate" and estate_run["outage_h"] == 2.0 and estate_run["cache_gib"] > 0
    assert s.first_month_cost < s.monthly_cost            # the licence is free for the first 31 days
    assert "replica disks" in " ".join(p.cost["item"]) and "first_month" in p.cost.columns
    assert s.prices_are_example is True


def test_13_a_plan_on_inventory_alone_sizes_what_needs_no_churn():
    vms, disks, samples = two_vm_estate()
    disks.loc[3, "capacity_gb"] = 40_960.0                 # db's data disk: above the 32 TiB limit
    p = build_plan(vms, disks, samples.iloc[:0], PlanConfig())
    assert p.vms.set_index("name")["compatibility"].to_dict() == {"web": "Yes", "db": "No"}
    assert set(p.disks["size_tier"]) >= {"P10", "P15"} and p.summary.seed_gib == 260.0
    assert p.summary.needs_telemetry and "bandwidth and RPO compliance" in p.summary.needs_telemetry
    assert p.summary.monthly_cost > 0 and "replica disks" in " ".join(p.cost["item"])   # the cost skeleton


def test_13_plan_command_on_inventory_without_samples(tmp_path):
    import json

    from typer.testing import CliRunner

    from churnplan.cli import app
    from churnplan.core import store

    vms, disks, _ = two_vm_estate()
    con = store.connect(tmp_path / "inv.duckdb")
    store.upsert_vms(con, vms)
    store.upsert_disks(con, disks)
    con.close()
    result = CliRunner().invoke(app, ["plan", "--db", str(tmp_path / "inv.duckdb"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "planning from the inventory alone" in result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["needs_telemetry"] and summary["protected_vms"] == 2
