"""--vcenter plans only that vCenter's VMs: the plan of a store holding two vCenters, filtered to one, is the plan
of a store holding that one alone (block-wise engine, in-memory load paths, CLI), and an unknown name is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnplan.analytics.config import PlanConfig
from churnplan.cli import app
from churnplan.core import store
from churnplan.engines.store import plan_from_store

FRAMES = ["vms", "disks", "process_servers", "rpo", "estate_series", "lag_series", "daily_lag",
          "initial_replication", "cost", "compliance_curve"]
START = pd.Timestamp("2026-11-09 00:00")
runner = CliRunner()


def _vcenter(vc: str, n_vms: int, days: int, interval_s: int, scale: float, seed: int) -> tuple[pd.DataFrame, ...]:
    """vms, disks, samples of one vCenter: two disks per VM, a daily sine with noise and a few holes."""
    rng = np.random.default_rng(seed)
    vms = pd.DataFrame({"vcenter": vc, "vm_id": [f"vm-{i}" for i in range(n_vms)],
                        "name": [f"{vc}-app{i}" for i in range(n_vms)], "num_cpu": 2, "memory_mb": 4096,
                        "guest_os": "Ubuntu Linux (64-bit)", "firmware": "bios", "power_state": "poweredOn"})
    disks = pd.DataFrame([{"vcenter": vc, "vm_id": vm, "instance": f"scsi0:{k}", "label": f"Hard disk {k + 1}",
                           "capacity_gb": 100.0 * (k + 1), "used_gb": 40.0, "is_os_disk": k == 0}
                          for vm in vms["vm_id"] for k in range(2)])
    ts = pd.date_range(START + pd.Timedelta(seconds=interval_s), periods=days * 86400 // interval_s,
                       freq=f"{interval_s}s")
    hours = ((ts - START).total_seconds().to_numpy() / 3600.0) % 24
    parts = []
    for j, (vm, inst) in enumerate(disks[["vm_id", "instance"]].itertuples(index=False)):
        write = scale * (j + 1) * (1.2 + np.sin(hours / 24 * 2 * np.pi)) * rng.uniform(0.8, 1.2, ts.size)
        keep = rng.random(ts.size) > 0.02
        parts.append(pd.DataFrame({"vcenter": vc, "vm_id": vm, "instance": inst, "ts": ts[keep],
                                   "interval_s": interval_s, "write_kbps": write[keep], "read_kbps": write[keep] / 2,
                                   "write_iops": write[keep] / 8, "read_iops": write[keep] / 16}))
    return vms, disks, pd.concat(parts, ignore_index=True)


def _write(path: Path, *estates: tuple[pd.DataFrame, ...]) -> Path:
    con = store.connect(path)
    for vms, disks, samples in estates:
        store.upsert_vms(con, vms)
        store.upsert_disks(con, disks)
        store.insert_samples(con, samples)
    con.close()
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> tuple[Path, Path]:
    """(both vCenters, vc-a alone). vc-b is sampled longer at 60 s too, so over the whole store the default
    interval would be 60 s: filtered to vc-a it must be vc-a's own, 300 s."""
    a = _vcenter("vc-a", 4, 3, 300, 200.0, 1)
    b = _vcenter("vc-b", 3, 4, 300, 900.0, 2)
    b_fast = _vcenter("vc-b", 3, 5, 60, 900.0, 3)
    root = tmp_path_factory.mktemp("vcenters")
    return _write(root / "both.duckdb", a, b, b_fast), _write(root / "a.duckdb", a)


def _same_plan_but_the_filter(filtered, alone) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(filtered, name), getattr(alone, name), check_exact=True, obj=name)
    pd.testing.assert_frame_equal(filtered.bandwidth.frame, alone.bandwidth.frame, check_exact=True)
    sf, sa = filtered.summary.to_dict(), alone.summary.to_dict()
    sf.pop("generated_utc"), sa.pop("generated_utc")
    assert sf["config"].pop("vcenters") == ["vc-a"] and sa["config"].pop("vcenters") == []
    assert sf["telemetry"]["confidence"] in range(1, 6)
    assert sf == sa


