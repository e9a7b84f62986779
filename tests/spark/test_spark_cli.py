"""`plan --engine`: options that cannot work are one plain error line (exit 2) before anything starts."""

from __future__ import annotations

from typer.testing import CliRunner

from churnplan.cli import app


def _plan(*args: str):
    return CliRunner().invoke(app, ["plan", *args], env={"COLUMNS": "200"})


def test_spark_needs_the_sample_layout(tmp_path):
    result = _plan("--engine", "spark", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "--engine spark needs --samples DIR_OR_URI" in result.output and "Traceback" not in result.output


def test_an_unknown_engine_is_named(tmp_path):
    result = _plan("--engine", "dask", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "--engine 'dask': use 'duckdb' or 'spark'" in result.output


def test_the_default_engine_refuses_spark_only_options(tmp_path):
    result = _plan("--samples", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "the duckdb engine reads --db" in result.output
    assert not (tmp_path / "out").exists()
