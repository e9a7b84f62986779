"""PowerCLI Get-Stat CSVs land in the store as hand-worked samples, whatever culture wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnplan.core import store
from churnplan.ingest import powercli
from churnplan.ingest.identity import VM_TOTAL_INSTANCE

from importers_support import DE_FILE, US_FILE, runs_of, samples_of


def test_en_us_file_with_type_line_becomes_per_disk_samples_in_utc(con):
    result = powercli.import_file(con, US_FILE, timezone="America/New_York")

    # 3:15 PM EST (UTC-5) is 20:15 UTC; db02 wrote 2 MBps = 2048 KB/s and 0.5 MBps = 512 KB/s.
    assert samples_of(con) == [
        ("vm-201", "scsi0:0", "2026-11-24 20:15:00", 300, 100.0, 40.0, 25.0, 10.0),
        ("vm-201", "scsi0:0", "2026-11-24 20:20:00", 300, 300.0, 60.0, 35.0, 12.0),
        ("vm-201", "scsi0:1", "2026-11-24 20:15:00", 300, 7.0, 3.0, 2.0, 1.0),
        ("vm-201", "scsi0:1", "2026-11-24 20:20:00", 300, 9.0, 5.0, 4.0, 2.0),
        ("vm-202", "scsi0:0", "2026-11-24 20:15:00", 300, 2048.0, None, None, None),
        ("vm-202", "scsi0:0", "2026-11-24 20:20:00", 300, 512.0, None, None, None),
    ]
    assert (result.records, result.samples, result.samples_added) == (18, 6, 6)
    assert (result.vms, result.vms_created, result.disks, result.intervals) == (2, 2, 3, (300,))
    assert result.timestamps == "month/day/year"


def test_de_de_file_without_type_line_reads_decimal_commas_and_vm_level_counters(con):
    result = powercli.import_file(con, DE_FILE, timezone="Europe/Berlin")

    # 15:15:20 CET (UTC+1) is 14:15:20 UTC. 1,5 MBps = 1536 KB/s, 0,25 MBps = 256 KB/s.
    # disk.* with instance '' is the VM aggregate; 1200 writes in a 20 s interval are 60 IOPS.
    # The per-LUN disk.write row (instance naa.…) is left out.
    assert samples_of(con) == [
        ("vm-101", "scsi0:0", "2026-11-24 14:15:20", 20, 1536.0, 256.0, None, None),
        ("vm-101", "scsi0:0", "2026-11-24 14:15:40", 20, 2048.0, None, None, None),
        ("vm-101", VM_TOTAL_INSTANCE, "2026-11-24 14:15:20", 20, 3000.0, None, 60.0, None),
    ]
    assert result.skipped_lun_rows == 1
    assert result.timestamps == "day.month.year"


def test_vms_unknown_to_the_store_get_a_minimal_row_named_after_entity(con):
    powercli.import_file(con, US_FILE)
    assert con.execute("SELECT vcenter, vm_id, name, host FROM vms ORDER BY vm_id").fetchall() == [
        ("powercli", "vm-201", "app01", None), ("powercli", "vm-202", "db02", None)]


def test_vcenter_option_names_the_key_of_new_vms(con):
    powercli.import_file(con, US_FILE, vcenter="vc01.lab.local")
    assert {r[0] for r in con.execute("SELECT DISTINCT vcenter FROM samples").fetchall()} == {"vc01.lab.local"}


def test_reimport_adds_zero_samples_and_records_both_runs(con):
    first = powercli.import_file(con, US_FILE)
    again = powercli.import_file(con, US_FILE)

    assert (first.samples_added, again.samples_added, again.samples_skipped) == (6, 0, 6)
    assert store.counts(con) == store.Counts(vms=2, disks=0, samples=6)
    runs = con.execute("SELECT source, status, samples_added, samples_skipped, vms FROM collection_runs "
                       "ORDER BY started_at").fetchall()
    assert runs == [("powercli", "ok", 6, 0, 2), ("powercli", "ok", 0, 6, 2)]


def test_timestamps_are_interval_ends_stored_as_given(con):
    """vCenter stamps the END of each interval, which is what the store keeps: no shift on import."""
    powercli.import_file(con, US_FILE, timezone="UTC")
    first = con.execute("SELECT min(ts) FROM samples").fetchone()[0]
    assert str(first) == "2026-11-24 15:15:00"


def test_iso_timestamps_keep_their_own_offset_and_take_the_zone_otherwise(con, tmp_path: Path):
    text = US_FILE.read_text()
    offset = tmp_path / "offset.csv"
    offset.write_text(text.replace("11/24/2026 3:15:00 PM", "2026-11-24T15:15:00+01:00")
                          .replace("11/24/2026 3:20:00 PM", "2026-11-24T15:20:00+01:00"))
    powercli.import_file(con, offset, timezone="America/New_York")  # the offset wins over --timezone
    assert str(con.execute("SELECT min(ts) FROM samples").fetchone()[0]) == "2026-11-24 14:15:00"

    con.execute("DELETE FROM samples")
    con.execute("DELETE FROM watermarks")
    naive = tmp_path / "naive.csv"
    naive.write_text(text.replace("11/24/2026 3:15:00 PM", "2026-11-24 15:15:00")
                         .replace("11/24/2026 3:20:00 PM", "2026-11-24 15:20:00"))
    powercli.import_file(con, naive, timezone="Asia/Kolkata")  # UTC+05:30
    assert str(con.execute("SELECT min(ts) FROM samples").fetchone()[0]) == "2026-11-24 09:45:00"


def test_utf16_semicolon_export_with_usculture_reads_the_same(con, tmp_path: Path):
    """Export-Csv -UseCulture -Encoding Unicode (de-DE) writes UTF-16 with ';' between fields."""
    utf16 = tmp_path / "unicode.csv"
    utf16.write_text(DE_FILE.read_text().replace('","', '";"'), encoding="utf-16")
    powercli.import_file(con, utf16, timezone="Europe/Berlin")
    expected = samples_of(con)

    con.execute("DELETE FROM samples")
    powercli.import_file(con, DE_FILE, timezone="Europe/Berlin")
    assert samples_of(con) == expected


def test_unknown_time_zone_is_refused_before_anything_is_written(con):
    with pytest.raises(ValueError, match="Mars/Olympus"):
        powercli.import_file(con, US_FILE, timezone="Mars/Olympus")
    assert runs_of(con) == []
