"""`plan --engine spark` on local[2] gives the default engine's plan: on the sample estate exported to the
Parquet layout, with the default options and with a given link, excluded disks and a window; and on a spool
a collector wrote against the vCenter simulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnplan.cli import app

from plan_parity import NOT_ON_SPARK, plan_differences
from vcsim_support import run_collect

pytestmark = pytest.mark.spark
RETAIL_PRICES = Path(__file__).resolve().parents[2] / "analytics" / "data" / "retail-prices-example.json"


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def sample_layout(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample estate's store exported to the Parquet layout (`export samples --parquet`)."""
    folder = tmp_path_factory.mktemp("sample-layout") / "parquet"
    _cli("export", "samples", "--db", str(sample_store_master), "--parquet", str(folder))
    return folder


@pytest.fixture(scope="module")
def gappy(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample estate with holes (one VM silent for 30 h, every ~40th sample gone, one VM without read
    counters) as a store and as the Parquet layout, where one day's file is written again later (its samples
    repeat: each counts once)."""
    folder = tmp_path_factory.mktemp("gappy")
    db = folder / "gappy.duckdb"
    shutil.copy(sample_store_master, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM samples WHERE vm_id = (SELECT min(vm_id) FROM samples) "
                "AND ts BETWEEN TIMESTAMP '2026-11-12 00:00' AND TIMESTAMP '2026-11-13 06:00'")
    con.execute("DELETE FROM samples WHERE hash(vm_id, instance, ts) % 40 = 0")
    con.execute("UPDATE samples SET read_iops = NULL, read_kbps = NULL WHERE vm_id = (SELECT max(vm_id) FROM samples)")
    con.close()
    layout = folder / "parquet"
    _cli("export", "samples", "--db", str(db), "--parquet", str(layout))
    day = sorted((layout / "samples").glob("vcenter=*/day=2026-11-15/part-*.parquet"))[0]
    shutil.copy(day, day.with_name(f"part-{int(day.name.split('-')[1]) + 1}-{'0' * 32}.parquet"))
    return db, layout


def _both(db: Path, layout: Path, out: Path, *options: str) -> tuple[Path, Path]:
    """Plans of the store (default engine) and of the layout (Spark) with `options`. Each plans in the estate's
    time zone: the store's, and the layout's estate.json that `export samples` wrote from it."""
    default, spark = out / "default", out / "spark"
    _cli("plan", "--db", str(db), "--out", str(default), *options)
    _cli("plan", "--engine", "spark", "--samples", str(layout), "--master", "local[2]", "--out", str(spark), *options)
    return default, spark


def test_the_sample_estate_plans_the_same_on_spark(spark, sample_store_master, sample_layout, tmp_path):
    default, on_spark = _both(sample_store_master, sample_layout, tmp_path)
    assert plan_differences(default, on_spark, NOT_ON_SPARK) == []
    assert json.loads((on_spark / "summary.json").read_text())["config"]["timezone"] == "Europe/Amsterdam"


def test_a_given_link_excluded_disks_a_window_and_cost_options_plan_the_same_on_spark(spark, sample_store_master,
                                                                                     sample_layout, tmp_path):
    options = ("--bandwidth", "400", "--exclude-disks", "sql0*/scsi0:1", "--start", "2026-11-10",
               "--end", "2026-11-20T12:00", "--rpo", "30", "--outage", "4h", "--retention", "3d",
               "--app-consistent-hours", "4", "--standard-disks", "ssd", "--prices", str(RETAIL_PRICES))
    default, on_spark = _both(sample_store_master, sample_layout, tmp_path, *options)
    assert plan_differences(default, on_spark, NOT_ON_SPARK) == []
    vms = pd.read_csv(on_spark / "vms.csv")
    assert vms["fair_share_compliance_pct"].notna().any()   # the estate's fair share ran on every VM's bytes
    assert pd.read_csv(on_spark / "disks.csv")["excluded"].any()
    summary = json.loads((on_spark / "summary.json").read_text())
    assert summary["prices_source"].endswith("retail-prices-example.json") and summary["snapshot_gib"] > 0
    assert [r["scope"] for r in summary["outage_catchup"]][0] == "estate" and len(summary["outage_catchup"]) > 1


def test_gaps_repeated_samples_a_throttle_an_outage_and_classic_servers_plan_the_same_on_spark(spark, gappy,
                                                                                                tmp_path):
    options = ("--work-hours", "09:00-18:00", "--work-mbps", "300", "--offhours-mbps", "600", "--outage", "2h",
               "--architecture", "classic", "--percentile", "99")
    default, on_spark = _both(*gappy, tmp_path, *options)
    assert plan_differences(default, on_spark, NOT_ON_SPARK) == []
    summary = json.loads((on_spark / "summary.json").read_text())
    telemetry = summary["telemetry"]
    assert telemetry["coverage_pct"] < 98 and telemetry["disks_with_long_gaps"] >= 1
    assert telemetry["disks_missing_read_counters"] >= 1 and telemetry["confidence"] < 5
    assert summary["coverage"]["left_out"] and summary["azure_cores_by_family"]
    assert len(summary["outage_catchup"]) == 1 + summary["process_servers"]
    assert pd.read_csv(on_spark / "vm_sizes.csv")["iops"].notna().all()   # sized from the profiles' peaks


@pytest.mark.vcsim
def test_a_spool_a_collector_wrote_against_vcsim_plans_the_same_on_spark(spark, vcsim, tmp_path):
    db, spool = tmp_path / "site.duckdb", tmp_path / "spool"
    run = run_collect(vcsim, db, "--once", "--insecure", "--backfill", "--spool", str(spool))
    assert run.returncode == 0, run.output
    assert list(spool.glob("samples/vcenter=*/day=*/part-*.parquet"))
    default, on_spark = _both(db, spool, tmp_path)
    assert plan_differences(default, on_spark, NOT_ON_SPARK) == []
    assert len(pd.read_csv(on_spark / "vms.csv")) == vcsim.machines


@pytest.fixture(scope="module")
def two_vcenters(sample_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A layout of two vCenters: the sample estate, and a copy of it as vc-b with five of its days; and the store
    `import parquet` makes of it."""
    root = tmp_path_factory.mktemp("two-vcenters")
    layout = root / "parquet"
    shutil.copytree(sample_layout, layout)
    for kind in ("vms", "disks", "vcenters"):
        shutil.copytree(next((layout / kind).glob("vcenter=*")), layout / kind / "vcenter=vc-b")
    for day in sorted((layout / "samples").glob("vcenter=*/day=2026-11-1[0-4]")):
        shutil.copytree(day, layout / "samples" / "vcenter=vc-b" / day.name)
    db = root / "two.duckdb"
    _cli("import", "parquet", str(layout), "--db", str(db))
    return db, layout


