"""The CLI's foundation commands, run as a user would."""

from __future__ import annotations

from typer.testing import CliRunner

from churnplan.cli import app

runner = CliRunner()


def test_init_creates_an_empty_store(tmp_db):
    result = runner.invoke(app, ["init", "--db", str(tmp_db)])
    assert result.exit_code == 0, result.output
    assert tmp_db.exists()
    assert "0 VMs" in result.output


def test_samples_loads_then_adds_nothing_the_second_time(tmp_db):
    first = runner.invoke(app, ["samples", "--db", str(tmp_db)])
    assert first.exit_code == 0, first.output
    assert "60 VMs" in first.output
    second = runner.invoke(app, ["samples", "--db", str(tmp_db)])
    assert "(0 new)" in second.output


def test_samples_regenerate_writes_parquet(tmp_path):
    result = runner.invoke(app, ["samples", "--regenerate", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "samples_300s.parquet").exists()
    assert (tmp_path / "manifest.json").exists()


def test_help_lists_the_command_of_every_module():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = [line.split()[1] for line in result.output.splitlines() if line.startswith("│ ") and "  " in line[2:]]
    assert {"init", "samples", "collect", "import", "plan", "report"} <= set(listed)


def test_errors_show_paths_as_written_even_when_they_look_like_markup(tmp_path):
    db = tmp_path / "[bold]absent" / "store.duckdb"
    result = runner.invoke(app, ["init", "--db", str(db)], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert f"error: {db}: cannot open the store" in result.output
    assert "Traceback" not in result.output


def test_version_answers_without_a_command():
    from churnplan import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == __version__
