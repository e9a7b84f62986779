"""Growth fitted from daily churn: known linear growth with a weekly rhythm, and stationary churn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from churnplan.analytics.forecast import trend
from churnplan.analytics.forecast.series import whole_days
from churnplan.analytics.forecast.scope import forecast_series
from churnplan.analytics.forecast.traces import learn

import synthetic


def test_linear_growth_with_weekly_rhythm_is_found_within_5_percent():
    # 28 days of 100 GiB/day + 2 GiB/day/day with weekends 30 % lower and 3 % daily noise.
    days = np.arange(28)
    rng = np.random.default_rng(1)
    weekend = np.where(days % 7 >= 5, 0.7, 1.0)
    gib = (100 + 2 * days) * weekend * rng.lognormal(0, 0.03, days.size)
    fit = trend.fit_growth(days, gib, days % 7)
    # The weekend effect is multiplicative, so the fitted weekday-average level on day 27 is about
    # (100 + 2*27) * (5 + 2*0.7)/7 = 140.8 GiB/day and its slope about 2 * 6.4/7 = 1.83 GiB/day per day:
    # growth = 1.83 * 30.44 / 140.8 = 39.5 %/month.
    assert fit.pct_per_month == pytest.approx(39.5, rel=0.05)
    assert fit.lo_pct < 39.5 < fit.hi_pct
    assert fit.enough and fit.days == 28


def test_stationary_churn_has_a_growth_interval_holding_zero():
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        days = np.arange(21)
        gib = 80 * np.where(days % 7 >= 5, 0.6, 1.0) * rng.lognormal(0, 0.1, days.size)
        fit = trend.fit_growth(days, gib, days % 7)
        covered += fit.lo_pct <= 0 <= fit.hi_pct
    assert covered >= 17  # a 95 % interval: 19 of 20 expected, 17 allows for chance


def test_a_level_shift_is_not_growth_and_growth_is_fitted_since_it():
    # 21 days at 60 GiB/day, a workload moves in on day 5: 120 GiB/day from then on, 3 % noise, weekends 30 %
    # lower. A line through it reads about +60 %/month; the shift explains it: the 16 days since are flat.
    days = np.arange(21)
    rng = np.random.default_rng(3)
    gib = np.where(days >= 5, 120.0, 60.0) * np.where(days % 7 >= 5, 0.7, 1.0) * rng.lognormal(0, 0.03, 21)
    assert trend.level_shift(days.astype(float), gib, days % 7) == 5
    fit = trend.fit_growth(days, gib, days % 7)
    assert fit.shift_days_ago == 16 and fit.days == 16 and fit.enough
    assert fit.lo_pct <= 0 <= fit.hi_pct
    assert "level shift 16 days before the last day" in fit.note()


def test_a_recent_shift_leaves_too_few_days_to_fit_growth_so_auto_falls_back():
    days = np.arange(21)
    gib = np.where(days >= 12, 150.0, 50.0) * np.random.default_rng(4).lognormal(0, 0.03, 21)
    auto = trend.auto_growth(days, gib, days % 7, fallback_pct=30.0)
    assert auto.fit.shift_days_ago == 9 and not auto.fitted and auto.growth_pct == 30.0


def test_steady_growth_is_not_taken_for_a_shift():
    for seed in range(10):
        days = np.arange(28)
        gib = (100 + 2 * days) * np.random.default_rng(seed).lognormal(0, 0.05, 28)
        assert trend.level_shift(days.astype(float), gib, days % 7) is None


def test_resampled_days_before_a_shift_carry_the_level_since_it():
    # 14 days at 20 GiB/day then 14 at 60: the forecast's calm days are at 60, not the window's mean of 40.
    s = synthetic.series(np.r_[np.full(14, 20.0), np.full(14, 60.0)], noise=0.02)
    f = forecast_series(s, "estate", 7, rpos=(60.0,), goals=(100.0,), n_traces=20)
    assert f.growth.shift_days_ago == 14
    assert f.daily["median"].mean() == pytest.approx(60.0, rel=0.03)
    assert f.daily["median"].to_numpy() == pytest.approx(60.0, rel=0.1)


def test_growth_is_learned_from_a_sample_series_through_its_calm_days():
    s = synthetic.series(synthetic.weekly_days(28, 50, slope=1.0), noise=0.02)
    fit = learn(s).growth
    # level on day 27 ~ (50 + 27) * (5 + 2*0.7)/7 = 70.4, slope ~ 6.4/7 = 0.914: 39.5 %/month
    assert fit.pct_per_month == pytest.approx(39.5, rel=0.1)


def test_too_little_history_falls_back_and_says_so():
    days = np.arange(10)
    auto = trend.auto_growth(days, 100 + days, days % 7, fallback_pct=30.0)
    assert not auto.fitted and auto.growth_pct == 30.0
    assert "under 14 days" in auto.note() and "given growth 30 %" in auto.note()


def test_auto_growth_plans_the_fitted_growth_ahead_and_never_shrinks():
    days = np.arange(21)
    up = trend.auto_growth(days, 100 + days, days % 7, fallback_pct=30.0)
    assert up.fitted and up.growth_pct == pytest.approx(up.fit.pct_per_month * 90 / trend.DAYS_PER_MONTH)
    down = trend.auto_growth(days, 200 - 3 * days, days % 7, fallback_pct=30.0)
    assert down.fitted and down.fit.pct_per_month < 0 and down.growth_pct == 0.0


def test_days_of_a_collection_outage_are_not_learned_as_days_without_writes():
    s = synthetic.series(synthetic.weekly_days(21, 50))
    present = s.present.copy()
    spd = s.slots_per_day
    present[10 * spd: 11 * spd] = False          # day 10: the collector was down
    s = type(s)(s.t0, s.interval_s, np.where(present, s.bytes, 0.0), s.timezone, present)
    assert 10 not in whole_days(s).day and whole_days(s).day.size == 20


@settings(max_examples=25, deadline=None)
@given(st.floats(1, 1000), st.floats(-5, 5), st.integers(0, 10_000))
def test_interval_holds_the_estimate(level, slope, seed):
    days = np.arange(21)
    gib = np.maximum(level + slope * days, 0.1) * np.random.default_rng(seed).lognormal(0, 0.1, days.size)
    fit = trend.fit_growth(days, gib, days % 7)
    assert fit.lo_pct <= fit.pct_per_month <= fit.hi_pct
