"""The dashboard's cheap paths give the figures of the full ones (Streamlit AppTest and the data layer, #12), and
a store holding several vCenters shows them and plans the chosen ones (#13)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tiny_estate
from test_dashboard import metrics, open_app

from churnplan.analytics import rpo
from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.core import store
from churnplan.dashboard import context, data

VC_A, VC_B = "vc-a.example", "vc-b.example"


@pytest.fixture(scope="module")
def sample_plan(sample_store_master: Path):
    db = str(sample_store_master)
    config = PlanConfig()
    version = data.stamp(db)
    plan = data.plan(db, "bench", config, version)
    return db, version, plan


@pytest.fixture(scope="module")
def two_vcenters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny estate twice, side by side: as vCenter A, and as vCenter B writing three times as much."""
    path = tmp_path_factory.mktemp("two-vcenters") / "two.duckdb"
    vms, disks, samples = tiny_estate.frames()
    con = store.connect(path)
    try:
        for vcenter, scale in ((VC_A, 1.0), (VC_B, 3.0)):
            store.upsert_vms(con, vms.assign(vcenter=vcenter))
            store.upsert_disks(con, disks.assign(vcenter=vcenter))
            store.insert_samples(con, samples.assign(vcenter=vcenter, write_kbps=samples["write_kbps"] * scale))
    finally:
        con.close()
    return path


def test_first_page_figures_from_one_scan_equal_the_stores_own_queries(sample_store_master: Path) -> None:
    db = str(sample_store_master)
    info = data.overview(db, data.stamp(db))
    con = store.connect(db, read_only=True)
    try:
        intervals, main = store.sample_intervals(con), store.default_interval(con)
        series = store.estate_series(con, main)
    finally:
        con.close()
    pd.testing.assert_frame_equal(info["intervals"].astype({"vms": "int64"}), intervals, check_dtype=False)
    assert info["default_interval"] == main == 300
    ours = data.estate_series(db, main, data.stamp(db))
    assert (ours["ts"] == series["ts"]).all()
    assert np.array_equal(ours["write_kbps"].to_numpy(), series["write_kbps"].to_numpy())


