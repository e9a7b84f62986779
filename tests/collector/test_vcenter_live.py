"""The live collector against a real vCenter simulator: inventory, samples, idempotence, resume, TLS, secrets."""

from __future__ import annotations

import gzip
import io
import time
from datetime import datetime, timedelta, UTC

import numpy as np
import pandas as pd
import pytest
from pyVmomi import vim
from rich.console import Console

from churnplan.core import sample_layout, store
from churnplan.ingest.vcenter import CollectOptions, Collector
from churnplan.ingest.vcenter_perf import aligned_end
from churnplan.ingest.vcenter_session import Backoff, Credentials

pytestmark = pytest.mark.vcsim

GIB_IN_KB = 1024 ** 2


def _collector(sim, db, password, **kw) -> tuple[Collector, io.StringIO]:
    out = io.StringIO()
    clock = kw.pop("clock", None)
    options = CollectOptions(server=sim.host, port=sim.port, credentials=Credentials("collector", password), db=db,
                             insecure=True, backoff=Backoff(0.2, 1.0, 5), **kw)
    return Collector(options, Console(file=out, width=200), clock=clock), out


def _read(db, sql, params=()):
    con = store.connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def _add_disks(sim) -> str:
    """Give DC0_H0_VM1 a second SCSI disk, a SATA disk and an NVMe disk, as a user would in vSphere."""
    si = sim.connect()
    content = si.RetrieveContent()
    vm = content.searchIndex.FindByInventoryPath("DC0/vm/DC0_H0_VM1")
    dev = vim.vm.device
    scsi = next(d for d in vm.config.hardware.device if isinstance(d, dev.VirtualSCSIController))

    def disk(key, controller, unit, gib, mode="persistent"):
        backing = dev.VirtualDisk.FlatVer2BackingInfo(diskMode=mode, fileName="", thinProvisioned=True)
        return dev.VirtualDeviceSpec(operation="add", fileOperation="create", device=dev.VirtualDisk(
            key=key, controllerKey=controller, unitNumber=unit, capacityInKB=gib * GIB_IN_KB, backing=backing))

    task = vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[
        disk(-1, scsi.key, 1, 10, "independent_persistent"),
        dev.VirtualDeviceSpec(operation="add", device=dev.VirtualAHCIController(key=-2, busNumber=0)),
        disk(-3, -2, 0, 2),
        dev.VirtualDeviceSpec(operation="add", device=dev.VirtualNVMEController(key=-4, busNumber=0)),
        disk(-5, -4, 2, 3),
    ]))
    while task.info.state in ("queued", "running"):
        time.sleep(0.05)
    assert task.info.state == "success", task.info.error
    return vm._moId


def test_inventory_matches_what_the_simulator_holds(start_vcsim, collect_cli, tmp_db):
    sim = start_vcsim()
    vm1 = _add_disks(sim)
    run = collect_cli(sim, tmp_db, "--once", "--insecure")
    assert run.returncode == 0, run.output

    vms = _read(tmp_db, "SELECT * FROM vms").set_index("vm_id")
    assert len(vms) == sim.machines == 4
    content = sim.connect().RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    for vm in view.view:
        row = vms.loc[vm._moId]
        parent = vm.runtime.host.parent
        cluster = parent.name if isinstance(parent, vim.ClusterComputeResource) else None
        assert (row["name"], row["uuid"], row["host"], row["firmware"], row["power_state"]) == (
            vm.name, vm.config.uuid, vm.runtime.host.name, vm.config.firmware, vm.runtime.powerState)
        assert (None if pd.isna(row["cluster"]) else row["cluster"]) == cluster
        assert (row["num_cpu"], row["memory_mb"], row["num_nics"]) == (vm.config.hardware.numCPU,
                                                                        vm.config.hardware.memoryMB, 1)
    assert vms["cluster"].notna().sum() == 2  # vcsim puts two VMs on the standalone host, two in cluster DC0_C0

    disks = _read(tmp_db, "SELECT * FROM disks")
    got = {(r.vm_id, r.instance): (r.controller, r.capacity_gb, r.disk_mode, r.is_os_disk)
           for r in disks.itertuples()}
    one_mib = 1024 / GIB_IN_KB  # vcsim's own disks are 1024 KB
    expected = {(vm_id, "scsi0:0"): ("pvscsi", one_mib, "persistent", True) for vm_id in vms.index}
    expected |= {(vm1, "scsi0:1"): ("pvscsi", 10.0, "independent_persistent", False),
                 (vm1, "sata0:0"): ("sata", 2.0, "persistent", False),
                 (vm1, "nvme0:2"): ("nvme", 3.0, "persistent", False)}
    assert got == expected
    con = store.connect(tmp_db, read_only=True)
    assert sample_layout.recorded_extents(con) is not None   # left clustered for planning, as an import leaves it
    con.close()


