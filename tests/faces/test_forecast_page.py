"""The Forecast dashboard page through Streamlit's AppTest, on a real 16-day store and a 2-day one."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import tiny_estate
from churnplan.dashboard import data

APP = Path(data.__file__).resolve().parent / "app.py"
PAGE = "views/forecast.py"


def _store(path: Path, days: int) -> Path:
    return tiny_estate.write_store(path, days=days, interval_s=900)


def _open(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CHURNPLAN_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_forecast_page_shows_growth_bands_bandwidth_and_a_future_what_if(tmp_path, monkeypatch):
    at = _open(_store(tmp_path / "tiny16.duckdb", 16), monkeypatch)
    assert [t.value for t in at.title] == ["Forecast"]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Days learned"] == "16"
    assert "Growth per month" in labels and any(k.startswith("Expected time within RPO") for k in labels)
    assert len(at.get("plotly_chart")) == 2
    table = at.dataframe[0].value
    assert list(table["compliance_goal_pct"]) == [100.0, 95.0] and (table["p95_mbps"] >= table["median_mbps"]).all()

    # a bandwidth far below the need loses compliance; one far above keeps it all
    at.slider(key="fc_mbps").set_value(1).run()
    low = float(next(m.value for m in at.metric if m.label.startswith("Expected")).rstrip(" %"))
    top = at.slider(key="fc_mbps").max
    at.slider(key="fc_mbps").set_value(top).run()
    high = float(next(m.value for m in at.metric if m.label.startswith("Expected")).rstrip(" %"))
    assert not at.exception and low < high == 100.0


def test_forecast_page_says_when_history_is_too_short(tmp_path, monkeypatch):
    at = _open(_store(tmp_path / "tiny2.duckdb", 2), monkeypatch)
    assert any("at least 7 whole days" in w.value for w in at.warning)
