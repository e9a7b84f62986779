"""A small backtest on the real Bitbrains traces (the full one is benchmarks/backtest_bitbrains.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics import bandwidth, queue
from churnplan.analytics.forecast import backtest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "backtest_bitbrains.py"


@pytest.fixture(scope="module")
def bench(shared_datasets):
    folder = shared_datasets / "bitbrains-rnd-2013-07"
    if not folder.is_dir():
        pytest.skip("Bitbrains traces absent")
    spec = importlib.util.spec_from_file_location("backtest_bitbrains", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, folder


@pytest.fixture(scope="module")
def rows(bench):
    module, folder = bench
    # the first 13 traces hold the first 12-VM estate of the protocol; two of its three splits
    return module.run(folder, n_estates=1, n_splits=2, goals=(100.0,), traces=60, quiet=True, first_traces=13)


def test_every_method_is_scored_for_each_rpo_of_each_case(rows):
    assert rows["case"].nunique() == 2
    assert len(rows) == 2 * 3 * len(backtest.METHODS)
    assert (rows["actual_mbps"] > 0).all()
    fc = rows[rows["method"] == "forecast"].reset_index(drop=True)
    p90 = rows[rows["method"] == "forecast-p90"].reset_index(drop=True)
    assert (fc["lower_mbps"] <= fc["predicted_mbps"]).all() and (fc["predicted_mbps"] <= p90["predicted_mbps"]).all()
    assert (fc["upper_mbps"] == p90["predicted_mbps"]).all()
    # the points the relative scores reward sit at or below the calibrated median and P90
    for method, calibrated in (("forecast-mape", fc), ("forecast-ql90", p90)):
        point = rows[rows["method"] == method].reset_index(drop=True)
        assert (point["predicted_mbps"] <= calibrated["predicted_mbps"]).all()
    # a point method's log CRPS is its absolute log ratio; the forecast's scores its whole distribution
    replay = rows[rows["method"] == "replay"]
    assert np.allclose(replay["crps_log"], np.abs(np.log(replay["predicted_mbps"] / replay["actual_mbps"])))
    assert (fc["crps_log"] >= 0).all()


def test_replay_is_the_exact_need_of_the_learning_days(bench, rows):
    module, folder = bench
    wide = module.load(folder, 13)
    day0, groups = module.estates(wide, 1, 12)
    prep = module.case(wide, groups[0], day0, module.SPLITS[0])
    cut = prep.times <= day0.value / 1e9 + 14 * 86_400
    curve = queue.arrival_curve(prep.times[cut], prep.interval_s, prep.vm_bytes[cut].sum(axis=1))
    want = bandwidth.required_mbps_100(curve, 15 * 60.0)
    got = rows[(rows["method"] == "replay") & (rows["rpo_min"] == 15)]["predicted_mbps"].iloc[0]
    assert got == pytest.approx(want, rel=1e-9)


def test_summary_prints_the_issue_figures(rows):
    s = backtest.summarise(rows).set_index("method")
    assert list(s.index) == list(backtest.METHODS)
    assert np.isfinite(s[["mape_pct", "met_goal_pct", "mean_ratio", "quantile_loss_pct", "crps_log"]].to_numpy()).all()
    assert 0 <= s.loc["forecast", "coverage_80_pct"] <= 100 and np.isnan(s.loc["replay", "coverage_80_pct"])


def test_hindsight_finds_the_multiple_that_would_have_been_right():
    spec = importlib.util.spec_from_file_location("backtest_bitbrains_hindsight", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    actual = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0])
    halves = pd.DataFrame({"method": "replay", "predicted_mbps": actual / 2, "actual_mbps": actual})
    # the tenth row needs 10x its prediction, the others 2x: a P90 must double, the median too
    tenth = halves.assign(method="dp-p95", predicted_mbps=np.r_[actual[:9] / 2, actual[9] / 10])
    h = module.hindsight(pd.concat([halves, tenth])).set_index("method")
    assert h.loc["replay", "x_ql"] == pytest.approx(2.0, rel=0.02)
    assert h.loc["replay", "ql_meeting_90_pct"] == pytest.approx(0.0, abs=0.2)
    assert h.loc["replay", "mape_meeting_50_pct"] == pytest.approx(0.0, abs=2.0)
    # meeting 9 rows in 10 needs x2 (the tenth falls short by 80 %: 0.9 x 0.8 / 10 rows = 7.2 %)
    assert h.loc["dp-p95", "x_ql"] == pytest.approx(2.0, rel=0.02)
    assert h.loc["dp-p95", "ql_meeting_90_pct"] == pytest.approx(7.2, abs=0.3)
