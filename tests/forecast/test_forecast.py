"""Forecast traces and what the exact queue model makes of them: weekly bursts recur, intervals nest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from churnplan.analytics import bandwidth, queue
from churnplan.analytics.forecast import bursts as burst_model, need, scope, traces

import synthetic


def _weekly_batch(days: int = 21):
    """30 GiB/day of office churn plus a 40 GiB batch from 02:00 to 03:00 every Monday."""
    mondays = [(d, 2.0, 1.0, 40.0) for d in range(0, days, 7)]
    return synthetic.series(synthetic.weekly_days(days, 30, weekend=0.0), bursts=mondays)


def test_a_weekly_batch_is_learned_as_weekly_and_predicted_to_recur_on_monday_at_two():
    s = _weekly_batch()
    model = traces.learn(s)
    weekly = model.bursts.weekly >= 0
    assert weekly.sum() == 3 and (model.bursts.start_slot[weekly] == 8).all()  # 02:00 at 900 s
    tr = traces.simulate(model, 7, 100, np.random.default_rng(0))
    local = queue.from_epoch(tr.times - tr.interval_s)
    batch = (local.day_of_week == 0) & (local.hour == 2)
    # the batch writes 40 GiB in its hour; calm hours write about 30/24 x (1 + 0.8) GiB at most
    per_trace = tr.bytes[:, batch].sum(axis=1) / 2**30
    assert np.median(per_trace) > 35
    assert (per_trace > 35).mean() >= 0.7  # seen in 3 of 3 weeks: recurs with probability 3.5/4


def test_the_batch_sets_the_forecast_need_as_it_set_the_past_need():
    s = _weekly_batch()
    fc = scope.forecast_series(s, "estate", 7, rpos=(15.0,), goals=(100.0,), n_traces=60)
    past = bandwidth.required_mbps_100(queue.arrival_curve(s.times, s.interval_s, s.bytes), 900)
    median = float(fc.bandwidth["median"].iloc[0])
    assert median == pytest.approx(past, rel=0.1)


def test_a_one_off_burst_is_not_predicted_every_week():
    s = synthetic.series(synthetic.weekly_days(21, 30, weekend=0.0), bursts=[(3, 14.0, 1.0, 40.0)])
    model = traces.learn(s)
    assert (model.bursts.weekly < 0).all()
    fc = scope.forecast_series(s, "estate", 7, rpos=(15.0,), goals=(100.0,), n_traces=100)
    past = bandwidth.required_mbps_100(queue.arrival_curve(s.times, s.interval_s, s.bytes), 900)
    b = fc.bandwidth.iloc[0]
    assert b["median"] < 0.5 * past <= b["p95"]  # seen once in 3 weeks: possible, not expected


def test_daily_churn_forecast_is_the_learned_level_with_growth():
    s = synthetic.series(synthetic.weekly_days(28, 50, slope=1.0, weekend=0.0), noise=0.02)
    fc = scope.forecast_series(s, "estate", 14, rpos=(15.0,), goals=(100.0,), n_traces=60)
    # 50 + day: day 28 writes about 78 GiB, day 41 about 91
    assert fc.daily["median"].iloc[0] == pytest.approx(78, rel=0.05)
    assert fc.daily["median"].iloc[-1] == pytest.approx(91, rel=0.05)
    assert (fc.daily["lower_80"] <= 91).all() and (fc.daily["upper_80"] >= 78).all()


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.floats(5, 200), st.floats(0.0, 0.5))
def test_intervals_nest_and_upper_bounds_order(seed, base, noise):
    rng = np.random.default_rng(seed)
    bursts = [(int(d), float(rng.uniform(0, 23)), 1.0, float(rng.uniform(1, 50))) for d in rng.integers(0, 14, 3)]
    s = synthetic.series(synthetic.weekly_days(15, base), noise=noise, seed=seed, bursts=bursts)
    fc = scope.forecast_series(s, "estate", 3, rpos=(15.0, 60.0), goals=(100.0, 95.0), bandwidth_mbps=base,
                               n_traces=24, goal_traces=8, seed=seed)
    d = fc.daily
    assert (d["lower_95"] <= d["lower_80"]).all() and (d["lower_80"] <= d["median"]).all()
    assert (d["median"] <= d["upper_80"]).all() and (d["upper_80"] <= d["upper_95"]).all()
    b = fc.bandwidth
    assert (b["lower_80"] <= b["median"]).all() and (b["median"] <= b["p90"]).all() and (b["p90"] <= b["p95"]).all()
    c = fc.compliance
    assert ((0 <= c["lower_80"]) & (c["lower_80"] <= c["median"]) & (c["median"] <= c["upper_80"])
            & (c["upper_80"] <= 100)).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([60.0, 900.0, 3600.0]), st.integers(2, 2500))
def test_batched_need_equals_the_exact_bandwidth_model(seed, rpo_s, n):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, 2, (4, n)) * (rng.random((4, n)) < 0.7) * 1e6
    t = 300.0 * np.arange(1, n + 1)
    got = need.required_mbps_100(t, 300.0, x, rpo_s)
    want = [bandwidth.required_mbps_100(queue.arrival_curve(t, 300.0, row), rpo_s) for row in x]
    assert got.tolist() == want   # the same floats, trace by trace


def test_compliance_at_the_p95_need_is_full_for_most_traces():
    s = _weekly_batch(14)
    fc = scope.forecast_series(s, "estate", 7, rpos=(15.0,), goals=(100.0,), n_traces=40, goal_traces=40,
                               bandwidth_mbps=None)
    p95 = float(fc.bandwidth["p95"].iloc[0])
    pct = need.compliance_pct(fc.traces.times, fc.traces.interval_s, fc.traces.bytes, 15.0, p95)
    assert (pct >= 100 - 1e-6).mean() >= 0.9


def test_compliance_on_a_future_date_and_outside_the_horizon():
    s = _weekly_batch(14)
    fc = scope.forecast_series(s, "estate", 7, rpos=(15.0,), goals=(100.0,), n_traces=20)
    monday = pd.Timestamp(synthetic.START + pd.Timedelta(days=14)).date()
    low = scope.compliance_on(fc, monday, 15.0, 1.0, n=10)
    high = scope.compliance_on(fc, monday, 15.0, 10_000.0, n=10)
    assert low["median"] < high["median"] == 100.0
    with pytest.raises(ValueError, match="not within the forecast horizon"):
        scope.compliance_on(fc, "2030-01-01", 15.0, 10.0)


def test_resampled_days_bring_their_own_bursts_so_no_day_gets_two():
    bursts = [(2, 14.0, 1.0, 40.0), (8, 20.0, 1.0, 40.0), (17, 9.0, 1.0, 40.0)]
    s = synthetic.series(synthetic.weekly_days(21, 30, weekend=0.0), bursts=bursts)
    model = traces.learn(s)
    assert model.bursts.length.size == 3 and (model.bursts.weekly < 0).all()
    tr = traces.simulate(model, 14, 200, np.random.default_rng(3), random_bursts="days")
    per_day = tr.bytes.reshape(200, 14, -1).sum(axis=2) / 2**30
    # a calm day writes about 30 GiB, a day with its one burst about 70; never two bursts (110) in a day
    assert per_day.max() < 85 and (per_day > 60).any()
    poisson = traces.simulate(model, 14, 200, np.random.default_rng(3), random_bursts="poisson")
    assert (poisson.bytes.reshape(200, 14, -1).sum(axis=2) / 2**30 > 60).any()


def test_dispersion_shape_by_hand():
    # 14 days, 7 bursts: one a day on days 0-6 is steadier than Poisson (variance 0.27 < mean 0.5): no spell
    assert burst_model.dispersion_shape(np.arange(7), 14) == float("inf")
    # all 7 on one day: mean 0.5, variance (6.5^2 + 13 x 0.5^2) / 13 = 3.5, so k = 0.25 / (3.5 - 0.5)
    assert burst_model.dispersion_shape(np.full(7, 3), 14) == pytest.approx(0.25 / 3.0)
    assert burst_model.dispersion_shape(np.zeros(0, int), 1) == float("inf")


def _bursty(bursts: list[tuple[int, float]]) -> traces.Model:
    """21 calm days at 30 GiB/day with one-hour 40 GiB bursts at (day, hour)."""
    b = [(d, h, 1.0, 40.0) for d, h in bursts]
    return traces.learn(synthetic.series(synthetic.weekly_days(21, 30, weekend=0.0), bursts=b))


def test_bursts_seen_in_spells_make_some_weeks_quiet_and_others_busy():
    # the same 12 bursts: spread over 12 days, or in three busy days; the rate's mean is alike, the weeks differ
    spread = _bursty([(d, float(5 * d % 24)) for d in range(1, 20) if d % 3])      # 13 days, one each
    spell = _bursty([(d, h) for d in (16, 17, 18) for h in (3.0, 9.0, 15.0, 21.0)])
    assert spread.bursts.length.size == 13 and spell.bursts.length.size == 12
    assert burst_model.dispersion_shape(spread.bursts.start_day, 21) == float("inf")
    # 18 days with none, 3 with four: mean 12/21, variance (3 x (4 - 4/7)^2 + 18 x (4/7)^2) / 20 = 2.057
    assert burst_model.dispersion_shape(spell.bursts.start_day, 21) == pytest.approx((4 / 7) ** 2 / (2.0571 - 4 / 7),
                                                                                      rel=1e-3)

    def weekly_bursts(model: traces.Model) -> np.ndarray:
        tr = traces.simulate(model, 7, 400, np.random.default_rng(5))
        calm = np.median(tr.bytes)
        return (tr.bytes > 2.5 * calm).reshape(400, -1).sum(axis=1)  # burst samples per simulated week
    steady, spells = weekly_bursts(spread), weekly_bursts(spell)
    # a steady rate almost always brings bursts; busy spells leave many weeks without any, others with many
    assert (steady == 0).mean() < 0.05
    assert (spells == 0).mean() > 0.3 and np.percentile(spells, 95) > np.percentile(steady, 95)
