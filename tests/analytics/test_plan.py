"""Churn profiles, compatibility, disk tiers, process servers and the `churnplan plan` command end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnplan.analytics import churn, compatibility, disk_types, process_servers
from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.export.csv import neutralise, safe_frame

START = pd.Timestamp("2026-11-09 00:00", tz="UTC")


def estate(kbps: np.ndarray, io_kib: float = 8.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One VM 'db01' whose disks are the columns of `kbps`; 300 s samples."""
    n_t, n_d = kbps.shape
    inst = [f"scsi0:{i}" for i in range(n_d)]
    ts = START + pd.to_timedelta((np.arange(n_t) + 1) * 300, unit="s")
    vms = pd.DataFrame({"vcenter": ["vc"], "vm_id": ["vm-1"], "name": ["db01"], "firmware": ["bios"], "num_cpu": [4]})
    disks = pd.DataFrame({"vcenter": "vc", "vm_id": "vm-1", "instance": inst,
                          "label": [f"Hard disk {i + 1}" for i in range(n_d)], "capacity_gib": 100.0,
                          "used_gib": 50.0, "is_os_disk": [i == 0 for i in range(n_d)]})
    samples = pd.DataFrame({"vcenter": "vc", "vm_id": "vm-1", "instance": np.tile(inst, n_t),
                            "ts": np.repeat(ts, n_d), "interval_s": 300, "write_kbps": kbps.reshape(-1),
                            "read_kbps": 0.0, "write_iops": kbps.reshape(-1) / io_kib, "read_iops": 0.0})
    return vms, disks, samples


disk_series = st.integers(3, 40).flatmap(lambda n: st.lists(
    st.lists(st.floats(0, 30_000, allow_nan=False), min_size=3, max_size=3), min_size=n, max_size=n))


@settings(max_examples=40, deadline=None)
@given(disk_series, st.floats(50, 100))
def test_vm_peak_lies_between_its_busiest_disk_and_the_sum_of_disk_maxima(rows, pct):
    # A percentile is not subadditive (disks peaking at different times: 0,0,1 and 0,1,0 have medians 0
    # but their sum 0,1,1 has median 1), so the VM peak is bounded by disk maxima, and from below by
    # each disk's own percentile since the sum dominates every disk at every sample.
    _, _, samples = estate(np.array(rows))
    vm = churn.vm_profiles(samples, pct, 30.0)
    dk = churn.disk_profiles(samples, pct, 30.0)
    tol = 1e-9 * (1 + dk["max_write_kibps"].sum())
    assert dk["peak_write_kibps"].max() - tol <= vm["peak_write_kibps"].iloc[0] <= dk["max_write_kibps"].sum() + tol
    assert vm["max_write_kibps"].iloc[0] <= dk["max_write_kibps"].sum() + tol
    assert vm["avg_write_kibps"].iloc[0] == pytest.approx(dk["avg_write_kibps"].sum(), rel=1e-9, abs=1e-9)


def test_churn_profile_worked_by_hand():
    # Two disks, four samples; VM sums 300, 300, 300, 1300 KBps: median 300, max 1300, mean 550.
    _, _, samples = estate(np.array([[100, 200], [100, 200], [100, 200], [100, 1200]], float))
    vm = churn.vm_profiles(samples, 50, 30.0).iloc[0]
    assert vm["peak_write_kibps"] == pytest.approx(300 * 1.3)
    assert vm["max_write_kibps"] == pytest.approx(1300 * 1.3)
    assert vm["churn_gib_day"] == pytest.approx(550 * 1.3 * 86400 / 1024 ** 2)
    assert vm["avg_write_io_kib"] == pytest.approx(8.0)


@settings(max_examples=8, deadline=None)
@given(disk_series)
def test_excluded_disks_reduce_every_sum(rows):
    # Kept under every disk limit so excluding a disk cannot turn an incompatible VM into a protected one.
    vms, disks, samples = estate(np.minimum(np.array(rows), 1500.0) + 1.0)
    full = build_plan(vms, disks, samples, PlanConfig(compliance_goals_pct=(100.0,), rpo_targets_min=(15.0,)))
    cut = build_plan(vms, disks, samples, PlanConfig(exclude_disks=("db01/scsi0:2",),
                                                     compliance_goals_pct=(100.0,), rpo_targets_min=(15.0,)))
    assert cut.summary.excluded_disks == 1
    assert cut.vms["churn_gib_day"].iloc[0] < full.vms["churn_gib_day"].iloc[0]
    assert cut.summary.required_mbps_100pct <= full.summary.required_mbps_100pct + 1e-12
    assert cut.estate_series["write_kibps"].sum() < full.estate_series["write_kibps"].sum()


