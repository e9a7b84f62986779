"""`churnplan forecast`, `churnplan backtest` and `--growth auto` on a real store file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnplan.analytics.forecast.backtest import COLUMNS
from churnplan.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faces"))
import tiny_estate


def _store(path: Path, days: int) -> Path:
    return tiny_estate.write_store(path, days=days, interval_s=900)


@pytest.fixture(scope="module")
def store16(tmp_path_factory) -> Path:
    return _store(tmp_path_factory.mktemp("fc") / "tiny16.duckdb", 16)


def test_forecast_writes_csv_and_json_and_prints_the_table(store16, tmp_path):
    res = CliRunner().invoke(app, ["forecast", "--db", str(store16), "--out", str(tmp_path), "--horizon", "3d",
                                   "--bandwidth", "5", "--traces", "12"])
    assert res.exit_code == 0, res.output
    assert "Forecast" in res.output and "expect" in res.output
    frame = pd.read_csv(tmp_path / "forecast.csv")
    assert set(frame["measure"]) == {"churn_gib_day", "required_mbps", "compliance_pct"}
    bw = frame[frame["measure"] == "required_mbps"]
    assert set(bw["rpo_min"]) == {15.0, 30.0, 60.0} and set(bw["compliance_goal_pct"]) == {100.0, 99.0, 95.0, 90.0}
    assert (bw["p95"] >= bw["p90"]).all() and (bw["p90"] >= bw["median"]).all()
    doc = json.loads((tmp_path / "forecast.json").read_text())
    assert doc["settings"]["horizon_days"] == 3 and doc["scopes"][0]["scope"] == "estate"
    assert "fitted growth" in doc["scopes"][0]["growth"]["note"]
    # what the upper bounds do not cover is said in the JSON and on the terminal
    assert "a burst larger than any learned" in doc["notes"][0]
    assert "invent no larger ones" in " ".join(res.output.split())
    # what it rests on: 16 days of 15-minute samples, the first ending at 00:15 UTC on the first day
    first = tiny_estate.START + pd.Timedelta(minutes=15)
    assert doc["settings"]["learned_first_utc"] == first.isoformat()
    assert doc["settings"]["learned_last_utc"] == (tiny_estate.START + pd.Timedelta(days=16)).isoformat()
    assert doc["settings"]["learned_days"] == 16.0


def test_backtest_writes_the_issue_columns_and_prints_per_method(store16, tmp_path):
    res = CliRunner().invoke(app, ["backtest", "--db", str(store16), "--out", str(tmp_path), "--test-days", "2",
                                   "--traces", "12"])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(tmp_path / "backtest.csv")
    assert list(frame.columns) == COLUMNS
    assert set(frame["method"]) == {"forecast", "forecast-p90", "replay", "dp-p95", "zplanner-p98", "forecast-mape",
                                    "forecast-ql90"}
    fc = frame[frame["method"] == "forecast"]
    assert fc["lower_mbps"].notna().all() and fc["in_interval"].notna().all()
    assert frame[frame["method"] != "forecast"]["lower_mbps"].isna().all()
    # the PIT (share of the forecast's draws below the need) only for the forecast; every row has its log CRPS
    assert fc["pit"].between(0, 1).all() and frame[frame["method"] != "forecast"]["pit"].isna().all()
    assert (frame["crps_log"] >= 0).all()
    assert "log CRPS" in res.output and "calibration: held-out need at or below the forecast's P10 in" in res.output
    assert (frame["met_goal"] == (frame["predicted_mbps"] >= frame["actual_mbps"])).all()
    for method in ("forecast-p90", "replay", "dp-p95", "zplanner-p98", "forecast-mape", "forecast-ql90"):
        assert method in res.output


@pytest.mark.parametrize("args, message", [
    (["forecast", "--horizon", "soon"], "--horizon: 'soon' is not a duration"),
    (["forecast", "--timezone", "Mars/Base"], "Mars/Base"),
    (["backtest", "--test-days", "40"], "less than the 40 held-out days"),
])
def test_bad_options_are_one_line_errors(store16, tmp_path, args, message):
    res = CliRunner().invoke(app, [args[0], "--db", str(store16), "--out", str(tmp_path), *args[1:]])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_growth_auto_with_too_little_history_says_so_and_keeps_the_default(tmp_path):
    db = _store(tmp_path / "tiny2.duckdb", 3)
    res = CliRunner().invoke(app, ["plan", "--db", str(db), "--out", str(tmp_path / "p"), "--growth", "auto"])
    assert res.exit_code == 0, res.output
    assert "under 14 days" in res.output and "given growth 30 %" in res.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["config"]["growth_auto"]["fitted"] is False and summary["config"]["growth_pct"] == 30.0


def test_growth_auto_fits_the_trend_from_two_weeks(store16, tmp_path):
    res = CliRunner().invoke(app, ["plan", "--db", str(store16), "--out", str(tmp_path), "--growth", "auto"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    auto = summary["config"]["growth_auto"]
    # the tiny estate writes the same sine every day: no growth, so the plan grows by 0 %
    assert auto["fitted"] and auto["fit_lo_pct"] <= 0 <= auto["fit_hi_pct"] + 1e-9
    assert summary["config"]["growth_pct"] == pytest.approx(auto["growth_pct"]) and auto["growth_pct"] < 1


def test_forecast_learns_in_the_estate_zone_unless_told_otherwise(store16, tmp_path):
    db = tmp_path / "zoned.duckdb"
    db.write_bytes(store16.read_bytes())
    assert CliRunner().invoke(app, ["init", "--db", str(db), "--timezone", "Asia/Tokyo"]).exit_code == 0
    for args, zone in (([], "Asia/Tokyo"), (["--timezone", "Europe/Amsterdam"], "Europe/Amsterdam")):
        out = tmp_path / zone.replace("/", "-")
        res = CliRunner().invoke(app, ["forecast", "--db", str(db), "--out", str(out), "--horizon", "2d",
                                       "--traces", "10", *args])
        assert res.exit_code == 0, res.output
        assert json.loads((out / "forecast.json").read_text())["settings"]["timezone"] == zone


def test_the_churn_forecast_learns_is_read_by_blocks_as_loading_every_sample_would_read_it(store16):
    from churnplan.analytics import rpo
    from churnplan.analytics.config import PlanConfig
    from churnplan.core import store
    from churnplan.engines.store import plan_from_store, prepared_from_store

    con = store.connect(store16, read_only=True)
    first, last = (pd.Timestamp(x, tz="UTC") for x in con.execute("SELECT min(ts), max(ts) FROM samples").fetchone())
    start, end = first + pd.Timedelta(days=2, minutes=7), last - pd.Timedelta(days=3.5)  # cuts both ends
    plan = plan_from_store(con, PlanConfig(start=start.to_pydatetime(), end=end.to_pydatetime()))
    vms = plan.vms[plan.vms["process_server"] != ""][["vcenter", "vm_id", "name", "process_server"]]
    excluded = plan.disks[["vcenter", "vm_id", "instance", "excluded"]]
    want = rpo.prepare(store.load_samples_polars(con, None, start.to_pydatetime(), end.to_pydatetime()),
                       assignment=vms, excluded=excluded, timezone="Asia/Tokyo")
    got = prepared_from_store(con, vms, excluded, "Asia/Tokyo", rows_per_block=500,
                              start=start.to_pydatetime(), end=end.to_pydatetime())
    con.close()
    np.testing.assert_array_equal(got.times, want.times)
    np.testing.assert_array_equal(got.vm_bytes, want.vm_bytes)
    pd.testing.assert_frame_equal(got.vms, want.vms)
