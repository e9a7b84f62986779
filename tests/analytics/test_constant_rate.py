"""The compiled constant-rate replay returns numpy's figure bit for bit: the bandwidth table must not move."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import constant_rate, queue, rpo


def numpy_pct(curve: queue.Curve, mbps: float, rpo_min: float) -> float:
    with np.errstate(over="ignore"):   # a crossing in a piece of ~zero slope divides by ~0: clipped to the piece
        return rpo.run(curve, queue.Capacity(mbps), rpo_min, lags=False)[1].pct


def test_a_burst_worked_by_hand():
    # 60 MB written over one 5-min sample (200 KB/s from t = 0 to 300 s), drained at 1 Mbps (125 KB/s): the
    # byte written at w leaves at 1.6 w, so at time t the oldest byte waiting was written at t / 1.6 and the lag
    # is 0.375 t, over 2 min from t = 320 s. The window runs to the last sample's end + RPO, 420 s: 100 s bad.
    curve = queue.arrival_curve(np.array([300.0]), 300.0, np.array([60e6]))
    assert constant_rate.compliance_pct(curve, 1.0, 2.0) == numpy_pct(curve, 1.0, 2.0)
    assert abs(constant_rate.compliance_pct(curve, 1.0, 2.0) - 100 * (1 - 100 / 420)) < 1e-4   # 1 byte of slack


volumes = st.lists(st.one_of(st.just(0.0), st.floats(0, 5e8, allow_nan=False)), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(volumes, st.floats(0.01, 2000), st.sampled_from([1.0, 5.0, 7.3, 15.0, 30.0, 60.0, 1440.0]),
       st.sampled_from([20.0, 300.0, 1800.0]), st.booleans())
def test_compiled_replay_equals_the_numpy_replay_bit_for_bit(vols, mbps, rpo_min, interval_s, gaps):
    n = len(vols)
    steps = np.where(np.arange(n) % 7 == 3, 3, 1) if gaps else np.ones(n)   # some samples missing
    times = 1.7e9 + np.cumsum(steps) * interval_s
    curve = queue.arrival_curve(times, interval_s, np.array(vols))
    got = constant_rate.compliance_pct(curve, mbps, rpo_min)
    assert got == numpy_pct(curve, mbps, rpo_min)


@settings(max_examples=300, deadline=None)
@given(volumes, st.floats(0.01, 2000), st.sampled_from([1.0, 5.0, 7.3, 15.0, 30.0, 60.0, 1440.0]),
       st.sampled_from([20.0, 300.0, 1800.0]), st.booleans(), st.lists(st.floats(0, 1), max_size=4))
def test_compiled_replay_with_lags_equals_the_numpy_replay_bit_for_bit(vols, mbps, rpo_min, interval_s, gaps,
                                                                       cuts):
    n = len(vols)
    steps = np.where(np.arange(n) % 7 == 3, 3, 1) if gaps else np.ones(n)
    times = 1.7e9 + np.cumsum(steps) * interval_s
    curve = queue.arrival_curve(times, interval_s, np.array(vols))
    rpo_s = rpo_min * 60.0
    span = float(curve.t[-1]) + rpo_s - float(curve.t[0])
    edges = np.sort(float(curve.t[0]) + np.array(cuts) * span)   # day edges on and off the breakpoints
    svc = queue.serve_fifo(curve, queue.Capacity(mbps), float(curve.t[-1]) + rpo_s)
    with np.errstate(over="ignore"):
        comp = queue.compliance(svc, rpo_s, (float(curve.t[0]), float(curve.t[-1]) + rpo_s), edges)
    got = constant_rate.replay(curve, mbps, rpo_min, edges, at=times)
    assert (got.pct, got.max_lag_s, got.max_backlog_bytes) == (comp.pct, comp.max_lag_s,
                                                               float(svc.backlog.max(initial=0.0)))
    for mine, numpy_s in [(got.piece_start, comp.piece_start), (got.piece_bad_s, comp.piece_bad_s),
                          (got.peak_t, comp.peak_t), (got.peak_lag_s, comp.peak_lag_s),
                          (got.lag_s, queue.lag_at(svc, times)),
                          (got.backlog_bytes, np.interp(times, svc.t, svc.backlog))]:
        np.testing.assert_array_equal(mine, numpy_s)
    figures_only = constant_rate.replay(curve, mbps, rpo_min, edges)
    assert (figures_only.pct, figures_only.max_lag_s) == (comp.pct, comp.max_lag_s)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1e12, allow_nan=False), min_size=0, max_size=5000))
def test_pairwise_sum_rounds_as_numpy_does(values):
    a = np.array(values, dtype=float)
    assert constant_rate._pairwise_sum(a, a.size) == a.sum()


def numpy_required_100(curve: queue.Curve, rpo_s: float) -> float:
    """The scan as numpy ran it before it was compiled: per offset, every pair at once."""
    t, a = curve.t, curve.a
    n = t.size
    best, done, k = 0.0, 0, 64
    while True:
        k = min(k, n - 1)
        for off in range(done + 1, k + 1):
            best = max(best, float(((a[off:] - a[:-off]) / (t[off:] - t[:-off] + rpo_s)).max(initial=0.0)))
        done = k
        if k >= n - 1:
            break
        bound = 0.0
        for off in range(k + 1, min(2 * k + 1, n - 1) + 1):
            bound = max(bound, float(((a[off:] - a[:-off]) / (t[off:] - t[:-off])).max(initial=0.0)))
        if bound <= best:
            break
        k *= 2
    return best


@settings(max_examples=100, deadline=None)
@given(volumes, st.floats(1, 7200), st.booleans())
def test_compiled_always_met_scan_equals_the_numpy_scan_bit_for_bit(vols, rpo_s, gaps):
    n = len(vols)
    steps = np.where(np.arange(n) % 7 == 3, 3, 1) if gaps else np.ones(n)
    curve = queue.arrival_curve(1.7e9 + np.cumsum(steps) * 300.0, 300.0, np.array(vols))
    assert constant_rate.required_bytes_per_s_100(curve, rpo_s) == numpy_required_100(curve, rpo_s)


@pytest.mark.parametrize("seed", range(6))
def test_the_pruned_scan_of_a_long_bursty_month_equals_the_full_numpy_scan(seed):
    """Rows that cannot beat the best so far are skipped: on long curves (where that skips most of them) the
    maximum is still the full scan's, to the last bit."""
    rng = np.random.default_rng(seed)
    n, iv = 6000, float(rng.choice([20.0, 300.0]))
    calm = rng.lognormal(3, 1.5, n) * (rng.random(n) < 0.6)
    bursts = (rng.random(n) < 0.005) * rng.lognormal(11, 2, n)
    steps = np.where(rng.random(n) < 0.03, 3, 1)
    curve = queue.arrival_curve(1.7e9 + np.cumsum(steps) * iv, iv, (calm + bursts) * 1024 * iv)
    for rpo_s in (60.0, 900.0, 3600.0, rng.uniform(1, 20_000)):
        assert constant_rate.required_bytes_per_s_100(curve, rpo_s) == numpy_required_100(curve, rpo_s)