def test_exclusion_globs_match_path_and_label():
    vms, disks, _ = estate(np.ones((2, 3)))
    assert churn.excluded_disks(disks, vms, ("db01/scsi0:1",)).tolist() == [False, True, False]
    assert churn.excluded_disks(disks, vms, ("Hard disk [13]",)).tolist() == [True, False, True]
    assert not churn.excluded_disks(disks, vms, ("DB01/*",)).any()


def test_disk_tiers_follow_size_bands_and_the_yes_star_rule():
    d = pd.DataFrame({
        "capacity_gib": [100, 100, 100, 300, 100],
        "peak_churn_mibps": [1.0, 3.0, 3.0, 3.0, 30.0],
        "churn_gib_day": [10, 10, 10, 10, 10],
        "avg_write_io_kib": [8, 8, 16, 8, 64],
        "peak_iops": [100, 100, 100, 100, 100],
        "peak_rw_mibps": [5, 5, 5, 5, 5],
    })
    out = disk_types.target_disks(d)
    # 1 MB/s fits Standard; 3 MB/s at 8 KB exceeds P10's 2 MB/s -> P20 (Yes*); at 16 KB P10 allows 4 MB/s;
    # 300 GB is P20 by size already (no bump); 30 MB/s is beyond even P20-P50's 20 MB/s: bumped to P20,
    # and the disk blocks its VM.
    assert out["target_tier"].tolist() == ["Standard", "P20", "P10", "P20", "P20"]
    assert out["bumped"].tolist() == [False, True, False, False, True]
    reasons = compatibility.disk_reasons(out.assign(is_os_disk=False, firmware="bios", avg_write_iops=10.0))
    assert reasons.tolist()[:4] == ["", "", "", ""] and reasons.iloc[4] == "churn 30.0 MB/s > 20 MB/s at 64 KB writes"


def test_size_bands_are_the_planners_with_inclusive_upper_bounds():
    # "<128 GB P10; 128-256 P15; 256-512 P20; 512-1024 P30; 1025-2048 P40; 2049-4095 P50": 1024 is P30 and
    # 2048 P40, so every upper bound is inclusive (128 GB fits P10's 128 GiB); above 4095 the P60+ tiers.
    sizes = [1, 128, 129, 256, 257, 512, 513, 1024, 1025, 2048, 2049, 4095, 4096, 32_767, 32_768]
    want = ["P10", "P10", "P15", "P15", "P20", "P20", "P30", "P30", "P40", "P40", "P50", "P50", "P60", "P80"]
    band = disk_types.size_band(sizes)
    assert [disk_types.SIZE_BANDS[b].tier for b in band[:-1]] == want and band[-1] == -1


def test_disk_limits_block_just_above_the_published_figures():
    # OS disk 2,048 GB (Gen1/BIOS) or 4,095 GB (Gen2/UEFI); data disk 1 GB .. 32 TB; 7,500 IOPS; 840 avg write IOPS.
    d = pd.DataFrame({
        "capacity_gib": [2048, 2049, 4095, 4096, 32_768, 32_769, 0.5, 100, 100, 100, 100],
        "is_os_disk": [True, True, True, True, False, False, False, False, False, False, False],
        "firmware": ["bios", "bios", "efi", "efi"] + ["bios"] * 7,
        "peak_iops": [0, 0, 0, 0, 0, 0, 0, 7500, 7501, 0, 0], "avg_write_iops": [0] * 9 + [840, 841],
        "peak_churn_mibps": 0.0, "churn_gib_day": 0.0, "avg_write_io_kib": 8.0})
    blocked = (compatibility.disk_reasons(d) != "").tolist()
    assert blocked == [False, True, False, True, False, True, True, False, True, False, True]


def test_process_servers_respect_limits_and_balance():
    vms = pd.DataFrame({"churn_gib_day": [900.0, 800.0, 700.0, 600.0, 500.0] + [1.0] * 300})
    where, servers = process_servers.assign(vms, "classic")
    load = vms.groupby(where.to_numpy())["churn_gib_day"].sum()
    counts = where.value_counts()
    assert (load <= 2048).all()
    assert counts.get("CS01", 0) <= 200 and (counts.drop("CS01", errors="ignore") <= 225).all()
    assert servers["churn_gib_day"].sum() == pytest.approx(vms["churn_gib_day"].sum())
    # Many similar VMs: no server ends more than one large VM's churn away from another.
    many = pd.DataFrame({"churn_gib_day": [300.0] * 10 + [5.0] * 600})
    where, servers = process_servers.assign(many, "classic")
    assert len(servers) == 3 and (servers["vms"] <= [200, 225, 225]).all()
    assert servers["churn_gib_day"].max() - servers["churn_gib_day"].min() <= 300.0
    _, modern = process_servers.assign(vms, "modernized")
    assert set(modern["role"]) == {"replication appliance"} and (modern["vms"] <= 200).all()