def test_samples_land_once_per_window_and_resume_from_the_watermark(vcsim, tmp_db, vcsim_password):
    t = aligned_end(datetime.now(UTC), 20)
    first, _ = _collector(vcsim, tmp_db, vcsim_password, clock=lambda: t)
    s1 = first.run()
    assert first.limit == 6  # read from config.vpxd.stats.maxQueryMetrics, so 16 metrics took 3 queries

    samples = _read(tmp_db, "SELECT * FROM samples")
    assert s1.added == len(samples) > 0 and (samples["interval_s"] == 20).all()
    hour = {t - timedelta(seconds=20 * k) for k in range(180)}  # the hour of 20 s samples vCenter keeps
    for (vm_id, instance), group in samples.groupby(["vm_id", "instance"]):
        stamps = set(pd.to_datetime(group["ts"]).dt.tz_localize("UTC"))
        assert hour <= stamps <= hour | {t - timedelta(hours=1)}, (vm_id, instance)
    assert samples["write_kbps"].notna().all()

    again, _ = _collector(vcsim, tmp_db, vcsim_password, clock=lambda: t)
    s2 = again.run()
    assert s2.added == 0  # everything up to t is behind the watermark: nothing to ask for, nothing added

    later, _ = _collector(vcsim, tmp_db, vcsim_password, clock=lambda: t + timedelta(minutes=1))
    s3 = later.run()
    assert s3.added == 4 * 3  # three new 20 s samples for each of the four disks, nothing before the watermark
    assert s3.offered - s3.added in (0, 4)  # vcsim also repeats the sample at the watermark; it is not stored twice

    runs = _read(tmp_db, "SELECT status, samples_added FROM collection_runs ORDER BY started_at")
    assert runs["status"].tolist() == ["ok"] * 3
    assert runs["samples_added"].tolist() == [s1.added, 0, 12]
    marks = _read(tmp_db, "SELECT last_ts FROM watermarks WHERE interval_s = 20")
    assert (pd.to_datetime(marks["last_ts"]) == (t + timedelta(minutes=1)).replace(tzinfo=None)).all()


def test_write_rates_are_the_recorded_series_vcsim_replays(vcsim, tmp_db, vcsim_password, shared_datasets):
    recorded = pd.read_csv(gzip.open(shared_datasets / "vcsim-recorded-perf/govmomi_vcsim_metric_data_long.csv.gz"))
    points = recorded.query("source == 'vpx' and entity == 'Vm' and counter == 'virtualDisk.write.average'") \
        .sort_values("sample_index")["value"].to_numpy()
    t = aligned_end(datetime.now(UTC), 20)
    collector, _ = _collector(vcsim, tmp_db, vcsim_password, clock=lambda: t)
    collector.run()
    stored = _read(tmp_db, "SELECT ts, write_kbps FROM samples")
    # vcsim gives the sample `tick` steps before the end recorded point (start // 20 + tick) mod 100, +-20 % noise
    ticks = ((t.replace(tzinfo=None) - pd.to_datetime(stored["ts"])) / pd.Timedelta(seconds=20)).astype(int)
    offset = int((t - timedelta(hours=1)).timestamp()) // 20
    ratio = stored["write_kbps"].to_numpy() / points[(offset + ticks.to_numpy()) % len(points)]
    assert np.median(ratio) == pytest.approx(1, abs=0.05)
    assert (np.abs(ratio - 1) < 6 * 0.2).all()


def test_a_second_cli_run_stores_only_newer_samples(vcsim, collect_cli, tmp_db):
    first = collect_cli(vcsim, tmp_db, "--once", "--insecure")
    assert first.returncode == 0, first.output
    stored = len(_read(tmp_db, "SELECT ts FROM samples"))
    marks = _read(tmp_db, "SELECT vm_id, last_ts FROM watermarks WHERE interval_s = 20")
    second = collect_cli(vcsim, tmp_db, "--duration", "0", "--insecure")
    assert second.returncode == 0, second.output
    after = _read(tmp_db, "SELECT vm_id, ts FROM samples").merge(marks, on="vm_id")
    newer = int((after["ts"] > after["last_ts"]).sum())
    runs = _read(tmp_db, "SELECT samples_added, samples_skipped FROM collection_runs ORDER BY started_at")
    assert len(after) == stored + newer and runs["samples_added"].tolist() == [stored, newer]
    assert newer <= 4 * 3  # the runs are seconds apart: at most a couple of new 20 s boundaries per disk