@pytest.mark.parametrize("rows_per_block", [2_000_000, 3_000])
def test_the_block_wise_plan_of_one_vcenter_is_the_plan_of_a_store_holding_it_alone(stores, rows_per_block):
    both, alone = stores
    con = store.connect(both, read_only=True)
    filtered = plan_from_store(con, PlanConfig(vcenters=("vc-a",)), rows_per_block=rows_per_block)
    con.close()
    con = store.connect(alone, read_only=True)
    reference = plan_from_store(con, PlanConfig(), rows_per_block=rows_per_block)
    con.close()
    assert set(filtered.vms["vcenter"]) == {"vc-a"} and filtered.summary.interval_s == 300
    _same_plan_but_the_filter(filtered, reference)


def _cli(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_plan_vcenter_on_the_cli_writes_only_that_vcenters_vms(stores, tmp_path):
    both, alone = stores
    r = _cli("plan", "--db", str(both), "--out", str(tmp_path / "f"), "--vcenter", "vc-a")
    assert r.exit_code == 0, r.output
    assert "vc-a only (--vcenter)" in r.output
    assert _cli("plan", "--db", str(alone), "--out", str(tmp_path / "a")).exit_code == 0
    assert set(pd.read_csv(tmp_path / "f" / "vms.csv")["vcenter"]) == {"vc-a"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f" / "disks.csv"), pd.read_csv(tmp_path / "a" / "disks.csv"))
    f, a = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("f", "a"))
    assert f["config"].pop("vcenters") == ["vc-a"] and a["config"].pop("vcenters") == []
    f.pop("generated_utc"), a.pop("generated_utc")
    assert f == a


def test_cost_reads_the_vcenters_samples_in_memory_alike(stores, tmp_path):
    both, alone = stores
    r = _cli("cost", "--db", str(both), "--out", str(tmp_path / "f"), "--vcenter", "vc-a")
    assert r.exit_code == 0, r.output
    assert _cli("cost", "--db", str(alone), "--out", str(tmp_path / "a")).exit_code == 0
    assert json.loads((tmp_path / "f" / "cost.json").read_text()) == \
        json.loads((tmp_path / "a" / "cost.json").read_text())


def test_quality_of_one_vcenter_is_that_of_a_store_holding_it_alone(stores, tmp_path):
    both, alone = stores
    assert _cli("quality", "--db", str(both), "--out", str(tmp_path / "f"), "--vcenter", "vc-a").exit_code == 0
    assert _cli("quality", "--db", str(alone), "--out", str(tmp_path / "a")).exit_code == 0
    f, a = (json.loads((tmp_path / d / "quality.json").read_text()) for d in ("f", "a"))
    assert f.pop("vcenters") == ["vc-a"] and a.pop("vcenters") == []
    assert f == a and f["interval_s"] == 300
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f" / "quality_disks.csv"),
                                  pd.read_csv(tmp_path / "a" / "quality_disks.csv"))


@pytest.mark.parametrize("command", [["plan", "--out", "OUT"], ["report", "--out", "OUT"], ["quality"],
                                     ["forecast", "--out", "OUT"], ["backtest", "--out", "OUT"]])
def test_an_unknown_vcenter_is_one_line_naming_those_the_store_holds(stores, tmp_path, command):
    both, _ = stores
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    r = _cli(*args, "--db", str(both), "--vcenter", "vc-a", "--vcenter", "vc-zz")
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "'vc-zz'" in lines[0] and "vc-a, vc-b" in lines[0], r.output


def test_the_report_names_the_vcenter_it_plans(stores, tmp_path):
    both, _ = stores
    r = _cli("report", "--db", str(both), "--out", str(tmp_path), "--vcenter", "vc-a", "--tz", "UTC")
    assert r.exit_code == 0, r.output
    html = (tmp_path / "churnplan-report.html").read_text(encoding="utf-8")
    assert "vCenter vc-a only" in html and "vc-b-app" not in html
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["vcenters"] == ["vc-a"]
