"""The functions Spark runs per group, without Spark: a VM's group and a server's group give exactly what the
default engine's stages give for the same samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics import churn, rpo, sample_grid, telemetry_statistics
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import DISK_KEY
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.links import Link
from churnplan.analytics.stages.simulation import simulate
from churnplan.engines.spark_groups import (DISK_NO, LEVEL, SERVER_NO, TELEMETRY, TELEMETRY_COLUMNS, VM_ORDER,
                                            ServerJob, for_arrow, sample_frame, server_churn, server_queue,
                                            vm_profiles)
from churnplan.engines.spark_layout import FILE_NS, TS_US

T0_US = 1_700_000_000_000_000
STEP_US = 300 * 1_000_000


def _rows(vm: str, instance: str, kbps: list[float], file_ns: int = 1, first: int = 0) -> pd.DataFrame:
    n = len(kbps)
    return pd.DataFrame({"vcenter": "vc", "vm_id": vm, "instance": instance,
                         TS_US: T0_US + (np.arange(n) + first) * STEP_US, "interval_s": 300,
                         "write_kbps": kbps, "read_kbps": 0.0, "write_iops": [k / 8 for k in kbps],
                         "read_iops": 1.0, FILE_NS: file_ns, "excluded": False})


def test_a_sample_repeated_in_a_later_file_keeps_the_earliest_files_value():
    rows = pd.concat([_rows("vm-1", "d0", [10.0, 20.0], file_ns=2), _rows("vm-1", "d0", [99.0], file_ns=1)])
    frame = sample_frame(rows)
    assert frame.height == 2
    assert sorted(frame["write_kbps"].to_list()) == [20.0, 99.0]
    assert str(frame["ts"].dtype.time_zone) == "UTC"


def test_vm_group_profiles_equal_the_default_engines_profiles():
    rows = pd.concat([_rows("vm-1", "d0", [100.0, 300.0, 200.0, 400.0]),
                      _rows("vm-1", "d1", [50.0, 10.0, 70.0], first=1),
                      _rows("vm-1", "d2", [1000.0, 1000.0, 1000.0, 1000.0]).assign(excluded=True)])
    out = vm_profiles(rows, percentile=75.0, growth_pct=10.0, interval_s=300.0, t0_us=T0_US)
    grid = sample_grid.from_frame(sample_frame(rows))
    disks = churn.profiles(grid, 75.0, 10.0)
    vm = churn.profiles(grid.without(pd.DataFrame({"vcenter": ["vc"], "vm_id": ["vm-1"], "instance": ["d2"]}))
                        .by_vm(), 75.0, 10.0)
    got_disks = out[out[LEVEL] == "disk"].drop(columns=LEVEL).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_disks[disks.columns], disks, check_dtype=False)
    got_vm = out[out[LEVEL] == "vm"].reset_index(drop=True)
    # worked by hand: per-time sums of d0 and d1 are 100, 350, 210, 470; p75 = 350 + 0.25 x 120 = 380, x 1.1
    assert got_vm["peak_write_kibps"].iloc[0] == pytest.approx(380.0 * 1.1)
    assert got_vm["peak_write_kibps"].iloc[0] == vm["peak_write_kibps"].iloc[0]
    assert list(got_vm["instance"]) == [""]


def test_vm_groups_telemetry_statistics_are_those_of_every_sample_together():
    # vm-2 starts the selection 800 s after T0; vm-1's d0 has samples at 900, 1,340 (jittered) and 2,400 s:
    # slots 0.33, 1.8 and 5.33 from vm-2's start round to 0, 2 and 5 (two gaps, the longest 2 slots), where
    # counting from d0's own start (0, 1.47, 5) would give one gap of 3. d0 lacks read IOPS; d1 has slots at
    # 1,200 and 1,800 s (one gap of 1) and repeats its first sample in a later file (counted once).
    d0 = _rows("vm-1", "d0", [1.0] * 3, first=3).assign(read_iops=np.nan)
    d0[TS_US] += np.array([0, 140, 900]) * 1_000_000
    d1 = _rows("vm-1", "d1", [2.0, 2.0, 2.0], first=4).drop(index=[1])
    again = _rows("vm-1", "d1", [5.0], first=4, file_ns=9)
    vm2 = _rows("vm-2", "d0", [3.0] * 4, first=3)
    vm2[TS_US] -= 100 * 1_000_000
    every = pd.concat([d0, d1, again, vm2], ignore_index=True)
    t0_us = int(vm2[TS_US].min())
    want = telemetry_statistics.from_samples(sample_frame(every), 300.0).disks.astype({k: str for k in DISK_KEY})
    got = []
    for _, rows in every.groupby("vm_id"):
        out = vm_profiles(rows, 95.0, 0.0, 300.0, t0_us)
        got.append(out.loc[out[LEVEL] == "disk", DISK_KEY + [TELEMETRY + c for c in TELEMETRY_COLUMNS]])
    got = pd.concat(got).rename(columns=lambda c: c.removeprefix(TELEMETRY)).sort_values(DISK_KEY)
    pd.testing.assert_frame_equal(got.reset_index(drop=True)[want.columns], want, check_dtype=False)
    by_disk = want.set_index(["vm_id", "instance"])
    assert list(by_disk.loc[("vm-1", "d0"), ["samples", "inner_gaps", "longest_inner_gap", "read_iops_present"]]) \
        == [3, 2, 2, 0]
    assert list(by_disk.loc[("vm-1", "d1"), ["samples", "inner_gaps", "longest_inner_gap"]]) == [2, 1, 1]


def test_rows_travel_to_arrow_as_plain_objects():
    frame = for_arrow(pd.DataFrame({"a": pd.Series(["x"], dtype="string"), "b": [1.0]}))
    assert frame["a"].dtype == object and frame["b"].dtype == float


def _coded(rows: pd.DataFrame, assigned: pd.DataFrame) -> pd.DataFrame:
    """Rows as the engine sends them to a server's group: VM and disk numbers instead of names."""
    coded = rows.merge(assigned[["vm_id", VM_ORDER]], on="vm_id")
    coded[DISK_NO] = coded.groupby(["vm_id", "instance"]).ngroup()
    return coded[[VM_ORDER, DISK_NO, TS_US, "write_kbps", FILE_NS]]


