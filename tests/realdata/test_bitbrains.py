"""Bitbrains GWA-T-12 traces: real VMware VM churn imported as VM-level samples."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from churnplan.core import store
from churnplan.ingest import bitbrains
from churnplan.ingest.errors import IngestError


def _runs(con) -> list[tuple]:
    return con.execute("SELECT source, target, status, detail FROM collection_runs ORDER BY started_at").fetchall()


@pytest.fixture(scope="module")
def traces(shared_datasets):
    folder = shared_datasets / "bitbrains-rnd-2013-07"
    if not folder.is_dir():
        pytest.skip("Bitbrains traces absent")
    return [folder / f"{i}.csv.gz" for i in (1, 2, 3)]


def test_trace_reads_as_vm_level_300s_samples(traces):
    vm, samples = bitbrains.read_trace(traces[0])
    assert vm.loc[0, "vm_id"] == "1" and vm.loc[0, "num_cpu"] == 2
    assert (samples["instance"] == "vm-total").all() and (samples["interval_s"] == 300).all()
    assert samples["ts"].is_monotonic_increasing and samples["ts"].is_unique
    assert (samples["ts"].dt.second == 0).all() and (samples["ts"].dt.minute % 5 == 0).all()
    # first row of 1.csv: 1372629804 s -> snapped to 1372629900 (the 300 s slot it is nearest to)
    assert samples["ts"].iloc[0] == pd.Timestamp(1372629900, unit="s", tz="UTC")
    assert samples["write_kbps"].iloc[0] == pytest.approx(21.733333333333334)


def test_reimporting_traces_adds_nothing(traces, tmp_db):
    con = store.connect(tmp_db)
    first = bitbrains.import_traces(con, traces)
    assert first == store.counts(con).samples > 20000
    assert bitbrains.import_traces(con, traces) == 0
    assert store.counts(con).vms == 3


def test_bad_value_names_file_line_and_field(tmp_path, tmp_db):
    path = tmp_path / "9.csv"
    header = ("Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\t"
              "Memory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\t"
              "Disk write throughput [KB/s];\tNetwork received throughput [KB/s];\t"
              "Network transmitted throughput [KB/s]")
    rows = ["1372629900;\t2;\t5851.9;\t87.7;\t1.5;\t8218624.0;\t1034592.8;\t160.8;\t21.7;\t0.2;\t1.4",
            "1372630200;\t2;\t5851.9;\t87.7;\t1.5;\t8218624.0;\t1034592.8;\t160.8;\t-3;\t0.2;\t1.4"]
    path.write_text("\n".join([header, *rows]) + "\n")
    con = store.connect(tmp_db)
    with pytest.raises(IngestError, match=r"9.csv, line 3, field Disk write throughput \[KB/s\]") as caught:
        bitbrains.import_traces(con, [path])
    assert store.counts(con) == store.Counts(0, 0, 0)
    assert _runs(con) == [("bitbrains", str(path), "failed", str(caught.value))]


def test_damaged_gzip_is_named_not_a_traceback(tmp_path, tmp_db):
    header = ("Timestamp [ms];\tCPU cores;\tMemory capacity provisioned [KB];\tDisk read throughput [KB/s];\t"
              "Disk write throughput [KB/s]")
    rows = [f"{1372629900 + 300 * i};\t2;\t8218624.0;\t{i * 1.5};\t{i * 0.7}" for i in range(200)]
    data = bytearray(gzip.compress(("\n".join([header, *rows]) + "\n").encode(), mtime=0))
    data[40:60] = bytes(20)  # zeros inside the deflate stream: zlib refuses it
    damaged = tmp_path / "4.csv.gz"
    damaged.write_bytes(bytes(data))
    con = store.connect(tmp_db)
    with pytest.raises(IngestError, match=r"4.csv.gz: cannot read as a Bitbrains trace \(Error -3 while decomp"):
        bitbrains.import_traces(con, [damaged])
    assert store.counts(con) == store.Counts(0, 0, 0)
    assert [r[2] for r in _runs(con)] == ["failed"]


def test_empty_file_is_named_not_a_traceback(tmp_path, tmp_db):
    empty = tmp_path / "6.csv"
    empty.write_text("")
    with pytest.raises(IngestError, match=r"6.csv, line 1: file is empty"):
        bitbrains.import_traces(store.connect(tmp_db), [empty])


def test_truncated_gzip_is_refused_without_storing(tmp_path, tmp_db, traces):
    data = traces[0].read_bytes()
    broken = tmp_path / "7.csv.gz"
    broken.write_bytes(data[: len(data) // 2])
    con = store.connect(tmp_db)
    bitbrains.import_traces(con, traces[1:2])
    before = store.counts(con).samples
    with pytest.raises(IngestError, match="7.csv.gz"):
        bitbrains.import_traces(con, [broken])
    assert store.counts(con).samples == before
    assert [r[2] for r in _runs(con)] == ["ok", "failed"]
    assert gzip.decompress(data)  # the original is intact; only the cut copy fails


def test_cli_imports_traces_and_reports_new_samples(traces, tmp_db):
    from typer.testing import CliRunner

    from churnplan.cli import app

    runner = CliRunner()
    first = runner.invoke(app, ["import", "bitbrains", "--db", str(tmp_db), *map(str, traces[:2])])
    assert first.exit_code == 0, first.output
    assert "1.csv.gz" in first.output and "2.csv.gz" in first.output
    again = runner.invoke(app, ["import", "bitbrains", "--db", str(tmp_db), str(traces[0])])
    assert again.exit_code == 0, again.output
    assert "1.csv.gz: 0 new samples" in again.output


def test_real_trace_with_repeated_timestamps_is_refused_at_the_first_repeat(shared_datasets, tmp_db):
    trace = shared_datasets / "bitbrains-rnd-2013-07" / "20.csv.gz"
    if not trace.exists():
        pytest.skip("trace 20 absent")
    con = store.connect(tmp_db)
    # rows 4478 and 4479 of 20.csv both end at 1373975437 s
    with pytest.raises(IngestError, match=r"20.csv.gz, line 4479, field Timestamp \[ms\]"):
        bitbrains.import_traces(con, [trace])
    assert store.counts(con) == store.Counts(0, 0, 0)
