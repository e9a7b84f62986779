"""`churnplan import powercli|rvtools` from the command line: summaries, idempotence, red errors with exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from churnplan.core import store
from churnplan.cli import app

from importers_support import DE_FILE, RVTOOLS_CSV, US_FILE

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_powercli_import_reports_what_it_added_and_reimport_adds_nothing(tmp_db: Path):
    first = _run("import", "powercli", US_FILE, DE_FILE, "--db", tmp_db, "--timezone", "Europe/Berlin")
    assert first.exit_code == 0, first.output
    assert "18 rows -> 6 new samples" in _text(first) and "6 rows -> 3 new samples" in _text(first)

    again = _run("import", "powercli", US_FILE, "--db", tmp_db, "--timezone", "Europe/Berlin")
    assert again.exit_code == 0, again.output
    assert "0 new samples (all already stored" in _text(again)
    con = store.connect(tmp_db, read_only=True)
    assert store.counts(con).samples == 9
    assert con.execute("SELECT count(*) FROM collection_runs WHERE status = 'ok'").fetchone()[0] == 3
    con.close()


def test_powercli_window_is_shown_on_the_local_clock(tmp_db: Path):
    # the file's 3:15 and 3:20 PM New York times are stored as 20:15 and 20:20 UTC and shown back as written
    result = runner.invoke(app, ["import", "powercli", str(US_FILE), "--db", str(tmp_db), "--timezone",
                                 "America/New_York"], env={"TZ": "America/New_York"})
    assert result.exit_code == 0, result.output
    assert "2026-11-24 15:15 .. 2026-11-24 15:20 America/New_York" in _text(result)


def test_bad_file_prints_file_line_and_field_and_exits_2_without_traceback(tmp_db: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text(US_FILE.read_text().replace('"40"', '"-40"', 1))
    result = _run("import", "powercli", US_FILE, bad, "--db", tmp_db)

    assert result.exit_code == 2
    assert "bad.csv, line 4, field Value: negative value '-40'" in _text(result)
    assert "1 file(s) before it were imported" in _text(result)
    assert "Traceback" not in result.output
    con = store.connect(tmp_db, read_only=True)
    assert store.counts(con).samples == 6  # the good file stays
    con.close()


def test_ambiguous_dates_are_resolved_by_the_dayfirst_flag(tmp_db: Path, tmp_path: Path):
    ambiguous = tmp_path / "amb.csv"
    ambiguous.write_text(US_FILE.read_text().replace("11/24/2026", "11/10/2026"))
    refused = _run("import", "powercli", ambiguous, "--db", tmp_db)
    assert refused.exit_code == 2 and "ambiguous" in _text(refused)
    accepted = _run("import", "powercli", ambiguous, "--db", tmp_db, "--dayfirst")
    assert accepted.exit_code == 0, accepted.output
    assert "timestamps read as day/month/year" in _text(accepted)


def test_unknown_timezone_exits_2(tmp_db: Path):
    result = _run("import", "powercli", US_FILE, "--db", tmp_db, "--timezone", "Nowhere/Land")
    assert result.exit_code == 2 and "unknown time zone" in _text(result)


def test_rvtools_import_tables_what_did_not_match(tmp_db: Path):
    assert _run("import", "powercli", DE_FILE, "--db", tmp_db).exit_code == 0   # web01: telemetry only
    result = _run("import", "rvtools", *RVTOOLS_CSV, "--db", tmp_db)
    assert result.exit_code == 0, result.output
    text = _text(result)
    assert "3 VMs, 6 disks (from vDisk); 1 templates skipped" in text
    assert "Inventory without telemetry" in text and "fs03" in text and "app01" in text
    assert "Telemetry without inventory" in text and "web01 (powercli/vm-101)" in text


def test_rvtools_bad_input_exits_2(tmp_db: Path):
    result = _run("import", "rvtools", RVTOOLS_CSV[1], "--db", tmp_db)
    assert result.exit_code == 2
    assert "no vInfo sheet" in _text(result) and "Traceback" not in result.output


def test_an_import_leaves_the_samples_in_planning_order(tmp_db: Path):
    from churnplan.core import sample_reader
    result = _run("import", "powercli", US_FILE, DE_FILE, "--db", tmp_db, "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    con = store.connect(tmp_db, read_only=True)
    intervals = [int(i) for (i,) in con.execute("SELECT DISTINCT interval_s FROM samples").fetchall()]
    assert len(intervals) == 2 and all(sample_reader.SampleReader(con, i).clustered for i in intervals)
    con.close()
