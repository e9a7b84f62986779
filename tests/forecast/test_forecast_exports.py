"""The forecast in the workbook and the HTML report: present with two weeks of history, absent with two days."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pytest

from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.export import excel, html
from churnplan.export import forecast as forecast_export

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faces"))
import tiny_estate


@pytest.fixture(scope="module")
def plan14():
    vms, disks, samples = tiny_estate.frames(days=14, interval_s=900)
    return build_plan(vms, disks, samples, PlanConfig())


def test_workbook_gains_a_forecast_sheet_after_the_planner_sheets(plan14, tmp_path):
    path = tmp_path / "plan.xlsx"
    excel.write_workbook(plan14, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(excel.SHEETS) + ["Forecast"]
    ws = book["Forecast"]
    header = [c.value for c in ws[5]][:5]
    assert header == ["RPO (min)", "Goal (% of the time)", "Median Mbps", "P90 Mbps", "P95 Mbps"]
    rows = list(ws.iter_rows(min_row=6, max_row=11, values_only=True))
    assert len(rows) == 6 and all(r[2] <= r[3] <= r[4] for r in rows)
    # the tiny estate writes the same sine each day, so each day ahead is forecast as the days learned
    daily = plan14.estate_series.set_index("ts")["write_kibps"].sum() * 900 / 2**20 / 14
    values = [r[1] for r in ws.iter_rows(min_row=15, max_row=40, values_only=True) if isinstance(r[1], float)]
    assert values and all(v == pytest.approx(daily, rel=0.02) for v in values)


def test_report_has_a_forecast_section_with_its_chart_and_table(plan14):
    text = html.render_report(plan14)
    assert "<h2>Forecast</h2>" in text and "Estate churn per day: measured and forecast" in text
    assert "P95 Mbps" in text and "Learned from 14 whole days" in text


def test_two_days_are_too_few_for_a_forecast(tmp_path):
    tiny_plan = build_plan(*tiny_estate.frames(days=2), PlanConfig())
    assert forecast_export.estate_forecast(tiny_plan) is None
    path = tmp_path / "tiny.xlsx"
    excel.write_workbook(tiny_plan, path)
    assert "Forecast" not in openpyxl.load_workbook(path).sheetnames
    assert "A forecast needs at least 7 whole days" in html.render_report(tiny_plan)


def test_workbook_and_report_share_one_forecast_of_a_plan(tmp_path):
    plan = build_plan(*tiny_estate.frames(days=8, interval_s=900), PlanConfig())
    first = forecast_export.estate_forecast(plan, "UTC")
    excel.write_workbook(plan, tmp_path / "plan.xlsx")
    html.render_report(plan)
    assert forecast_export.estate_forecast(plan, "UTC") is first      # made once, then reused
    assert forecast_export.estate_forecast(plan, "Europe/Amsterdam") is not first   # other settings: made anew
    other = build_plan(*tiny_estate.frames(days=8, interval_s=900), PlanConfig())
    assert forecast_export.estate_forecast(other, "UTC") is not first  # another plan: its own