def test_churn_per_process_server_is_the_per_vm_churn_summed(sample_plan) -> None:
    db, version, plan = sample_plan
    per_scope = data.scope_churn(db, "UTC", "bench", plan, version)
    every_vm = data.prepared(db, "UTC", "bench", plan, version)
    assert np.array_equal(per_scope.times, every_vm.times)
    assert per_scope.scopes() == every_vm.scopes() and len(per_scope.scopes()) >= 2
    for scope in [rpo.ESTATE, *every_vm.scopes()]:
        assert np.allclose(per_scope.scope_bytes(per_scope.columns(scope)),
                           every_vm.scope_bytes(every_vm.columns(scope)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("share", [0.4, 0.7, 1.0])
def test_what_if_on_the_per_server_churn_answers_as_on_every_vm(sample_plan, share: float) -> None:
    db, version, plan = sample_plan
    per_scope = data.scope_churn(db, "UTC", "bench", plan, version)
    every_vm = data.prepared(db, "UTC", "bench", plan, version)
    mbps = plan.summary.required_mbps_100pct * share
    for scope in [rpo.ESTATE, *every_vm.scopes()]:
        fast = rpo.what_if(per_scope, bandwidth_mbps=mbps, rpo_min=15, scope=scope, per_vm=False)
        full = rpo.what_if(every_vm, bandwidth_mbps=mbps, rpo_min=15, scope=scope, per_vm=False)
        assert fast.compliance_pct == pytest.approx(full.compliance_pct, rel=1e-12, abs=1e-12)
        assert fast.max_lag_min == pytest.approx(full.max_lag_min, rel=1e-9, abs=1e-9)
        pd.testing.assert_frame_equal(fast.daily, full.daily)


def test_per_vm_table_names_each_vms_vcenter_and_matches_the_fair_share_model(sample_plan) -> None:
    db, version, plan = sample_plan
    every_vm = data.prepared(db, "UTC", "bench", plan, version)
    ask = data.WhatIfAsk(plan.summary.required_mbps_100pct * 0.4, None, 15.0, 0.0, 1.0, rpo.ESTATE)
    table = data.vm_misses(db, "UTC", "bench", ask.key(), every_vm, ask, version)
    model = rpo.what_if(every_vm, bandwidth_mbps=ask.bandwidth_mbps, rpo_min=15.0, scope=rpo.ESTATE).vm_misses
    assert list(table.columns[:3]) == ["vcenter", "vm_id", "name"]
    assert len(table) == len(model) == len(every_vm.vms) and (table["compliance_pct"] < 100).any()
    pd.testing.assert_frame_equal(table.drop(columns="vcenter"), model[["vm_id", "name", "compliance_pct",
                                                                       "max_lag_min"]])
    stored = every_vm.vms.set_index("vm_id")["vcenter"]
    assert (table["vcenter"] == stored.loc[table["vm_id"]].to_numpy()).all()


def test_what_if_page_moves_without_the_per_vm_table_until_asked(sample_store_master, monkeypatch) -> None:
    at = open_app(sample_store_master, monkeypatch, "views/whatif.py")
    assert [b.label for b in at.button if b.key == "wi_per_vm"][0].startswith("Compute the per-VM table")
    at.selectbox(key="wi_scope").set_value(at.selectbox(key="wi_scope").options[1]).run()
    at.slider(key="wi_bandwidth").set_value(1).run()
    assert float(metrics(at)["Time within RPO"].rstrip(" %")) < 100.0
    assert len(at.dataframe) == 0
    at.button(key="wi_per_vm").click().run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) > 0 and (shown["compliance_pct"] < 100).all() and "vcenter" in shown
    at.slider(key="wi_outage").set_value(2).run()   # the table does not depend on an outage: kept
    assert len(at.dataframe) == 1
    at.slider(key="wi_growth").set_value(50).run()   # other settings: the table is asked for again
    assert len(at.dataframe) == 0 and not at.exception


def test_one_vcenter_offers_no_vcenter_filter(tiny_store, monkeypatch) -> None:
    at = open_app(tiny_store, monkeypatch)
    assert not [m for m in at.sidebar.multiselect if m.key == "vcenters"]
    vm_table = at.dataframe[0].value
    assert set(vm_table["vcenter"]) == {tiny_estate.VCENTER}


def test_several_vcenters_are_shown_and_the_chosen_ones_planned(two_vcenters, monkeypatch) -> None:
    at = open_app(two_vcenters, monkeypatch, "views/compatibility.py")
    chooser = at.sidebar.multiselect(key="vcenters")
    assert chooser.options == [VC_A, VC_B] and chooser.value == [VC_A, VC_B]
    m = metrics(at)
    assert int(m["Compatible"]) + int(m["Incompatible"]) == 6
    assert set(at.dataframe[-1].value["vcenter"]) == {VC_A, VC_B}
    chooser.set_value([VC_B]).run()
    assert not at.exception
    m = metrics(at)
    assert (int(m["Compatible"]), int(m["Incompatible"])) == (2, 1)   # web01's 40 TiB disk, once
    assert set(at.dataframe[-1].value["vcenter"]) == {VC_B}
    assert any(VC_B in c.value and "only" in c.value for c in at.caption)


def test_the_overview_counts_and_charts_the_chosen_vcenters_alone(two_vcenters, monkeypatch) -> None:
    at = open_app(two_vcenters, monkeypatch)
    assert (metrics(at)["VMs"], metrics(at)["Disks"]) == ("6", "12")
    at.sidebar.multiselect(key="vcenters").set_value([VC_B]).run()
    assert not at.exception
    assert (metrics(at)["VMs"], metrics(at)["Disks"]) == ("3", "6")
    assert set(at.dataframe[0].value["vcenter"]) == {VC_B}
    assert any(VC_B in c.value and "only" in c.value for c in at.caption)
    db = str(two_vcenters)
    every, b_only = data.estate_series(db, 300, data.stamp(db)), data.estate_series(db, 300, data.stamp(db), (VC_B,))
    assert (b_only["ts"] == every["ts"]).all()
    assert np.allclose(b_only["write_kbps"], 0.75 * every["write_kbps"])   # B writes three times A


def test_a_vcenters_plan_is_the_plan_of_its_vms_alone(two_vcenters) -> None:
    db = str(two_vcenters)
    config = PlanConfig(bandwidth_mbps=10.0)
    ours = data.plan(db, "b-only", replace(config, vcenters=(VC_B,)), data.stamp(db))
    vms, disks, samples = tiny_estate.frames()
    alone = build_plan(vms.assign(vcenter=VC_B), disks.assign(vcenter=VC_B),
                       samples.assign(vcenter=VC_B, write_kbps=samples["write_kbps"] * 3.0), config)
    assert set(ours.vms["vcenter"]) == {VC_B}
    assert ours.summary.required_mbps_100pct == pytest.approx(alone.summary.required_mbps_100pct, rel=1e-9)
    assert len(ours.process_servers) == len(alone.process_servers)


def test_the_chosen_vcenters_all_or_none_mean_every_one() -> None:
    known = [VC_A, VC_B]
    assert context.chosen_vcenters([VC_A, VC_B], known) == ()
    assert context.chosen_vcenters([], known) == ()
    assert context.chosen_vcenters([VC_B], known) == (VC_B,)
    assert context.chosen_vcenters([VC_B, "gone.example"], known) == (VC_B,)


def test_what_if_of_a_vcenter_replays_that_vcenters_churn_alone(two_vcenters) -> None:
    db = str(two_vcenters)
    config = PlanConfig(bandwidth_mbps=10.0, vcenters=(VC_B,))
    version = data.stamp(db)
    plan = data.plan(db, "b-only", config, version)
    per_scope = data.scope_churn(db, "UTC", "b-only", plan, version)
    con = store.connect(db, read_only=True)
    try:
        samples = store.load_samples(con, 300, vcenters=[VC_B])
    finally:
        con.close()
    alone = rpo.prepare(samples, plan.vms, plan.disks)
    assert np.array_equal(per_scope.times, alone.times)
    assert np.allclose(per_scope.scope_bytes(per_scope.columns(rpo.ESTATE)),
                       alone.scope_bytes(alone.columns(rpo.ESTATE)), rtol=1e-12, atol=0)
    every_vm = data.prepared(db, "UTC", "b-only", plan, version)
    assert set(every_vm.vms["vcenter"]) == {VC_B} and np.array_equal(every_vm.times, alone.times)


def test_first_page_draws_its_figures_before_it_asks_for_the_plan(tiny_store, tmp_path, monkeypatch) -> None:
    """Everything but "What to buy" comes from store aggregates: with the plan unavailable, it is all drawn."""
    import shutil

    import churnplan.engines.store as engine

    def no_plan(*args, **kwargs):
        raise RuntimeError("the plan is still being built")

    db = tmp_path / "fresh.duckdb"   # a store no cached plan is kept for
    shutil.copy(tiny_store, db)
    monkeypatch.setattr(engine, "plan_from_store", no_plan)
    monkeypatch.setenv("CHURNPLAN_DB", str(db))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(data.__file__).resolve().parent / "app.py"), default_timeout=120).run()
    assert [e.message for e in at.exception] == ["the plan is still being built"]
    assert metrics(at)["VMs"] == "3" and metrics(at)["Churn per day"] == "173 GiB"
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe) >= 2   # churn charts, VMs, sampling
    assert [s.value for s in at.subheader][0] == "What to buy" and len(at.table) == 0