def test_one_vcenter_of_a_layout_holding_two_plans_the_same_on_spark(spark, two_vcenters, tmp_path):
    default, on_spark = _both(*two_vcenters, tmp_path, "--vcenter", "vc-b")
    assert plan_differences(default, on_spark, NOT_ON_SPARK) == []
    summary = json.loads((on_spark / "summary.json").read_text())
    assert summary["config"]["vcenters"] == ["vc-b"] and summary["vms"] == 60 and summary["days_profiled"] == 5.0
    assert set(pd.read_csv(on_spark / "vms.csv")["vcenter"]) == {"vc-b"}


def test_an_unknown_vcenter_is_one_error_line_naming_those_the_layout_holds(spark, two_vcenters, tmp_path):
    result = CliRunner().invoke(app, ["plan", "--engine", "spark", "--samples", str(two_vcenters[1]),
                                      "--out", str(tmp_path / "out"), "--vcenter", "vc-zz"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'vc-zz'" in result.output and "it holds vc-b, vcsa-sample.corp.example" in result.output


def test_a_folder_without_the_layout_is_one_error_line(spark, tmp_path):
    result = CliRunner().invoke(app, ["plan", "--engine", "spark", "--samples", str(tmp_path / "nothing"),
                                      "--out", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "no Parquet vms here" in result.output and "Traceback" not in result.output