def test_a_vms_disks_add_in_instance_order_as_the_default_engine_adds_them():
    times = np.array([0.0, 300.0, 600.0])
    rows = pd.DataFrame({VM_ORDER: [0, 0, 0, 0, 0], DISK_NO: [5, 2, 2, 9, 5], TS_US: [0, 0, 300_000_000, 0, 0],
                         "write_kbps": [0.1, 0.2, np.nan, 0.3, 7.0], FILE_NS: [1, 1, 1, 1, 2]})
    vms = pd.DataFrame({"vcenter": ["vc"], "vm_id": ["a"], "name": ["a"], "process_server": ["PS1"], VM_ORDER: [0],
                        SERVER_NO: [0]})
    job = ServerJob(times, 300.0, "UTC", PlanConfig(), pd.DataFrame(), vms, 0.0)
    churn_of = server_churn("PS1", rows, job)
    # disk 2, then 5 (its first file's 0.1, not the later repeat), then 9; a NaN is a sample of 0; no sample at 600
    assert churn_of.vm_bytes[:, 0].tolist() == [((0.2 + 0.1) + 0.3) * 1024 * 300, 0.0, 0.0]
    assert churn_of.vms["scope"].tolist() == ["PS1"]


def test_server_group_equals_the_stages_on_the_whole_estate():
    config = PlanConfig(rpo_min=15.0, rpo_targets_min=(15.0, 30.0))
    rows = pd.concat([_rows("vm-1", "d0", list(np.linspace(100, 5000, 48))),
                      _rows("vm-2", "d0", list(np.linspace(3000, 10, 40)), first=8),
                      _rows("vm-3", "d0", [1.0] * 48)])   # vm-3 is on another server
    assigned = pd.DataFrame({"vcenter": "vc", "vm_id": ["vm-1", "vm-2", "vm-3"], "name": ["one", "two", "three"],
                             "process_server": ["PS1", "PS1", "PS2"], VM_ORDER: [0, 1, 2], SERVER_NO: [0, 0, 1]})
    servers = pd.DataFrame({"server": ["PS1", "PS2"], "churn_gib_day": [1.0, 0.1]})
    grid = sample_grid.from_frame(sample_frame(rows))
    estate = rpo.prepare(grid, assignment=assigned.drop(columns=[VM_ORDER, SERVER_NO]))
    job = ServerJob(estate.times, 300.0, "UTC", config, servers, assigned, estate_gib_day=1.1)
    out = server_queue("PS1", _coded(rows[rows["vm_id"] != "vm-3"], assigned), job)

    ps1 = estate.for_scope("PS1")
    want = bw.scope_bandwidth(ps1, "PS1", bw.rpo_targets(config), config.compliance_goals_pct, 1.3)
    assert out.bandwidth.required_mbps == want.required_mbps
    need = want.required_mbps[0][2]
    sim = simulate({"PS1": ps1}, {"PS1": Link(bandwidth_mbps=need)}, bw.rpo_targets(config), config)
    pd.testing.assert_frame_equal(out.simulation.rpo, sim.rpo)
    pd.testing.assert_frame_equal(out.simulation.lag_series, sim.lag_series)
    assert np.array_equal(out.scope_bytes, ps1.scope_bytes(np.arange(2)))
    assert out.vm_bytes is None and list(out.vms["vm_id"]) == ["vm-1", "vm-2"]
