"""RVTools inventories fill vms/disks, line up with telemetry already stored, and report what did not match."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churnplan.core import store
from churnplan.ingest import powercli, rvtools
from churnplan.ingest.errors import IngestError
from churnplan.ingest.identity import VM_TOTAL_INSTANCE

from importers_support import RVTOOLS_CSV, US_FILE, runs_of

EXPORTS = {  # file -> VMs its vInfo sheet lists (datasets README)
    "automatic_sizing_rvtools.xlsx": 27,
    "BillSampleNextRvtoolsFinal.xlsx": 131,
    "SizingWorkshop-RVTools.xlsx": 805,
}


def _is_template(frame: pd.DataFrame) -> pd.Series:
    return frame["Template"].astype(str).str.lower().eq("true")


@pytest.mark.parametrize("name", list(EXPORTS))
def test_real_exports_store_every_vm_and_disk_their_sheets_hold(con, shared_datasets: Path, name: str):
    path = shared_datasets / "rvtools-nutanix-workshop" / name
    sheets = pd.read_excel(path, sheet_name=None)
    vinfo = sheets["vInfo"]
    assert len(vinfo) == EXPORTS[name]
    vms_expected = int((~_is_template(vinfo)).sum())
    if "vDisk" in sheets:
        disks_expected = int((~_is_template(sheets["vDisk"])).sum())
    else:  # one 'vm-total' disk per VM that has any disk
        disks_expected = int(((~_is_template(vinfo)) & (vinfo["Disks"] > 0)).sum())

    result = rvtools.import_files(con, path)

    assert (result.vms, result.disks) == (vms_expected, disks_expected)
    assert store.counts(con) == store.Counts(vms_expected, disks_expected, 0)
    assert result.templates_skipped == int(_is_template(vinfo).sum())
    assert result.disks_from == ("vDisk" if "vDisk" in sheets else "vInfo")
    stored = store.load_vms(con)
    assert stored["name"].notna().all() and stored["num_cpu"].notna().all()
    assert runs_of(con)[-1][:2] == ("rvtools", "ok")


def test_vdisk_rows_become_counter_instances_with_capacity(con, shared_datasets: Path):
    rvtools.import_files(con, shared_datasets / "rvtools-nutanix-workshop" / "automatic_sizing_rvtools.xlsx")
    disks = store.load_disks(con).set_index(["vm_id", "instance"])
    sql1 = disks.loc[("vm-41", "scsi0:1")]  # 'Hard disk 2', 61440 MB on SCSI controller 0 unit 1
    assert (sql1["label"], sql1["capacity_gb"], sql1["controller"], bool(sql1["is_os_disk"])) == \
        ("Hard disk 2", 60.0, "LSI Logic SAS", False)
    assert bool(disks.loc[("vm-41", "scsi0:0"), "is_os_disk"])
    vm = store.load_vms(con).set_index("vm_id").loc["vm-41"]
    assert (vm["vcenter"], vm["uuid"], vm["firmware"], vm["num_cpu"], vm["memory_mb"]) == \
        ("10.21.17.40", "4233846c-270c-6873-665b-d2ae4ad0702e", "bios", 2, 8192)


def test_sheets_are_joined_on_vm_id_where_names_drift(con, shared_datasets: Path):
    """BillSample renames 58 VMs in vInfo ('nxt...') but not in vDisk ('ntx...'): VM ID still joins them."""
    path = shared_datasets / "rvtools-nutanix-workshop" / "BillSampleNextRvtoolsFinal.xlsx"
    rvtools.import_files(con, path)
    orphans = con.execute("SELECT count(*) FROM disks d ANTI JOIN vms v USING (vcenter, vm_id)").fetchone()[0]
    assert orphans == 0
    assert con.execute("SELECT count(*) FROM vms WHERE name LIKE 'ntx%'").fetchone()[0] == 0


def test_without_vdisk_each_vm_gets_one_vm_total_disk_from_its_totals(con, shared_datasets: Path):
    path = shared_datasets / "rvtools-nutanix-workshop" / "SizingWorkshop-RVTools.xlsx"
    rvtools.import_files(con, path)
    vinfo = pd.read_excel(path, sheet_name="vInfo").set_index("VM")
    part = pd.read_excel(path, sheet_name="vPartition").groupby("VM")["Consumed MB"].sum()
    disk = store.load_disks(con).merge(store.load_vms(con), on=["vcenter", "vm_id"]).set_index("name").loc["wadfs1"]
    assert disk["instance"] == VM_TOTAL_INSTANCE
    assert disk["capacity_gb"] == pytest.approx(vinfo.loc["wadfs1", "Provisioned MB"] / 1024)
    assert disk["used_gb"] == pytest.approx(part["wadfs1"] / 1024)
    assert disk["label"].startswith(f"all {vinfo.loc['wadfs1', 'Disks']} disks")


def test_csv_export_sheets_are_recognised_by_their_columns(con):
    result = rvtools.import_files(con, list(reversed(RVTOOLS_CSV)))
    assert (result.vms, result.disks, result.templates_skipped) == (3, 6, 1)
    disks = store.load_disks(con).set_index(["vm_id", "instance"])
    assert sorted(disks.loc["vm-300"].index) == ["sata0:0", "scsi0:0", "scsi1:0"]
    assert disks.loc[("vm-300", "scsi1:0"), "capacity_gb"] == 1024.0
    assert disks.loc[("vm-202", "scsi0:0"), "disk_mode"] == "independent_persistent"
    vms = store.load_vms(con).set_index("vm_id")
    assert vms.loc["vm-202", "guest_os"] == "Red Hat Enterprise Linux 8 (64-bit)"  # Tools blank: config file's
    assert vms.loc["vm-201", "firmware"] == "efi"


def test_powercli_vms_merge_with_rvtools_rows_by_moref_and_name(con):
    powercli.import_file(con, US_FILE)             # app01/vm-201 and db02/vm-202 under 'powercli'
    result = rvtools.import_files(con, RVTOOLS_CSV)  # the same VMs, keyed by 'VI SDK Server' vc01.lab.local

    assert result.matched == {"moref+name": 2}
    assert store.counts(con).vms == 3                # app01, db02, fs03: no duplicates
    app = store.load_vms(con).set_index("name").loc["app01"]
    assert (app["vcenter"], app["vm_id"], app["host"], app["num_cpu"]) == ("powercli", "vm-201", "esx01.lab.local", 4)
    joined = con.execute("SELECT count(*) FROM samples JOIN disks USING (vcenter, vm_id, instance)").fetchone()[0]
    assert joined == 6                               # every sample now has its disk's inventory
    assert result.inventory_without_telemetry == ["fs03"]
    assert result.telemetry_without_inventory == []


def test_rvtools_first_then_powercli_lands_samples_on_the_inventory_rows(con):
    rvtools.import_files(con, RVTOOLS_CSV)
    result = powercli.import_file(con, US_FILE)
    assert result.vms_created == 0
    assert {r[0] for r in con.execute("SELECT DISTINCT vcenter FROM samples").fetchall()} == {"vc01.lab.local"}
    assert store.counts(con).vms == 3


def test_name_alone_matches_when_the_export_has_no_vm_ids(con, shared_datasets: Path, tmp_path: Path):
    csv = tmp_path / "wadfs1.csv"  # PowerCLI VM-level counters for a VM of the export without VM IDs
    row = ('"{v}","2026-11-24T15:15:00Z","disk.write.average","KBps","x","{name}","VirtualMachine-{moref}",'
           '"300",""\n')
    csv.write_text('"Value","Timestamp","MetricId","Unit","Description","Entity","EntityId","IntervalSecs","Instance"\n'
                   + row.format(v=800, name="WADFS1", moref="vm-9001")
                   + row.format(v=900, name="ghost", moref="vm-9002"))
    powercli.import_file(con, csv)
    result = rvtools.import_files(con, shared_datasets / "rvtools-nutanix-workshop" / "SizingWorkshop-RVTools.xlsx")

    assert result.matched == {"name": 1}
    assert len(result.inventory_without_telemetry) == result.vms - 1
    assert "wadfs1" not in result.inventory_without_telemetry
    assert result.telemetry_without_inventory == ["ghost (powercli/vm-9002)"]
    # the telemetry's 'vm-total' instance meets the export's 'vm-total' disk
    assert con.execute("SELECT count(*) FROM samples JOIN disks USING (vcenter, vm_id, instance)").fetchone()[0] == 1


def test_reimport_changes_nothing_and_blank_cells_keep_stored_values(con, tmp_path: Path):
    rvtools.import_files(con, RVTOOLS_CSV)
    before = (store.load_vms(con), store.load_disks(con))
    rvtools.import_files(con, RVTOOLS_CSV)
    pd.testing.assert_frame_equal(store.load_vms(con), before[0])
    pd.testing.assert_frame_equal(store.load_disks(con), before[1])

    blank = tmp_path / "vInfo-no-host.csv"
    info = pd.read_csv(RVTOOLS_CSV[0], dtype=str)
    info["Host"] = ""
    info.to_csv(blank, index=False)
    rvtools.import_files(con, blank)
    assert store.load_vms(con).set_index("vm_id").loc["vm-201", "host"] == "esx01.lab.local"


@pytest.mark.parametrize("column, value, field, words", [
    ("CPUs", "four", "vInfo!CPUs", "'four' is not a non-negative number"),
    ("Memory", "-1", "vInfo!Memory", "'-1' is not a non-negative number"),
    ("VM", "", "vInfo!VM", "VM name is empty"),
    ("VM ID", "vm-201", "vInfo!VM ID", "appears twice"),
])
def test_bad_vinfo_cells_name_file_row_and_column_and_store_nothing(con, tmp_path: Path, column, value, field, words):
    rvtools.import_files(con, RVTOOLS_CSV)
    before = store.counts(con), store.load_vms(con)
    info = pd.read_csv(RVTOOLS_CSV[0], dtype=str, keep_default_na=False)
    info.loc[1, column] = value  # data row 2 = file line 3
    bad = tmp_path / "bad_vInfo.csv"
    info.to_csv(bad, index=False)

    with pytest.raises(IngestError) as caught:
        rvtools.import_files(con, [bad, RVTOOLS_CSV[1]])
    assert (Path(caught.value.file).name, caught.value.line, caught.value.field) == ("bad_vInfo.csv", 3, field)
    assert words in str(caught.value)
    assert store.counts(con) == before[0]
    pd.testing.assert_frame_equal(store.load_vms(con), before[1])
    assert runs_of(con)[-1][:2] == ("rvtools", "failed")


def test_disk_of_a_vm_vinfo_does_not_list_is_refused(con, tmp_path: Path):
    disks = pd.read_csv(RVTOOLS_CSV[1], dtype=str)
    disks.loc[2, ["VM", "VM ID"]] = ["nobody", "vm-999"]
    bad = tmp_path / "vDisk.csv"
    disks.to_csv(bad, index=False)
    with pytest.raises(IngestError, match=r"vDisk.csv, line 4, field vDisk!VM: disk of VM 'nobody'"):
        rvtools.import_files(con, [RVTOOLS_CSV[0], bad])


def test_a_csv_row_with_extra_cells_names_its_line_not_a_traceback(con, tmp_path: Path):
    lines = RVTOOLS_CSV[0].read_text().splitlines()
    lines[2] += ",stray,cells"
    bad = tmp_path / "vInfo.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as caught:
        rvtools.import_files(con, bad)
    assert str(caught.value) == f"{bad}, line 3: malformed CSV row (Expected 18 fields in line 3, saw 20)"
    assert runs_of(con)[-1][:2] == ("rvtools", "failed")


def test_export_without_vinfo_is_refused(con):
    with pytest.raises(IngestError, match="no vInfo sheet"):
        rvtools.import_files(con, RVTOOLS_CSV[1])


def test_raw_device_mappings_say_so_in_their_label(con, shared_datasets: Path):
    rvtools.import_files(con, shared_datasets / "rvtools-nutanix-workshop" / "BillSampleNextRvtoolsFinal.xlsx")
    vdisk = pd.read_excel(shared_datasets / "rvtools-nutanix-workshop" / "BillSampleNextRvtoolsFinal.xlsx",
                          sheet_name="vDisk")
    raw = int(vdisk["Raw"].astype(str).str.lower().eq("true").sum())
    assert con.execute("SELECT count(*) FROM disks WHERE label LIKE '%(RDM %'").fetchone()[0] == raw > 0


def test_a_damaged_workbook_is_named_not_a_traceback(con, tmp_path: Path):
    broken = tmp_path / "export.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a whole zip")
    with pytest.raises(IngestError, match=r"export.xlsx: not a readable xlsx workbook"):
        rvtools.import_files(con, broken)
    assert runs_of(con)[-1][:2] == ("rvtools", "failed")
