"""The store: schema versioning, idempotent sample ingest, and all-or-nothing transactions."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from churnplan.core import store


def _samples(n: int = 4, vm: str = "vm-1") -> pd.DataFrame:
    ts = pd.date_range("2026-11-01 00:05", periods=n, freq="300s", tz="UTC")
    return pd.DataFrame({
        "vcenter": "vc1", "vm_id": vm, "instance": "scsi0:0", "ts": ts, "interval_s": 300,
        "write_kbps": [100.0, 200.0, 300.0, 400.0][:n], "read_kbps": 1.0, "write_iops": 10.0, "read_iops": 1.0,
    })


def test_new_store_records_schema_version(tmp_db):
    con = store.connect(tmp_db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(store.SCHEMA_VERSION)
    assert store.counts(con) == store.Counts(0, 0, 0)


def test_reimporting_the_same_samples_adds_none(tmp_db):
    con = store.connect(tmp_db)
    assert store.insert_samples(con, _samples()) == 4
    assert store.insert_samples(con, _samples()) == 0
    assert store.counts(con).samples == 4


def test_overlapping_window_adds_only_the_new_samples(tmp_db):
    con = store.connect(tmp_db)
    store.insert_samples(con, _samples(2))
    assert store.insert_samples(con, _samples(4)) == 2
    assert store.counts(con).samples == 4


def test_duplicates_inside_one_batch_are_stored_once(tmp_db):
    con = store.connect(tmp_db)
    batch = pd.concat([_samples(), _samples()])
    assert store.insert_samples(con, batch) == 4


def test_watermark_is_the_newest_sample_end(tmp_db):
    con = store.connect(tmp_db)
    store.insert_samples(con, _samples(3))
    store.insert_samples(con, _samples(2))
    last = con.execute("SELECT last_ts FROM watermarks WHERE vm_id='vm-1'").fetchone()[0]
    assert pd.Timestamp(last) == pd.Timestamp("2026-11-01 00:15")


def test_failed_transaction_keeps_what_was_stored(tmp_db):
    con = store.connect(tmp_db)
    store.insert_samples(con, _samples(2))
    with pytest.raises(RuntimeError):
        with store.transaction(con):
            store.insert_samples(con, _samples(4, vm="vm-2"))
            raise RuntimeError("bad line 3")
    assert store.counts(con).samples == 2


def test_loaded_times_are_utc_and_interval_filtered(tmp_db):
    con = store.connect(tmp_db)
    store.insert_samples(con, _samples())
    store.insert_samples(con, _samples().assign(interval_s=20))
    got = store.load_samples(con, interval_s=300)
    assert len(got) == 4
    assert str(got["ts"].dt.tz) == "UTC"
    assert got["ts"].iloc[0] == pd.Timestamp("2026-11-01 00:05", tz="UTC")


def test_non_utc_input_is_stored_as_utc(tmp_db):
    con = store.connect(tmp_db)
    local = _samples(1).assign(ts=pd.Timestamp("2026-11-01 01:05", tz="Europe/Amsterdam"))
    store.insert_samples(con, local)
    assert store.load_samples(con)["ts"].iloc[0] == pd.Timestamp("2026-11-01 00:05", tz="UTC")


@pytest.mark.parametrize("read_only", [False, True])
def test_newer_schema_is_refused_with_advice(tmp_db, read_only):
    store.connect(tmp_db).execute("UPDATE meta SET value='99' WHERE key='schema_version'").close()
    with pytest.raises(store.StoreError, match="schema v99 is newer than this churnplan"):
        store.connect(tmp_db, read_only=read_only)


def _make_v1(path):
    """A store as churnplan wrote it at schema v1: collection_runs without pid and host, one run left running."""
    con = store.connect(path)
    con.execute("INSERT INTO collection_runs (run_id, source, started_at, status) "
                "VALUES ('old', 'vcenter', '2026-11-01', 'running')")
    con.execute("ALTER TABLE collection_runs DROP COLUMN pid")
    con.execute("ALTER TABLE collection_runs DROP COLUMN host")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.close()


def test_older_schema_reads_read_only_and_migrates_when_opened_writable(tmp_db):
    _make_v1(tmp_db)
    con = store.connect(tmp_db, read_only=True)
    assert store.counts(con) == store.Counts(0, 0, 0)
    con.close()
    con = store.connect(tmp_db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(store.SCHEMA_VERSION)
    assert con.execute("SELECT status, pid, host FROM collection_runs").fetchall() == [("interrupted", None, None)]


def test_schema_version_zero_is_damage(tmp_db):
    store.connect(tmp_db).execute("UPDATE meta SET value='0' WHERE key='schema_version'").close()
    with pytest.raises(store.StoreDamaged, match="schema_version 0"):
        store.connect(tmp_db, read_only=True)


def test_foreign_database_is_not_touched(tmp_db):
    con = duckdb.connect(str(tmp_db))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(store.StoreError, match="refusing"):
        store.connect(tmp_db)


def test_missing_store_read_only_is_a_clear_error(tmp_db):
    with pytest.raises(store.StoreError, match="no churnplan store"):
        store.connect(tmp_db, read_only=True)


def test_inventory_upsert_refreshes_rows(tmp_db):
    con = store.connect(tmp_db)
    vm = pd.DataFrame([{"vcenter": "vc1", "vm_id": "vm-1", "name": "a", "num_cpu": 2}])
    store.upsert_vms(con, vm)
    store.upsert_vms(con, vm.assign(num_cpu=4))
    got = store.load_vms(con)
    assert len(got) == 1 and got["num_cpu"].iloc[0] == 4


def test_disk_upsert_refreshes_by_vm_and_instance_and_keeps_the_last_of_a_batch(tmp_db):
    con = store.connect(tmp_db)
    disk = {"vcenter": "vc1", "vm_id": "vm-1", "instance": "scsi0:0", "capacity_gb": 40.0}
    assert store.upsert_disks(con, pd.DataFrame([disk, {**disk, "instance": "scsi0:1"}])) == 2
    assert store.upsert_disks(con, pd.DataFrame([{**disk, "capacity_gb": 60.0}, {**disk, "capacity_gb": 80.0}])) == 1
    got = store.load_disks(con)
    assert list(zip(got["instance"], got["capacity_gb"], strict=True)) == [("scsi0:0", 80.0), ("scsi0:1", 40.0)]


def test_a_store_in_a_missing_folder_is_not_called_locked(tmp_path):
    path = tmp_path / "no-such-folder" / "store.duckdb"
    with pytest.raises(store.StoreError, match=r"cannot open the store .*No such file or directory") as caught:
        store.connect(path, retries=3, retry_wait_s=10)  # refused at once, not after 30 s of retries
    assert "locked" not in str(caught.value)


def test_a_store_another_process_writes_is_locked_for_writers_and_readers(tmp_db):
    import subprocess
    import sys

    store.connect(tmp_db).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys\ncon = duckdb.connect({str(tmp_db)!r})\n"
                               "print('held', flush=True)\nsys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for read_only in (False, True):
            with pytest.raises(store.StoreError, match="store is locked by another process"):
                store.connect(tmp_db, read_only=read_only, retries=1, retry_wait_s=0.05)
    finally:
        holder.stdin.close()
        holder.wait(10)
