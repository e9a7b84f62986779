"""The collector's pure parts: query batching, pivoting, watermark starts, disk naming, option parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyVmomi import vim
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core.durations import parse_duration
from churnplan.ingest.vcenter import newer_than_marks
from churnplan.ingest.vcenter_inventory import disk_rows, read_vm_list
from churnplan.ingest.vcenter_perf import Request, aligned_end, pivot, plan_queries, start_times
from churnplan.ingest.vcenter_session import Backoff, Credentials, VCenterSession

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

requests_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.lists(st.sampled_from(["scsi0:0", "scsi0:1", "scsi1:3", "sata0:0", "nvme0:2",
                                                           "ide0:0"]), min_size=1, max_size=6, unique=True)),
    max_size=12, unique_by=lambda r: r[0])


@given(requests_strategy, st.integers(1, 70))
def test_queries_stay_under_the_metric_limit_and_ask_for_everything_once(raw, limit):
    requests = [Request(f"vm-{n}", T0 - timedelta(minutes=n), tuple(instances)) for n, instances in raw]
    counters = [171, 172, 173, 174]
    queries = plan_queries(requests, counters, limit)
    asked = []
    for specs in queries:
        assert 0 < sum(len(s.metrics) for s in specs) <= limit
        assert len({s.vm_id for s in specs}) == len(specs)  # one spec per VM per query
        for spec in specs:
            assert spec.start == T0 - timedelta(minutes=int(spec.vm_id[3:]))
            asked += [(spec.vm_id, instance, counter) for counter, instance in spec.metrics]
    wanted = [(r.vm_id, i, c) for r in requests for i in r.instances for c in counters]
    assert sorted(asked) == sorted(wanted)


def test_a_vm_with_more_metrics_than_the_limit_spans_queries():
    queries = plan_queries([Request("vm-1", T0, ("scsi0:0", "scsi0:1", "scsi0:2"))], [1, 2, 3, 4], 8)
    assert [[len(s.metrics) for s in q] for q in queries] == [[8], [4]]


def test_pivot_joins_counters_from_separate_queries_and_drops_empty_rows():
    ts = pd.Timestamp("2026-11-25 12:00:20", tz="UTC")
    long = pd.DataFrame({
        "vm_id": ["vm-1"] * 5, "instance": ["scsi0:0"] * 4 + ["scsi0:1"],
        "counter": ["write_kbps", "read_kbps", "write_iops", "read_iops", "write_kbps"],
        "ts": [ts] * 5, "value": [1024.0, 10.0, 64.0, np.nan, np.nan]})
    wide = pivot(long, "vc1", 20)
    assert wide.to_dict("records") == [{
        "vcenter": "vc1", "vm_id": "vm-1", "instance": "scsi0:0", "ts": ts, "interval_s": 20,
        "write_kbps": 1024.0, "read_kbps": 10.0, "write_iops": 64.0, "read_iops": pytest.approx(np.nan, nan_ok=True)}]


def test_queries_start_at_the_watermark_but_never_before_what_vcenter_keeps():
    end = T0
    marks = {"vm-new": None, "vm-recent": T0 - timedelta(minutes=15), "vm-stale": T0 - timedelta(hours=5),
             "vm-done": T0}
    starts, gaps = start_times(list(marks), {k: v for k, v in marks.items() if v}, end, 3600)
    assert starts == {"vm-new": T0 - timedelta(hours=1), "vm-recent": T0 - timedelta(minutes=15),
                      "vm-stale": T0 - timedelta(hours=1)}
    assert gaps == ["vm-stale"]


def test_sample_ends_fall_on_interval_boundaries():
    assert aligned_end(datetime(2026, 11, 25, 12, 3, 59, 900, tzinfo=UTC), 20) == \
        datetime(2026, 11, 25, 12, 3, 40, tzinfo=UTC)
    assert aligned_end(datetime(2026, 11, 25, 12, 4, 59, tzinfo=UTC), 300) == \
        datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("0", 0),
                                           ("1w", 604800), ("90", 90), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text, "--poll") == seconds


@pytest.mark.parametrize("text", ["", "7x", "-5m", "m", "1 day"])
def test_bad_durations_name_the_option(text):
    with pytest.raises(ValueError, match="--duration"):
        parse_duration(text, "--duration")


def _disk(key, controller, unit, gib, mode="persistent"):
    return vim.vm.device.VirtualDisk(
        key=key, controllerKey=controller, unitNumber=unit, capacityInBytes=gib * 1024 ** 3,
        deviceInfo=vim.Description(label=f"Hard disk {key}", summary=""),
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(diskMode=mode, fileName=""))


def test_disks_are_named_as_vcenter_counters_name_them():
    dev = vim.vm.device
    devices = [dev.VirtualLsiLogicSASController(key=1000, busNumber=1), dev.VirtualIDEController(key=200, busNumber=0),
               dev.VirtualNVMEController(key=31000, busNumber=0), dev.VirtualLsiLogicController(key=1001, busNumber=0),
               _disk(2001, 1000, 3, 100, "independent_persistent"), _disk(2002, 200, 1, 40), _disk(2003, 31000, 0, 8),
               _disk(2000, 1001, 0, 60), dev.VirtualVmxnet3(key=4000)]
    layout_disks = [vim.vm.FileLayoutEx.DiskLayout(key=2000, chain=[vim.vm.FileLayoutEx.DiskUnit(fileKey=[7, 8])])]
    layout_files = [vim.vm.FileLayoutEx.FileInfo(key=7, size=1024 ** 2, name="a.vmdk", type="diskDescriptor"),
                    vim.vm.FileLayoutEx.FileInfo(key=8, size=25 * 1024 ** 3, name="a-flat.vmdk", type="diskExtent")]
    rows = {r["instance"]: r for r in disk_rows("vc", "vm-9", devices, None, layout_disks, layout_files)}
    assert {k: (r["controller"], r["capacity_gb"], r["disk_mode"], r["is_os_disk"]) for k, r in rows.items()} == {
        "scsi1:3": ("lsilogic-sas", 100.0, "independent_persistent", False),
        "ide0:1": ("ide", 40.0, "persistent", False),
        "nvme0:0": ("nvme", 8.0, "persistent", False),
        "scsi0:0": ("lsilogic", 60.0, "persistent", True),  # no boot order: the first SCSI disk
    }
    assert rows["scsi0:0"]["used_gb"] == pytest.approx(25 + 1 / 1024)
    assert rows["scsi1:3"]["used_gb"] is None
    booted = {r["instance"]: r["is_os_disk"] for r in disk_rows("vc", "vm-9", devices, boot_disk_key=2002)}
    assert [k for k, v in booted.items() if v] == ["ide0:1"]


def test_vm_lists_skip_blanks_comments_and_repeats(tmp_path):
    path = tmp_path / "vms.txt"
    path.write_text("\ufeffweb01\n  db01  \n\n# retired\nweb01\n")
    assert read_vm_list(path) == ["web01", "db01"]
    path.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match=f"{path}: VM list names no VMs"):
        read_vm_list(path)
    with pytest.raises(ValueError, match="cannot read the VM list"):
        read_vm_list(tmp_path / "absent.txt")
    path.write_bytes(b"web01\ndb\xff01\n")
    with pytest.raises(ValueError, match=f"{path}, line 2: VM list is not UTF-8"):
        read_vm_list(path)


def test_backoff_doubles_up_to_its_cap():
    assert Backoff(1, 10, 6).delays() == [1, 2, 4, 8, 10, 10]


def test_the_password_stays_out_of_reprs():
    creds = Credentials("administrator@vsphere.local", "hunter2-Secret")
    session = VCenterSession("vc.example", 443, creds)
    assert "hunter2" not in repr(creds) and "hunter2" not in repr(session)


@pytest.mark.parametrize("args, env, message", [
    (["--duration", "7x"], {"CHURNPLAN_VCENTER_PASSWORD": "p"}, "--duration: '7x' is not a duration"),
    (["--poll", "0"], {"CHURNPLAN_VCENTER_PASSWORD": "p"}, "--poll: '0' must be longer than 0 s"),
    ([], {"CHURNPLAN_VCENTER_USER": "", "CHURNPLAN_VCENTER_PASSWORD": "p"}, "no vCenter user"),
    (["--user", "u"], {"CHURNPLAN_VCENTER_PASSWORD": ""}, "no password: set CHURNPLAN_VCENTER_PASSWORD"),
])
def test_collect_refuses_bad_options_before_connecting(args, env, message, tmp_db):
    result = CliRunner().invoke(app, ["collect", "--server", "vc.invalid", "--db", str(tmp_db), *args], env=env)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not tmp_db.exists()  # nothing was opened, let alone written


def test_only_samples_after_their_vms_watermark_are_spooled():
    t = pd.Timestamp("2026-03-01T10:00:00Z")
    samples = pd.DataFrame({"vm_id": ["vm-1", "vm-1", "vm-1", "vm-2", "vm-3"],
                            "ts": [t, t + pd.Timedelta(seconds=20), t + pd.Timedelta(seconds=40), t, t]})
    marks = {"vm-1": (t + pd.Timedelta(seconds=20)).to_pydatetime(), "vm-2": (t - pd.Timedelta(seconds=20))
             .to_pydatetime()}
    kept = newer_than_marks(samples, marks)
    # vm-1 keeps only what is after its mark (vCenter repeats the sample at the mark); vm-2 all; vm-3 has no mark
    assert list(zip(kept["vm_id"], kept["ts"], strict=True)) == [
        ("vm-1", t + pd.Timedelta(seconds=40)), ("vm-2", t), ("vm-3", t)]
