"""A small backtest on the real Bitbrains traces (the full one is benchmarks/backtest_bitbrains.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
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
    assert np.isfinite(s[["mape_pct", "met_goal_pct", "mean_ratio", "quantile_loss_pct"]].to_numpy()).all()
    assert 0 <= s.loc["forecast", "coverage_80_pct"] <= 100 and np.isnan(s.loc["replay", "coverage_80_pct"])
