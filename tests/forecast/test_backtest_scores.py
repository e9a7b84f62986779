"""The backtest's scores, and the forecast points each relative score rewards most."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from churnplan.analytics.forecast import backtest


def mean_loss(pred: float, draws: np.ndarray, tau: float) -> float:
    return float(backtest.quantile_loss(np.full(draws.size, pred), draws, tau).mean())


def test_quantile_loss_charges_a_shortfall_nine_times_an_excess_relative_to_the_need():
    # need 10: predicting 5 falls short by half (0.9 x 0.5), predicting 15 is over by half (0.1 x 0.5)
    assert backtest.quantile_loss(np.array([5.0, 15.0]), np.array([10.0, 10.0])) == pytest.approx([0.45, 0.05])


def test_the_relative_median_worked_by_hand():
    # needs 1, 2, 4 Mbps weigh 1, 1/2, 1/4 (of 1.75): the weight at or below 1 is 0.57 >= 0.5, so 1 Mbps,
    # where the plain median is 2. Expected |error| %: at 1 Mbps (0 + 50 + 75) / 3 = 41.7; at 2: (100 + 0 + 50) / 3
    draws = np.array([4.0, 1.0, 2.0])
    assert backtest.relative_bayes_act(draws, 0.5) == 1.0
    assert mean_loss(1.0, draws, 0.5) == pytest.approx(0.5 * 125 / 300)
    assert mean_loss(2.0, draws, 0.5) == pytest.approx(0.5 * 150 / 300)


def test_the_relative_p90_worked_by_hand():
    # weight at or below 2 Mbps is 1.5 / 1.75 = 0.857 < 0.9, so the relative P90 is the largest need, 4
    assert backtest.relative_bayes_act(np.array([1.0, 2.0, 4.0]), 0.9) == 4.0
    # ten needs of 1 and one of 100: the large one weighs 0.01 of 10.01, so buying 1 Mbps is best at tau 0.9
    assert backtest.relative_bayes_act(np.r_[np.ones(10), 100.0], 0.9) == 1.0


def test_needs_of_zero_are_left_out_and_no_need_at_all_gives_zero():
    assert backtest.relative_bayes_act(np.array([0.0, 3.0]), 0.5) == 3.0
    assert backtest.relative_bayes_act(np.zeros(4), 0.9) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=40), st.sampled_from([0.5, 0.8, 0.9, 0.95]))
def test_the_relative_bayes_act_has_the_least_expected_loss_and_sits_at_or_below_the_quantile(values, tau):
    draws = np.array(values)
    best = backtest.relative_bayes_act(draws, tau)
    # the mean loss is piecewise linear in the prediction with its kinks at the draws: one of them is best
    least = min(mean_loss(float(d), draws, tau) for d in draws)
    assert mean_loss(best, draws, tau) <= least * (1 + 1e-9) + 1e-12
    assert best <= np.quantile(draws, tau, method="inverted_cdf")


def test_the_log_crps_worked_by_hand():
    # draws e^0 and e^2, actual e^1: E|X - y| = 1, E|X - X'| / 2 = (0 + 2 + 2 + 0) / 4 / 2 = 0.5, so 0.5
    assert backtest.crps_log(np.exp([0.0, 2.0]), np.e) == pytest.approx(0.5)
    # a single point scores its absolute log ratio: 2x too much and half too little are charged alike
    assert backtest.crps_log(np.array([20.0]), 10.0) == pytest.approx(np.log(2))
    assert backtest.crps_log(np.array([5.0]), 10.0) == pytest.approx(np.log(2))
    # a need of 0 counts as the 1 kbps floor, not as minus infinity
    assert backtest.crps_log(np.array([0.0]), backtest.LOG_FLOOR_MBPS) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=30), st.floats(0.01, 1e4))
def test_the_log_crps_is_the_pairwise_formula_and_no_sharper_point_beats_the_truth(values, actual):
    draws = np.array(values)
    x, y = np.log(draws), np.log(actual)
    pairwise = np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean()
    assert backtest.crps_log(draws, actual) == pytest.approx(pairwise, abs=1e-9)
    assert backtest.crps_log(draws, actual) >= -1e-9
    # proper: averaged over outcomes drawn from the draws themselves, the draws score no worse than their median
    own = np.mean([backtest.crps_log(draws, a) for a in draws])
    median = np.mean([backtest.crps_log(np.array([np.median(draws)]), a) for a in draws])
    assert own <= median + 1e-9


def test_the_pit_and_calibration_worked_by_hand():
    # draws 1, 2, 3, 4: a need of 2.5 has half of them below it, a need of 2 counts its tie half
    assert backtest.pit(np.array([1.0, 2.0, 3.0, 4.0]), 2.5) == 0.5
    assert backtest.pit(np.array([1.0, 2.0, 3.0, 4.0]), 2.0) == pytest.approx(0.375)
    rows = pd.DataFrame({"method": ["forecast"] * 4 + ["replay"], "pit": [0.05, 0.3, 0.6, 0.95, np.nan]})
    # PITs at or below 0.1, 0.5, 0.9 and 0.95: one, two, three and four of the four (replay has none)
    assert backtest.calibration(rows, (10.0, 50.0, 90.0, 95.0)) == {10.0: 25.0, 50.0: 50.0, 90.0: 75.0, 95.0: 100.0}


def test_no_draws_score_nothing():
    assert np.isnan(backtest.crps_log(np.zeros(0), 1.0)) and np.isnan(backtest.pit(np.zeros(0), 1.0))
