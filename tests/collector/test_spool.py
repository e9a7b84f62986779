"""The Parquet spool: layout Spark can read, whole-or-nothing files, drain ledger, and the store round trip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.core import store
from churnplan.ingest.spool import Spool, consumer_key, escape_value, unescape_value
from churnplan.ingest.spool_store import drain

REPO = Path(__file__).resolve().parents[2]


def _samples(vcenter: str, stamps: list[str], vm: str = "vm-1") -> pd.DataFrame:
    ts = pd.to_datetime(stamps, utc=True)
    return pd.DataFrame({"vcenter": vcenter, "vm_id": vm, "instance": "scsi0:0", "ts": ts, "interval_s": 20,
                         "write_kbps": range(len(ts)), "read_kbps": 1.5, "write_iops": 2.0, "read_iops": None})



def test_samples_land_hive_partitioned_by_vcenter_and_utc_day(tmp_path):
    spool = Spool(tmp_path)
    written = spool.write("samples", _samples("vc1:8989", ["2026-03-01T23:59:40Z", "2026-03-02T00:00:00Z"]))
    assert sorted(p.relative_to(tmp_path).parent.as_posix() for p in written) == [
        "samples/vcenter=vc1%3A8989/day=2026-03-01", "samples/vcenter=vc1%3A8989/day=2026-03-02"]
    # partition values live in folder names only (Spark refuses a column that is also a partition column)
    assert "vcenter" not in pq.read_schema(written[0]).names
    files = spool.files("samples")
    assert [f.vcenter for f in files] == ["vc1:8989"] * 2
    back = spool.read_many(files).to_pandas()
    assert back["ts"].tolist() == list(pd.to_datetime(["2026-03-01T23:59:40Z", "2026-03-02T00:00:00Z"], utc=True))
    assert back["vcenter"].unique().tolist() == ["vc1:8989"]


def test_pyarrow_reads_the_layout_as_a_partitioned_dataset(tmp_path):
    spool = Spool(tmp_path)
    spool.write("samples", _samples("vc-a", ["2026-03-01T10:00:00Z", "2026-03-01T10:00:20Z"]))
    spool.write("samples", _samples("vc-b", ["2026-03-02T10:00:00Z"]))
    table = pq.read_table(tmp_path / "samples", partitioning="hive")
    assert sorted(table.column("vcenter").to_pylist()) == ["vc-a", "vc-a", "vc-b"]
    assert table.num_rows == 3


@given(st.text(min_size=1, max_size=30))
def test_partition_names_round_trip_any_vcenter_name(name):
    escaped = escape_value(name)
    assert "/" not in escaped and ":" not in escaped and "=" not in escaped
    assert unescape_value(escaped) == name


def test_a_write_killed_midway_leaves_only_a_hidden_temporary(tmp_path):
    spool = Spool(tmp_path)
    frame = _samples("vc", ["2026-03-01T10:00:00Z"])

    class Boom(Exception):
        pass

    def die(*args, **kwargs):
        raise Boom

    original = pq.write_table
    pq.write_table = die
    try:
        with pytest.raises(Boom):
            spool.write("samples", frame)
    finally:
        pq.write_table = original
    assert spool.files() == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # the temporary is removed on the way out


def test_stale_temporaries_of_killed_writers_are_cleared(tmp_path):
    folder = tmp_path / "samples" / "vcenter=vc" / "day=2026-03-01"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".part-1.parquet.99.tmp", folder / ".part-2.parquet.98.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (1, 1))
    assert Spool(tmp_path).remove_stale_temporaries() == 1
    assert not stale.exists() and fresh.exists()
    assert Spool(tmp_path).files() == []


def test_drain_is_in_order_once_and_survives_a_torn_ledger_line(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.write("samples", _samples("vc", ["2026-03-01T10:00:00Z", "2026-03-01T10:00:20Z"]))
    spool.write("samples", _samples("vc", ["2026-03-01T10:00:40Z"]))
    db = tmp_path / "a.duckdb"
    key = consumer_key(db)
    con = store.connect(db)
    try:
        first = drain(spool, con, key)
        assert (first.files, first.samples_added) == (2, 3)
        assert drain(spool, con, key).files == 0  # nothing pending any more
        ledger = tmp_path / "spool" / "_drained" / f"{key}.log"
        ledger.write_text(ledger.read_text() + "samples/vcenter=vc/day=2026-03-0")  # a crash mid-line
        spool.write("samples", _samples("vc", ["2026-03-01T10:01:00Z", "2026-03-01T10:00:40Z"]))
        third = drain(spool, con, key)
        assert (third.files, third.samples_added, third.samples_offered) == (1, 1, 2)
        assert len(spool.drained(key)) == 3
        assert con.execute("SELECT last_ts FROM watermarks").fetchone()[0] == pd.Timestamp("2026-03-01 10:01:00")
    finally:
        con.close()


def test_spool_watermarks_are_the_newest_sample_per_vm_and_interval(tmp_path):
    spool = Spool(tmp_path)
    spool.write("samples", _samples("vc", ["2026-03-01T10:00:00Z", "2026-03-01T10:00:20Z"], vm="vm-1"))
    spool.write("samples", _samples("vc", ["2026-03-02T00:00:20Z"], vm="vm-1"))
    spool.write("samples", _samples("vc", ["2026-03-01T09:00:00Z"], vm="vm-2"))
    spool.write("samples", _samples("other", ["2026-03-05T09:00:00Z"], vm="vm-2"))
    marks = spool.watermarks("vc").set_index("vm_id")["last_ts"]
    assert marks.to_dict() == {"vm-1": pd.Timestamp("2026-03-02T00:00:20Z"), "vm-2": pd.Timestamp("2026-03-01T09:00Z")}


# rows in one store and not in the other, both ways round
DIFFERENCES = [
    "SELECT count(*) FROM (FROM samples EXCEPT ALL FROM original.samples)",
    "SELECT count(*) FROM (FROM original.samples EXCEPT ALL FROM samples)",
    "SELECT count(*) FROM (FROM vms EXCEPT ALL FROM original.vms)",
    "SELECT count(*) FROM (FROM original.vms EXCEPT ALL FROM vms)",
    "SELECT count(*) FROM (FROM disks EXCEPT ALL FROM original.disks)",
    "SELECT count(*) FROM (FROM original.disks EXCEPT ALL FROM disks)",
    "SELECT count(*) FROM (FROM watermarks EXCEPT ALL FROM original.watermarks)",
    "SELECT count(*) FROM (FROM original.watermarks EXCEPT ALL FROM watermarks)",
]


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    result.text = " ".join(result.output.split())  # rich wraps long lines
    return result


def test_export_then_import_gives_an_identical_store_and_reimport_adds_nothing(sample_store_master, tmp_path):
    db = tmp_path / "sample.duckdb"
    shutil.copy(sample_store_master, db)
    out = tmp_path / "exchange"
    exported = _cli("export", "samples", "--parquet", str(out), "--db", str(db))
    assert exported.exit_code == 0, exported.output
    days = sorted(p.name for p in (out / "samples").glob("vcenter=*/day=*"))
    assert len(days) == 15 and days[0].startswith("day=2026-")  # 14 days of samples, in UTC days
    fresh = tmp_path / "central.duckdb"
    first = _cli("import", "parquet", str(out), "--db", str(fresh))
    assert first.exit_code == 0, first.output
    again = _cli("import", "parquet", str(out), "--db", str(fresh))
    assert again.exit_code == 0 and "0 samples added" in again.text, again.output

    con = store.connect(fresh)
    try:
        con.execute(f"ATTACH '{db}' AS original (READ_ONLY)")
        for query in DIFFERENCES:
            assert con.execute(query).fetchone()[0] == 0, query
        assert con.execute("SELECT vcenter, version, stats_level FROM vcenters").fetchall() == \
            con.execute("SELECT vcenter, version, stats_level FROM original.vcenters").fetchall()
        runs = con.execute("SELECT source, status, samples_added FROM collection_runs ORDER BY started_at").fetchall()
        n = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        con.close()
    assert runs == [("parquet", "ok", n), ("parquet", "ok", 0)]
    assert not (out / "_drained").exists()  # an import leaves the spool as it found it
    # the estate's time zone travels with the layout
    assert Spool(out).estate_zone() == "Europe/Amsterdam"
    con = store.connect(fresh, read_only=True)
    assert store.estate_timezone(con) == "Europe/Amsterdam"
    con.close()


def test_a_store_that_records_its_own_zone_keeps_it_when_a_layout_comes_in(tmp_path):
    spool = Spool(tmp_path / "site")
    spool.write("samples", _samples("vc", ["2026-03-01T10:00:00Z"]))
    spool.record_estate_zone("Asia/Tokyo")
    db = tmp_path / "central.duckdb"
    assert _cli("init", "--db", str(db), "--timezone", "Europe/Lisbon").exit_code == 0
    assert _cli("import", "parquet", str(tmp_path / "site"), "--db", str(db)).exit_code == 0
    con = store.connect(db, read_only=True)
    assert store.estate_timezone(con) == "Europe/Lisbon"
    con.close()


@pytest.mark.parametrize("text, message", [
    ('{"timezone": "Mars/Olympus"}', "estate.json, field timezone: "),
    ("{not json", "estate.json: not the layout's estate file"),
])
def test_a_bad_estate_file_is_named_and_the_store_is_left_as_it_was(tmp_path, text, message):
    spool = Spool(tmp_path / "site")
    spool.write("samples", _samples("vc", ["2026-03-01T10:00:00Z"]))
    (tmp_path / "site" / "estate.json").write_text(text)
    db = tmp_path / "central.duckdb"
    result = _cli("import", "parquet", str(tmp_path / "site"), "--db", str(db))
    assert result.exit_code == 2 and message in result.text and "Traceback" not in result.output
    con = store.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == 0 and store.estate_timezone(con) is None
    con.close()


def test_export_refuses_a_folder_that_already_holds_a_spool(tmp_path, sample_store_master):
    Spool(tmp_path / "out").write("samples", _samples("vc", ["2026-03-01T10:00:00Z"]))
    result = _cli("export", "samples", "--parquet", str(tmp_path / "out"), "--db", str(sample_store_master))
    assert result.exit_code == 2 and "already holds a spool" in result.text


def test_import_names_a_damaged_spool_file_and_keeps_the_store_as_it_was(tmp_path, query):
    spool = Spool(tmp_path / "spool")
    good = spool.write("samples", _samples("vc", ["2026-03-01T10:00:00Z"]))[0]
    bad = spool.write("samples", _samples("vc", ["2026-03-02T10:00:00Z"]))[0]
    bad.write_bytes(bad.read_bytes()[:40])
    db = tmp_path / "s.duckdb"
    result = _cli("import", "parquet", str(tmp_path / "spool"), "--db", str(db))
    assert result.exit_code == 2
    assert bad.name in result.output.replace("\n", "") and "Traceback" not in result.output
    assert query(db, "SELECT count(*) AS n FROM samples")["n"][0] == 0   # one batch: nothing half-imported
    assert good.exists()


def test_import_refuses_a_folder_without_spool_files(tmp_path):
    result = _cli("import", "parquet", str(tmp_path), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 2 and "holds no spool files" in result.text


def test_duckdb_reads_an_exported_spool_with_hive_partitioning(tmp_path):
    spool = Spool(tmp_path)
    spool.write("samples", _samples("vc:1", ["2026-03-01T10:00:00Z", "2026-03-01T10:00:20Z"]))
    code = ("import duckdb, sys; print(duckdb.execute('SELECT count(*), min(day) FROM read_parquet($1, "
            "hive_partitioning=true)', [sys.argv[1]]).fetchone())")
    out = subprocess.run([sys.executable, "-c", code, f"{tmp_path}/samples/*/*/*.parquet"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(2, datetime.date(2026, 3, 1))")
