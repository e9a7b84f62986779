"""The backtest's scores, and the forecast points each relative score rewards most."""

from __future__ import annotations

import numpy as np
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
