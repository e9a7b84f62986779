"""`churnplan report` and `churnplan demo --no-dashboard` end to end, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.export import excel

runner = CliRunner()


def said(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


EXPECTED = {"churnplan-report.xlsx", "churnplan-report.html", "vms.csv", "disks.csv", "process_servers.csv",
            "bandwidth.csv", "rpo.csv", "vm_sizes.csv", "cores_by_family.csv", "cache_accounts.csv", "cost.csv",
            "summary.json"}


def test_report_writes_workbook_html_and_csvs(tiny_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "--db", str(tiny_store), "--out", str(out), "--bandwidth", "12",
                                 "--rpo", "30", "--tz", "Europe/Amsterdam"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EXPECTED
    assert [ws.title for ws in openpyxl.load_workbook(out / "churnplan-report.xlsx").worksheets] == list(excel.SHEETS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["bandwidth_mbps"] == 12 and summary["config"]["rpo_min"] == 30
    assert summary["config"]["timezone"] == "Europe/Amsterdam"  # days are counted in the zone the report shows
    assert "Replication lag at 12 Mbps" in (out / "churnplan-report.html").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert str(out / name) in result.stdout


def test_report_with_a_throttle_schedule(tiny_store: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(tiny_store), "--out", str(tmp_path), "--work-hours",
                                 "08:00-17:00", "--work-mbps", "5", "--offhours-mbps", "40",
                                 "--timezone", "Europe/Amsterdam"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "churnplan-report.html").read_text(encoding="utf-8")
    assert ("throttle of 5 Mbps in work hours (08:00-17:00 Mon,Tue,Wed,Thu,Fri, Europe/Amsterdam) and 40 Mbps "
            "off-hours") in html
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["timezone"] == "Europe/Amsterdam"


@pytest.mark.parametrize("args,message", [
    (["--percentile", "0"], "percentile"),
    (["--architecture", "cloudy"], "--architecture 'cloudy'"),
    (["--tz", "Mars/Olympus"], "Mars/Olympus"),
    (["--work-mbps", "5"], "--offhours-mbps"),
    (["--start", "yesterday"], "--start 'yesterday'"),
])
def test_report_rejects_bad_options_clearly(tiny_store: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", "--db", str(tiny_store), "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in said(result)
    assert not (tmp_path / "churnplan-report.xlsx").exists()


def test_report_on_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no churnplan store here" in said(result)


def test_demo_without_dashboard_builds_store_plan_and_reports(tmp_path: Path) -> None:
    db, out = tmp_path / "demo.duckdb", tmp_path / "report"
    result = runner.invoke(app, ["demo", "--db", str(db), "--out", str(out), "--no-dashboard"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EXPECTED
    summary = json.loads((out / "summary.json").read_text())
    # one planned-bandwidth rule (#9): demo plans as plan and report do, at the 100 % figure
    assert summary["config"]["bandwidth_mbps"] is None
    assert summary["planned_mbps"] == pytest.approx(summary["required_mbps_100pct"])
    assert summary["compliance_pct"] == pytest.approx(100.0)
    assert "http://127.0.0.1" not in result.output  # no server was started