@pytest.mark.parametrize("cell, safe", [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-cmd", "'-cmd"),
                                        ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("web01", "web01")])
def test_csv_cells_that_look_like_formulas_are_neutralised(cell, safe):
    assert neutralise(cell) == safe
    assert safe_frame(pd.DataFrame({"name": [cell], "n": [-1.5]})).iloc[0].tolist() == [safe, -1.5]


def test_plan_command_on_the_sample_estate(sample_store, tmp_path):
    from churnplan.cli import app

    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["plan", "--db", str(sample_store), "--out", str(out), "--bandwidth", "400",
                                      "--exclude-disks", "exch-mbx01/scsi0:9*"])
    assert result.exit_code == 0, result.output
    for name in ("vms", "disks", "process_servers", "bandwidth", "rpo"):
        assert (out / f"{name}.csv").stat().st_size > 0
    vms = pd.read_csv(out / "vms.csv").set_index("name")
    assert vms.loc["archive-fs01", "compatibility"] == "No" and "40,960 GB" in vms.loc["archive-fs01", "reasons"]
    assert vms.loc["exch-mbx01", "compatibility"] == "No" and "data disks > 64" in vms.loc["exch-mbx01", "reasons"]
    assert vms.loc["dw-etl01", "compatibility"] == "No" and "54 MB/s" in vms.loc["dw-etl01", "reasons"]
    disks = pd.read_csv(out / "disks.csv")
    data_and_log = disks["vm_name"].str.match(r"(sql|ora)\d") & disks["instance"].isin(["scsi0:1", "scsi0:2"])
    assert data_and_log.sum() == 16 and (disks.loc[data_and_log, "target_type"] == "Premium SSD").all()
    assert (disks.loc[disks["vm_name"].str.startswith("web"), "target_type"] != "Premium SSD").any()
    assert disks.loc[disks["excluded"], "instance"].tolist() == ["scsi0:9"]
    bw = pd.read_csv(out / "bandwidth.csv")
    assert set(bw["rpo_min"]) == {15, 30, 60} and set(bw["compliance_goal_pct"]) == {100, 99, 95, 90}
    est = bw[(bw["scope"] == "estate") & (bw["rpo_min"] == 15)].set_index("compliance_goal_pct")["required_mbps"]
    assert est[100] >= est[99] >= est[95] >= est[90] > 0
    rpo_rows = pd.read_csv(out / "rpo.csv")
    assert (rpo_rows.loc[rpo_rows["scope"] == "estate", "bandwidth_mbps"] == 400).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["incompatible_vms"] >= 3 and summary["planned_mbps"] == 400


def test_daily_figures_use_the_time_zone_without_a_throttle():
    # 36 samples of 300 s from Monday 2026-11-09 00:00 UTC; the window runs to 03:15 UTC (last end + RPO).
    # In Honolulu (UTC-10) that is Sunday 14:00-17:15, so the only day is the 8th there and the 9th in UTC.
    vms, disks, samples = estate(np.full((36, 1), 100.0))
    cfg = dict(bandwidth_mbps=1.0, compliance_goals_pct=(100.0,), rpo_targets_min=(15.0,))
    utc = build_plan(vms, disks, samples, PlanConfig(**cfg))
    honolulu = build_plan(vms, disks, samples, PlanConfig(timezone="Pacific/Honolulu", **cfg))
    assert utc.daily_lag["date"].astype(str).unique().tolist() == ["2026-11-09"]
    assert honolulu.daily_lag["date"].astype(str).unique().tolist() == ["2026-11-08"]
    assert honolulu.summary.config["timezone"] == "Pacific/Honolulu"


def test_plan_command_names_a_missing_store(tmp_path):
    from churnplan.cli import app

    result = CliRunner().invoke(app, ["plan", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "none.duckdb" in result.output


@pytest.mark.parametrize("args, message", [
    (["--work-hours", "18:00-09:00", "--work-mbps", "10", "--offhours-mbps", "5"], "end must be after the start"),
    (["--work-mbps", "10"], "needs both --work-mbps and --offhours-mbps"),
    (["--work-mbps", "10", "--offhours-mbps", "5", "--timezone", "Mars/Olympus"], "unknown time zone"),
    (["--timezone", "Mars/Olympus"], "unknown time zone"),
    (["--ir-goal", "soon"], "--ir-goal: 'soon' is not a duration"),
    (["--architecture", "cloud"], "'classic' or 'modernized'"),
])
def test_plan_command_rejects_bad_options_by_name(tmp_path, args, message):
    from churnplan.cli import app

    result = CliRunner().invoke(app, ["plan", "--db", str(tmp_path / "x.duckdb"), "--out", str(tmp_path), *args])
    assert result.exit_code == 2 and message in " ".join(result.output.split())
