"""The estate's time zone: recorded by `init --timezone`, a Get-Stat import in a local zone, or the sample estate;
the report defaults to it (#13)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core import store

runner = CliRunner()


def _zone(db: Path) -> str | None:
    con = store.connect(db, read_only=True)
    try:
        return store.estate_timezone(con)
    finally:
        con.close()


def test_init_records_the_estate_time_zone(tmp_db: Path) -> None:
    result = runner.invoke(app, ["init", "--db", str(tmp_db), "--timezone", "Europe/Amsterdam"])
    assert result.exit_code == 0, result.output
    assert "estate time zone Europe/Amsterdam" in result.output and _zone(tmp_db) == "Europe/Amsterdam"
    bad = runner.invoke(app, ["init", "--db", str(tmp_db), "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 2 and "--timezone" in bad.output and _zone(tmp_db) == "Europe/Amsterdam"


def test_the_sample_estate_records_its_zone_and_the_report_defaults_to_it(sample_store: Path, tmp_path: Path) -> None:
    assert _zone(sample_store) == "Europe/Amsterdam"
    result = runner.invoke(app, ["report", "--db", str(sample_store), "--out", str(tmp_path), "--bandwidth", "400"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "churnplan-report.html").read_text(encoding="utf-8")
    assert "(Europe/Amsterdam)" in page


def test_plan_counts_days_in_the_estate_zone_unless_told_otherwise(sample_store: Path, tmp_path: Path) -> None:
    import json

    for args, zone in (([], "Europe/Amsterdam"), (["--timezone", "UTC"], "UTC")):
        out = tmp_path / zone.replace("/", "-")
        result = runner.invoke(app, ["plan", "--db", str(sample_store), "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "summary.json").read_text())["config"]["timezone"] == zone
    # an explicit --timezone UTC is the reader's choice, not "no choice": the report keeps it
    result = runner.invoke(app, ["report", "--db", str(sample_store), "--out", str(tmp_path / "r"),
                                 "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert "(UTC)" in (tmp_path / "r" / "churnplan-report.html").read_text(encoding="utf-8")
