"""The pinned RPO model: hand-worked cases, and invariants the FIFO and fair-share queues must keep."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import bandwidth, queue, rpo
from churnplan.analytics.facts import THROTTLE_MIN_MBPS
from churnplan.core.units import BYTES_PER_MBPS
from churnplan.analytics.model import ThrottleSchedule

MB = 1024 * 1024
START = pd.Timestamp("2026-11-09 00:00", tz="UTC")  # a Monday


def samples_frame(kbps: np.ndarray, interval_s: int = 300) -> pd.DataFrame:
    """Samples for VMs vm-0.. (columns of `kbps`) on one disk each, ending every interval from START."""
    kbps = np.atleast_2d(np.asarray(kbps, dtype=float))
    n_t, n_vm = kbps.shape
    ts = START + pd.to_timedelta((np.arange(n_t) + 1) * interval_s, unit="s")
    return pd.DataFrame({
        "vcenter": "vc", "vm_id": np.tile([f"vm-{i}" for i in range(n_vm)], n_t),
        "instance": "scsi0:0", "ts": np.repeat(ts, n_vm), "interval_s": interval_s,
        "write_kbps": kbps.reshape(-1), "read_kbps": 0.0, "write_iops": kbps.reshape(-1) / 8, "read_iops": 0.0})


def one_burst() -> rpo.PreparedChurn:
    # 60 MB in one 5-min sample: 60*1024 KB / 300 s = 204.8 KBps
    return rpo.prepare(samples_frame([[60 * 1024 / 300]]))


def test_sixty_megabytes_at_one_mbps_worked_by_hand():
    # Writes arrive at 62,914,560 B / 300 s = 209,715.2 B/s; 1 Mbps drains 125,000 B/s.
    # During the sample lag(t) = t - S(t)/209,715.2 = t (1 - 125,000/209,715.2) = 0.40395 t.
    # The queue (25,414,560 B at t = 300) empties at 62,914,560 / 125,000 = 503.3 s: the last byte,
    # written at 300 s, waited 203.3 s = 3.389 min, the largest lag. RPO 15 min: always met.
    w = rpo.what_if(one_burst(), bandwidth_mbps=1.0, rpo_min=15)
    assert w.compliance_pct == pytest.approx(100.0)
    assert w.max_lag_min == pytest.approx((60 * MB / 125_000 - 300) / 60, rel=1e-6)
    # RPO 1 min: window [0, 300 + 60]; lag > 60 s once 0.40395 t > 60, i.e. after t = 148.53 s.
    w1 = rpo.what_if(one_burst(), bandwidth_mbps=1.0, rpo_min=1)
    slope = 1 - 125_000 / (60 * MB / 300)
    assert w1.compliance_pct == pytest.approx(100 * (60 / slope) / 360, rel=1e-6)
    assert w1.max_lag_min == pytest.approx(360 * slope / 60, rel=1e-6)
    # Backlog at the sample end: 60 MB - 300 s x 125,000 B/s.
    assert w.lag["backlog_mib"].iloc[0] == pytest.approx((60 * MB - 37_500_000) / MB)


def test_bandwidth_for_rpo_always_met_worked_by_hand():
    # Only pair: (0, 0) -> (300 s, 60 MB); the byte written last must leave within RPO: 60 MB / (300 + 900) s.
    p = one_burst()
    curve = queue.arrival_curve(p.times, p.interval_s, p.vm_bytes.sum(axis=1))
    need = bandwidth.required_mbps_100(curve, 900)
    assert need == pytest.approx(60 * MB / 1200 / BYTES_PER_MBPS)
    assert rpo.what_if(p, bandwidth_mbps=need, rpo_min=15).max_lag_min == pytest.approx(15.0)
    assert rpo.what_if(p, bandwidth_mbps=need * 0.99, rpo_min=15).compliance_pct < 100.0


def test_growth_and_compression_scale_the_writes():
    p = one_burst()
    # 100 % growth doubles the 60 MB burst: 120 MB at 125,000 B/s, the last byte (written at 300 s) leaves
    # at 2 x 62,914,560 / 125,000 = 1,006.6 s, 706.6 s = 11.78 min later; still within 15 min.
    doubled = rpo.what_if(p, bandwidth_mbps=1.0, rpo_min=15, growth_pct=100)
    assert doubled.max_lag_min == pytest.approx((2 * 60 * MB / 125_000 - 300) / 60, rel=1e-6)
    assert doubled.compliance_pct == pytest.approx(100.0)
    # Compression 0.5 halves it: 30 MB / 300 s = 104,857.6 B/s, below the 125,000 B/s link, so no lag at all.
    assert rpo.what_if(p, bandwidth_mbps=1.0, rpo_min=15, compression=0.5).max_lag_min == pytest.approx(0.0)
    # Both together cancel out.
    grown = rpo.what_if(p, bandwidth_mbps=1.0, rpo_min=15, growth_pct=100, compression=0.5)
    assert grown.max_lag_min == pytest.approx(rpo.what_if(p, bandwidth_mbps=1.0).max_lag_min)


def test_throttle_drains_only_in_work_hours():
    # Monday 00:00-00:05 UTC writes 60 MB; off-hours 0 Mbps, work hours 09:00-18:00 UTC at 8 Mbps (10^6 B/s):
    # nothing leaves before 09:00, so at 09:00 the first byte (written at 00:00) is 9 h = 540 min old; then
    # 10^6 B/s outruns the 209,715 B/s the bytes were written at and the lag falls.
    # With a 10 h RPO the window (to 10 h 5 min) sees that drain and is always compliant.
    th = ThrottleSchedule(work_mbps=8.0, offhours_mbps=0.0, timezone="UTC")
    w = rpo.what_if(one_burst(), throttle=th, rpo_min=600)
    assert w.max_lag_min == pytest.approx(540.0)
    assert w.compliance_pct == pytest.approx(100.0)
    # RPO 15 min: the window is 20 min; nothing is sent, so the lag is t and passes 15 min at t = 15 min: 75 %.
    w15 = rpo.what_if(one_burst(), throttle=th, rpo_min=15)
    assert w15.compliance_pct == pytest.approx(75.0)
    assert w15.max_lag_min == pytest.approx(20.0)


def test_throttle_follows_the_time_zone():
    # 09:00 in Amsterdam is 08:00 UTC in November: an hour sooner than in UTC.
    th = ThrottleSchedule(work_mbps=8.0, offhours_mbps=0.0, timezone="Europe/Amsterdam")
    w = rpo.what_if(one_burst(), throttle=th, rpo_min=600)
    assert w.max_lag_min == pytest.approx(480.0)


def test_least_work_hours_bandwidth_meets_the_goal():
    rng = np.random.default_rng(3)
    p = rpo.prepare(samples_frame(rng.gamma(0.7, 600, size=(288 * 2, 3))))
    th = ThrottleSchedule(work_mbps=0.0, offhours_mbps=20.0, timezone="UTC")
    cols = p.columns(rpo.ESTATE)
    work = bandwidth.least_work_mbps(p, cols, th, 15, 95.0, 1.0)
    assert work is not None and work > 0
    ok = rpo.what_if(p, throttle=ThrottleSchedule(work_mbps=work, offhours_mbps=20.0), rpo_min=15, per_vm=False)
    short = rpo.what_if(p, throttle=ThrottleSchedule(work_mbps=work * 0.98, offhours_mbps=20.0), rpo_min=15,
                        per_vm=False)
    assert ok.compliance_pct >= 95.0 - 1e-6 > short.compliance_pct


def test_least_work_hours_bandwidth_is_one_a_throttle_can_be_set_to():
    # 1 MB written 00:00-00:05 in work hours from 00:00, nothing off hours: RPO 15 min always needs only
    # 1 MB / (300 + 900) s = 873.8 B/s = 0.007 Mbps, but a throttle goes no lower than 512 Kbps.
    p = rpo.prepare(samples_frame([[1024 / 300]]))
    th = ThrottleSchedule(work_start=time(0, 0), work_mbps=0.0, offhours_mbps=0.0, timezone="UTC")
    assert bandwidth.least_work_mbps(p, p.columns(rpo.ESTATE), th, 15, 100.0, 1.0) == THROTTLE_MIN_MBPS
    assert bandwidth.least_mbps(p, p.columns(rpo.ESTATE), 15, 100.0, 1.0) == pytest.approx(
        MB / 1200 / BYTES_PER_MBPS, rel=1e-3)


def test_fair_share_names_the_heavy_vm():
    # vm-0 writes 2000 KBps, vm-1..3 200 KBps each, for 48 x 300 s = 14,400 s; the link carries 90 % of the
    # 2600 KBps total, 2340 KBps. Water-filling gives each light VM all its 200 KBps and vm-0 the other
    # 1740 KBps, so vm-0's lag grows as t - 1740 t / 2000 = 0.13 t and passes 900 s at t = 6,923 s. After the
    # writes stop vm-0 has the whole link and its lag falls by 1 - 2340 / 2000 per s, from 0.13 x 14,400 s =
    # 1,872 s to 1,719 s at the window end (14,400 + 900 s): compliant 6,923 / 15,300 of the window.
    kbps = np.full((48, 4), 200.0)
    kbps[:, 0] = 2000.0
    p = rpo.prepare(samples_frame(kbps))
    w = rpo.what_if(p, bandwidth_mbps=(2000 + 600) * 1024 * 8 / 1e6 * 0.9, rpo_min=15)
    assert w.vm_misses["vm_id"].iloc[0] == "vm-0"
    by_vm = w.vm_misses.set_index("vm_id")
    assert by_vm.loc[["vm-1", "vm-2", "vm-3"], "compliance_pct"].tolist() == pytest.approx([100.0] * 3)
    assert by_vm.loc[["vm-1", "vm-2", "vm-3"], "max_lag_min"].tolist() == pytest.approx([0.0] * 3)
    assert by_vm.loc["vm-0", "compliance_pct"] == pytest.approx(100 * (900 / 0.13) / 15_300, rel=1e-6)
    assert by_vm.loc["vm-0", "max_lag_min"] == pytest.approx(0.13 * 14_400 / 60, rel=1e-6)


def test_daily_rollup_adds_up_to_the_compliance():
    rng = np.random.default_rng(5)
    p = rpo.prepare(samples_frame(rng.gamma(0.5, 800, size=(288 * 3, 2))))
    w = rpo.what_if(p, bandwidth_mbps=8.0, rpo_min=15, per_vm=False)
    window_min = (p.times[-1] - p.times[0] + p.interval_s) / 60 + 15
    assert w.daily["violations_min"].sum() == pytest.approx(window_min * (1 - w.compliance_pct / 100))
    assert w.daily["peak_lag_min"].max() == pytest.approx(w.max_lag_min)


def test_a_scopes_columns_and_curve_are_worked_out_once_and_a_copy_starts_afresh():
    from dataclasses import replace
    p = rpo.prepare(samples_frame(np.array([[100.0, 200.0], [300.0, 0.0], [50.0, 50.0]])))
    cols = p.columns("vm-1")
    curve = rpo.scope_curve(p, cols, 1.3)
    assert p.columns("vm-1") is cols and rpo.scope_curve(p, cols, 1.3) is curve   # the same objects, not redone
    fresh = queue.arrival_curve(p.times, p.interval_s, p.scope_bytes(cols) * 1.3)
    assert np.array_equal(curve.t, fresh.t) and np.array_equal(curve.a, fresh.a)
    assert rpo.scope_curve(p, cols, 1.0).a[-1] * 1.3 == pytest.approx(curve.a[-1])   # another factor, its own
    renamed = replace(p, vms=p.vms.assign(vm_id=["vm-1", "vm-0"]))   # columns of a copy are its own VMs'
    assert renamed.columns("vm-1").tolist() == [0] and p.columns("vm-1").tolist() == [1]
    for k in range(300):   # a dashboard's churn asked at many growths keeps a bounded number of curves
        rpo.scope_curve(p, cols, 1.0 + k / 100)
    assert 0 < len(p._curves) <= rpo._CURVES_KEPT


def test_day_edges_are_shared_and_read_only():
    edges = queue.day_edges(START.timestamp(), START.timestamp() + 3 * 86400, "Europe/Amsterdam")
    assert queue.day_edges(START.timestamp(), START.timestamp() + 3 * 86400, "Europe/Amsterdam") is edges
    assert edges.size == 3 and not edges.flags.writeable   # midnights in Amsterdam, 23:00 UTC in November


def test_unknown_scope_is_named():
    with pytest.raises(ValueError, match="unknown scope 'PS09'"):
        rpo.what_if(one_burst(), bandwidth_mbps=1.0, scope="PS09")


churn_matrix = st.integers(2, 30).flatmap(lambda n: st.lists(
    st.lists(st.floats(0, 5000, allow_nan=False), min_size=3, max_size=3), min_size=n, max_size=n))


@settings(max_examples=30, deadline=None)
@given(churn_matrix, st.floats(0.5, 50), st.floats(1.05, 3))
def test_compliance_is_monotone_in_bandwidth(rows, mbps, more):
    p = rpo.prepare(samples_frame(np.array(rows)))
    lo = rpo.what_if(p, bandwidth_mbps=mbps, rpo_min=5, per_vm=False)
    hi = rpo.what_if(p, bandwidth_mbps=mbps * more, rpo_min=5, per_vm=False)
    assert hi.compliance_pct >= lo.compliance_pct - 1e-9
    assert hi.max_lag_min <= lo.max_lag_min + 1e-9


@settings(max_examples=25, deadline=None)
@given(churn_matrix, st.sampled_from([5.0, 15.0, 30.0]))
def test_always_met_formula_equals_bisection_on_the_simulation(rows, rpo_min):
    p = rpo.prepare(samples_frame(np.array(rows)))
    cols = p.columns(rpo.ESTATE)
    curve = queue.arrival_curve(p.times, p.interval_s, p.vm_bytes.sum(axis=1))
    formula = bandwidth.required_mbps_100(curve, rpo_min * 60)
    searched = bandwidth.least_mbps(p, cols, rpo_min, 100.0, 1.0, rel_tol=1e-6)
    assert searched == pytest.approx(formula, rel=1e-4, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(churn_matrix, st.floats(0.1, 30))
def test_fair_share_holds_the_same_total_backlog_as_fifo(rows, mbps):
    p = rpo.prepare(samples_frame(np.array(rows)))
    arr = queue.arrival_curve(p.times, p.interval_s, p.vm_bytes)
    fifo = queue.serve_fifo(queue.arrival_curve(p.times, p.interval_s, p.vm_bytes.sum(axis=1)),
                            queue.Capacity(mbps), float(p.times[-1]) + 900)
    s_vm, a_vm = queue.fair_share(arr, fifo)
    scale = max(float(fifo.a[-1]), 1.0)
    np.testing.assert_allclose((a_vm - s_vm).sum(axis=1), fifo.backlog, atol=1e-7 * scale)
    assert ((a_vm - s_vm) >= -1e-7 * scale).all()


def all_pairs_mbps(curve: queue.Curve, rpo_s: float) -> float:
    """max over i < j of (A_j - A_i) / (t_j - t_i + RPO) over every pair: the formula as stated, O(n^2)."""
    i, j = np.triu_indices(curve.t.size, k=1)
    ratios = (curve.a[j] - curve.a[i]) / (curve.t[j] - curve.t[i] + rpo_s)
    return float(ratios.max(initial=0.0)) / BYTES_PER_MBPS


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=400), st.floats(1, 7200))
def test_banded_always_met_formula_equals_the_all_pairs_maximum(volumes, rpo_s):
    # Long series with rare bursts force the band to widen; the answer must not depend on the pruning.
    curve = queue.arrival_curve(np.arange(1, len(volumes) + 1) * 300.0, 300, np.array(volumes))
    assert bandwidth.required_mbps_100(curve, rpo_s) == pytest.approx(
        all_pairs_mbps(curve, rpo_s), rel=1e-12, abs=1e-12)