def test_a_simulator_restarted_mid_collection_loses_nothing(start_vcsim, collect_cli, tmp_db):
    sim = start_vcsim()
    proc = collect_cli(sim, tmp_db, "--duration", "24s", "--poll", "2s", "--insecure", background=True)
    try:
        time.sleep(5)
        sim.stop()
        time.sleep(3)
        sim.start()  # same port, fresh process: old session gone, new certificate
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ended = datetime.now(UTC)
    assert proc.returncode == 0, output
    assert "logged in to 127.0.0.1 again" in output

    samples = _read(tmp_db, "SELECT vm_id, instance, ts FROM samples WHERE interval_s = 20")
    samples["ts"] = pd.to_datetime(samples["ts"]).dt.tz_localize("UTC")
    for key, group in samples.groupby(["vm_id", "instance"]):
        steps = group["ts"].sort_values().diff().dropna()
        assert (steps == pd.Timedelta(seconds=20)).all(), f"{key}: gap or duplicate in the 20 s series"
        assert group["ts"].max() >= aligned_end(ended, 20) - timedelta(seconds=40), f"{key}: stopped early"
    assert len(samples.groupby(["vm_id", "instance"])) == 4
    run = _read(tmp_db, "SELECT status FROM collection_runs")
    assert run["status"].tolist() == ["ok"]


def test_tls_is_verified_unless_insecure(vcsim, collect_cli, tmp_db):
    run = collect_cli(vcsim, tmp_db, "--once")
    assert run.returncode == 2
    assert "TLS certificate not trusted" in run.output and "--insecure" in run.output
    assert _read(tmp_db, "SELECT count(*) AS n FROM vms")["n"][0] == 0
    failed = _read(tmp_db, "SELECT status, detail FROM collection_runs")
    assert failed["status"].tolist() == ["failed"] and "TLS" in failed["detail"][0]


def test_the_password_is_never_stored_or_shown(vcsim, collect_cli, tmp_path, vcsim_password):
    db = tmp_path / "secret-check.duckdb"
    outputs = [collect_cli(vcsim, db, "--once", "--insecure", "--backfill", "--spool", str(tmp_path / "spool")),
               collect_cli(vcsim, db, "--once"),  # TLS failure path
               collect_cli(vcsim, db, "--once", "--insecure", password=vcsim_password + "-wrong")]
    assert [o.returncode for o in outputs] == [0, 2, 2]
    assert "login refused for user 'collector'" in outputs[2].output
    for out in outputs:
        assert vcsim_password not in out.output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".json" for p in files)  # spool, status
    for path in files:
        assert vcsim_password.encode() not in path.read_bytes(), path


def test_backfill_pulls_the_300s_history(vcsim, collect_cli, tmp_db):
    run = collect_cli(vcsim, tmp_db, "--once", "--insecure", "--backfill")
    assert run.returncode == 0, run.output
    hist = _read(tmp_db, "SELECT vm_id, instance, ts FROM samples WHERE interval_s = 300")
    per_disk = hist.groupby(["vm_id", "instance"]).size()
    assert len(per_disk) == 4 and (per_disk >= 24 * 12).all()  # the day the 'Past day' interval keeps
    assert (pd.to_datetime(hist["ts"]).dt.second == 0).all() and (pd.to_datetime(hist["ts"]).dt.minute % 5 == 0).all()
    assert _read(tmp_db, "SELECT stats_level FROM vcenters")["stats_level"].tolist() == [2]


def test_backfill_warns_when_the_statistics_level_is_too_low(start_vcsim, collect_cli, tmp_db):
    sim = start_vcsim("-historical-level", "1")
    run = collect_cli(sim, tmp_db, "--once", "--insecure", "--backfill")
    assert run.returncode == 0, run.output
    assert "is 1; vCenter keeps per-disk counters only at level 2" in " ".join(run.output.split())
    assert "up to 64 metrics per query" in run.output  # no maxQueryMetrics setting: the documented default
    assert _read(tmp_db, "SELECT count(*) AS n FROM samples WHERE interval_s = 300")["n"][0] == 0


def test_vm_list_limits_collection_and_names_the_missing(vcsim, collect_cli, tmp_db, tmp_path):
    names = tmp_path / "vms.txt"
    names.write_text("# the one to watch\nDC0_H0_VM0\n\nno-such-vm\n")
    run = collect_cli(vcsim, tmp_db, "--once", "--insecure", "--vm-list", str(names))
    assert run.returncode == 0, run.output
    assert "no-such-vm" in run.output
    assert _read(tmp_db, "SELECT name FROM vms")["name"].tolist() == ["DC0_H0_VM0"]
    assert _read(tmp_db, "SELECT DISTINCT vm_id FROM samples")["vm_id"].nunique() == 1
