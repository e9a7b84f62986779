"""The estimate commands (quality, outage, cost, vm-sizes) run as a user would, on the sample estate's store."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnplan.analytics import pricing
from churnplan.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_db(sample_store_master, tmp_path_factory):
    path = tmp_path_factory.mktemp("estimates") / "sample.duckdb"
    shutil.copy(sample_store_master, path)
    return path


def _run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_help_lists_the_estimate_commands():
    result = _run("--help")
    assert result.exit_code == 0
    for command in ("quality", "outage", "cost", "vm-sizes"):
        assert f"│ {command} " in result.output


def test_quality_rates_the_sample_estate_and_writes_its_tables(sample_db, tmp_path):
    result = _run("quality", "--db", str(sample_db), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Telemetry confidence 5 of 5" in result.output
    summary = json.loads((tmp_path / "quality.json").read_text())
    assert summary["confidence"] == 5 and summary["days_covered"] == pytest.approx(14.0)
    assert len(pd.read_csv(tmp_path / "quality_vms.csv")) == 60


def test_quality_of_an_empty_store_is_a_plain_error(tmp_db):
    assert _run("init", "--db", str(tmp_db)).exit_code == 0
    result = _run("quality", "--db", str(tmp_db))
    assert result.exit_code == 2 and "no samples to judge" in result.output and "Traceback" not in result.output


def test_outage_catch_up_per_scope(sample_db, tmp_path):
    result = _run("outage", "--db", str(sample_db), "--outage", "4h", "--bandwidth", "800", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = {r["scope"]: r for r in json.loads((tmp_path / "outage.json").read_text())["outage_catchup"]}
    assert "estate" in rows and len(rows) >= 2
    estate = rows["estate"]
    assert estate["worst_catchup_h"] >= estate["typical_catchup_h"] > 0
    assert estate["cache_disk_gib"] == pytest.approx(estate["cache_gib"] / 0.7)
    starts = pd.read_csv(tmp_path / "outage_starts.csv")
    assert len(starts[starts["scope"] == "estate"]) == 14 * 24


def test_outage_refuses_a_duration_it_cannot_read(sample_db):
    result = _run("outage", "--db", str(sample_db), "--outage", "soon")
    assert result.exit_code == 2 and "--outage: 'soon' is not a duration" in result.output


def test_cost_from_a_retail_prices_export(sample_db, tmp_path):
    result = _run("cost", "--db", str(sample_db), "--prices", str(pricing.EXAMPLE_RETAIL_PRICES),
                  "--retention", "3d", "--app-consistent-hours", "4", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "EXAMPLE prices, not a quote" in result.output
    s = json.loads((tmp_path / "cost.json").read_text())
    assert s["prices_are_example"] and s["currency"] == "USD" and s["prices_date"] == "2026-11-30"
    assert s["retention_h"] == 72 and s["recovery_points"] == 25 + 35
    lines = pd.read_csv(tmp_path / "cost.csv")
    asr = lines[lines["meter"] == "VM Replicated to Azure"].iloc[0]
    assert asr["first_month"] == 0 and asr["monthly"] == asr["quantity"] * 25.0
    assert s["monthly_cost"] - s["first_month_cost"] == pytest.approx(asr["monthly"])
    assert lines["meter"].str.endswith("LRS Disk").sum() >= 2


@pytest.mark.parametrize(("args", "message"), [
    (("--retention", "16d"), "0 to 360 h"),
    (("--prices", "absent.json"), "absent.json: no such file"),
    (("--app-consistent-hours", "30"), "every 1 to 12 h"),
])
def test_cost_refuses_bad_input_in_one_line(sample_db, args, message):
    result = _run("cost", "--db", str(sample_db), *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_vm_sizes_and_cache_accounts(sample_db, tmp_path):
    result = _run("vm-sizes", "--db", str(sample_db), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    sized = pd.read_csv(tmp_path / "vm_sizes.csv")
    cores = pd.read_csv(tmp_path / "cores_by_family.csv")
    assert len(sized) > 0 and sized["azure_size"].notna().all()
    assert (sized["size_vcpus"] >= sized["vcpus"]).all() and (sized["size_memory_gib"] >= sized["memory_gib"]).all()
    assert cores["vcpus"].sum() == sized["size_vcpus"].sum()
    accounts = pd.read_csv(tmp_path / "cache_accounts.csv")
    assert accounts["vms"].sum() == len(sized) and (accounts["iops_pct"] <= 100).all()
