"""The report files: workbook structure and cell safety, the offline HTML report, CSV headers (golden files)."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import tiny_estate
from churnplan.export import csv as csv_export
from churnplan.export import excel, html

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CHURNPLAN_UPDATE_GOLDEN") == "1"


def _golden(name: str, actual) -> None:
    """Compare with golden/<name>; CHURNPLAN_UPDATE_GOLDEN=1 rewrites it (review the diff before committing)."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(json.dumps(actual, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with CHURNPLAN_UPDATE_GOLDEN=1"
    assert actual == json.loads(path.read_text(encoding="utf-8"))


def _structure(path: Path) -> dict:
    """Per sheet: its title cell, the header row number (the frozen row) and the header labels."""
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        header_row = int(re.match(r"[A-Z]+(\d+)", ws.freeze_panes).group(1)) - 1
        headers = [c.value for c in ws[header_row] if c.value is not None]
        filtered = ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith(f"A{header_row}")
        out[ws.title] = {"title": ws["A1"].value, "header_row": header_row, "headers": headers,
                         "autofilter": filtered}
    return out


@pytest.fixture(scope="module")
def workbook(tiny_plan, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    excel.write_workbook(tiny_plan, path, tz="Europe/Amsterdam")
    return path


def test_workbook_has_the_planner_sheets_in_order_with_golden_headers(workbook: Path) -> None:
    structure = _structure(workbook)
    assert list(structure) == list(excel.SHEETS)
    assert all(sheet["autofilter"] for sheet in structure.values())
    _golden("workbook_structure.json", structure)


def test_recommendations_pivot_bandwidth_by_rpo_and_goal(tiny_plan, workbook: Path) -> None:
    ws = openpyxl.load_workbook(workbook)["Recommendations"]
    header_row = int(ws.freeze_panes[1:]) - 1
    rows = list(ws.iter_rows(min_row=header_row + 1, max_row=header_row + 3, values_only=True))
    bw = tiny_plan.bandwidth.frame
    want = bw[(bw["scope"] == "estate") & (bw["rpo_min"] == 15) & (bw["compliance_goal_pct"] == 90)]
    first = rows[0]
    assert first[:2] == ("estate", 15)
    assert first[5] == pytest.approx(float(want["required_mbps"].iloc[0]))
    # more compliance never needs less bandwidth
    assert list(first[2:6]) == sorted(first[2:6], reverse=True)


def test_workbook_cells_are_text_never_formulas(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if c.value == tiny_estate.FORMULA_NAME]
    assert cells, "the formula-looking VM name should appear verbatim"
    assert {c.data_type for c in cells} == {"s"}
    assert not any(c.data_type == "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)


def test_incompatible_sheet_names_the_vm_and_its_reason(workbook: Path) -> None:
    ws = openpyxl.load_workbook(workbook)["Incompatible VMs"]
    values = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "web01" in values
    assert any("40,960 GB" in v for v in values)
    compatible = openpyxl.load_workbook(workbook)["Compatible VMs"]
    assert "web01" not in [v for row in compatible.iter_rows(values_only=True) for v in row]


def test_what_if_sheet_charts_daily_violations(workbook: Path) -> None:
    ws = openpyxl.load_workbook(workbook)["What-if"]
    assert len(ws._charts) == 1
    assert "10 Mbps" in ws["A2"].value


@pytest.fixture(scope="module")
def report_html(tiny_plan) -> str:
    return html.render_report(tiny_plan, tz="Europe/Amsterdam", store_path="tiny.duckdb")


def test_html_escapes_names(report_html: str) -> None:
    assert tiny_estate.SCRIPT_NAME not in report_html
    assert "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;, db" in report_html


def test_html_is_self_contained_with_plotly_once(report_html: str) -> None:
    assert not re.search(r"<script[^>]+src=", report_html)
    assert not re.search(r"<link[^>]+href=\"?https?:", report_html)
    assert report_html.count("* plotly.js v") == 1  # the library, inlined once for every chart
    for title in ("Churn by hour and weekday", "Estate churn over time", "Replication lag at 10 Mbps",
                  "Bandwidth and RPO compliance", "Incompatible VMs", "Process servers"):
        assert f"<h2>{title}</h2>" in report_html
    assert report_html.count('class="plotly-graph-div"') == 5  # heatmap, churn, lag, daily, curve


def test_html_table_leaves_missing_cells_empty() -> None:
    frame = pd.DataFrame({"vms": pd.array([3, None], dtype="Int64"), "size_gib": [1.5, float("nan")],
                          "started_at": [pd.Timestamp("2026-11-09 08:00"), pd.NaT]})
    shown = html.table(frame)
    assert shown.headers == ["VMs", "Size (GiB)", "Started at"]
    assert [[cell["text"] for cell in row] for row in shown.rows] == [["3", "1.50", "2026-11-09 08:00"], ["", "", ""]]


def test_write_report_round_trips_utf8(tiny_plan, tmp_path: Path) -> None:
    path = html.write_report(tiny_plan, tmp_path / "r.html", tz="UTC")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>churnplan report – churnplan store</title>" in text  # the en dash survives the round trip


def test_csv_headers_match_golden_and_cells_are_neutralised(tiny_plan, tmp_path: Path) -> None:
    paths = csv_export.write_plan(tiny_plan, tmp_path)
    headers = {}
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        headers[path.name] = rows[0]
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row
                       if not _is_number(cell))
    _golden("csv_headers.json", headers)
    vms = (tmp_path / "vms.csv").read_text(encoding="utf-8")
    assert "'" + tiny_estate.FORMULA_NAME.replace('"', '""') in vms


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