def test_scope_series_sums_each_servers_included_disks(tiny_store) -> None:
    # tiny disks k = 0..5 write 100 (k + 1) KiB/s x a daily shape: vm-1 holds k = 0, 1; vm-2 k = 2, 3; vm-3 k = 4, 5
    scopes = pd.DataFrame({"vcenter": tiny_estate.VCENTER, "vm_id": ["vm-1", "vm-2"], "scope": ["PS-A", "PS-B"]})
    excluded = pd.DataFrame({"vcenter": [tiny_estate.VCENTER], "vm_id": ["vm-1"], "instance": ["scsi0:1"]})
    con = store.connect(tiny_store, read_only=True)
    try:
        frame = store.scope_write_series(con, 300, scopes, excluded)
        per_time = store.sample_times(con)
    finally:
        con.close()
    wide = frame.assign(scope=frame["scope"].fillna("none")).pivot(index="ts_us", columns="scope",
                                                                   values="write_kbps")
    shape = wide["PS-A"] / 100.0                                  # vm-1's OS disk alone: its data disk excluded
    assert np.allclose(wide["PS-B"], 700.0 * shape)               # 300 + 400
    assert np.allclose(wide["none"], 1100.0 * shape)              # vm-3 has no server: 500 + 600
    assert len(wide) == len(per_time) == 2 * 288 and (per_time["samples"] == 6).all()
    assert np.allclose(per_time["write_kbps"].to_numpy(), 2100.0 * shape.to_numpy())
