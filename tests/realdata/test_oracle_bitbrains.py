"""The oracle benchmark (benchmarks/oracle_bitbrains.py): a forecast that knows the true distribution of
exchangeable days, scored as the backtest scores; its draws and its assumption pinned."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics.forecast import backtest
from churnplan.core.units import BYTES_PER_MBPS

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "oracle_bitbrains.py"


@pytest.fixture(scope="module")
def oracle():
    spec = importlib.util.spec_from_file_location("oracle_bitbrains", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclass looks its module up
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path            # it puts benchmarks/ first to import the backtest's protocol
    return module


def _days(oracle, need: np.ndarray, rate: float = 1.0):
    return oracle.EstateDays({15.0: need}, np.full((need.size, 288), rate), pd.Timestamp("2013-07-01", tz="UTC"))


def test_identical_days_make_every_need_the_same_and_every_score_zero(oracle):
    rows = oracle.oracle_rows(_days(oracle, np.full(28, 3.0)), 15.0, 14, 50, np.random.default_rng(0))
    for method in ("forecast", "forecast-p90", "replay", "forecast-mape", "forecast-ql90"):
        r = rows[rows["method"] == method]
        assert np.allclose(r["predicted_mbps"], 3.0) and np.allclose(r["actual_mbps"], 3.0), method
    s = backtest.summarise(rows).set_index("method")
    assert s.loc["replay", "mape_pct"] == 0 and s.loc["forecast-p90", "quantile_loss_pct"] == 0
    # the rules read the rates (1 Mbps in every sample): the DP rule adds its 30 % growth
    assert np.allclose(rows.loc[rows["method"] == "dp-p95", "predicted_mbps"], 1.3)
    assert np.allclose(rows.loc[rows["method"] == "zplanner-p98", "predicted_mbps"], 1.0)


def test_the_oracle_is_calibrated_on_the_days_it_draws(oracle):
    need = np.random.default_rng(1).lognormal(0.0, 1.0, 28)
    rows = oracle.oracle_rows(_days(oracle, need), 15.0, 14, 4000, np.random.default_rng(2))
    cal = backtest.calibration(rows)
    assert cal[50.0] == pytest.approx(50, abs=3) and cal[90.0] == pytest.approx(90, abs=2)
    s = backtest.summarise(rows).set_index("method")
    assert s.loc["forecast-p90", "met_goal_pct"] == pytest.approx(90, abs=2)
    assert s.loc["forecast", "coverage_80_pct"] == pytest.approx(80, abs=3)
    # replay is the largest of 14 drawn days: it covers the next 7 about two times in three (14 / 21)
    assert s.loc["replay", "met_goal_pct"] == pytest.approx(100 * 14 / 21, abs=4)
    # the proper score ranks the truth first; the relative quantile loss does not have to
    assert s.loc["forecast", "crps_log"] < s.loc["replay", "crps_log"]


def test_drawn_days_follow_one_another_from_the_first_midnight(oracle):
    days = _days(oracle, np.full(28, 3.0), rate=2.0)
    prep = oracle.synthetic_case(days, np.array([4, 9, 4]), np.array([1.0, 0.5, 2.0]))
    assert prep.vm_bytes.shape == (3 * 288, 1) and prep.interval_s == 300
    assert prep.times[0] == pd.Timestamp("2013-07-01 00:05", tz="UTC").value / 1e9
    assert np.all(np.diff(prep.times) == 300)
    # 2 Mbps for a day, then 1 Mbps, then 4 Mbps: bytes per 300 s sample
    want = np.repeat([2.0, 1.0, 4.0], 288) * BYTES_PER_MBPS * 300
    assert np.allclose(prep.vm_bytes[:, 0], want)


def test_a_window_needs_what_its_worst_day_needs_on_the_real_traces(oracle, shared_datasets):
    folder = shared_datasets / "bitbrains-rnd-2013-07"
    if not folder.is_dir():
        pytest.skip("Bitbrains traces absent")
    bb = oracle.bb
    wide = bb.load(folder, 13)
    day0, groups = bb.estates(wide, 1, 12)
    days = oracle.estate_days(wide, groups[0], day0, (15.0,))
    assert days.need_mbps[15.0].shape == (bb.MONTH_DAYS,) and (days.need_mbps[15.0] > 0).all()
    ratios = np.asarray(oracle.window_need_ratios(wide, groups[0], day0, days, (15.0,)))
    assert ratios.size == 2 * len(bb.SPLITS)
    assert (ratios >= 1 - 1e-9).all() and (ratios <= 1.05).all()
    # a drawn run of real days needs what its worst day needs, as the oracle takes it
    got = oracle.needs_mbps(oracle.synthetic_case(days, np.array([3, 11, 5]), np.ones(3)), (15.0,))[15.0]
    worst = days.need_mbps[15.0][[3, 11, 5]].max()
    assert worst <= got <= 1.05 * worst
    # churnplan's forecast runs on drawn days, its rows beside the oracle's scores of the same held-out need
    rows = oracle.forecast_rows(days, 14, 1, np.random.default_rng(0), traces=20)
    own = rows[rows["method"] == "forecast"]
    assert len(own) == 1 and own["oracle_crps_log"].notna().all() and own["oracle_pit"].between(0, 1).all()
