"""Plausibility rules with known answers, and every importer refusing what breaks them (nothing stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnplan.core import plausibility, store
from churnplan.core.errors import ConfigError, IngestError
from churnplan.core.plausibility import Window, first_fault
from churnplan.ingest import bitbrains, powercli, rvtools
from reliability_support import held

NOW = datetime(2026, 11, 30, 12, 0)


def _frame(**cols) -> pd.DataFrame:
    base = {"ts": [pd.Timestamp("2026-11-30 11:00", tz="UTC")], "interval_s": [300], "write_kbps": [100.0],
            "read_kbps": [10.0], "write_iops": [5.0], "read_iops": [np.nan]}
    return pd.DataFrame({**base, **{k: [v] for k, v in cols.items()}})


@pytest.mark.parametrize("cols, field, words", [
    ({"ts": pd.Timestamp("1999-12-31 23:55", tz="UTC")}, "ts", "before 2000-01-01"),
    ({"ts": pd.Timestamp("2026-11-30 12:15:01", tz="UTC")}, "ts", "after now plus 900 s"),
    ({"interval_s": 300.5}, "interval_s", "not a whole number"),
    ({"interval_s": 0}, "interval_s", "not a positive number"),
    ({"interval_s": 86_401}, "interval_s", "longer than 86400 s"),
    ({"write_kbps": 1e300}, "write_kbps", "above 104,857,600"),
    ({"read_kbps": float("inf")}, "read_kbps", "not a finite number"),
    ({"write_iops": -1.0}, "write_iops", "negative"),
    ({"read_iops": 1e9}, "read_iops", "above 100,000,000"),
])
def test_each_rule_refuses_its_case(cols, field, words) -> None:
    fault = first_fault(_frame(**cols), Window(), now=NOW)
    assert fault is not None and fault.row == 0 and fault.field == field and words in fault.message


def test_the_edges_are_accepted() -> None:
    """2000-01-01 exactly, now plus exactly the skew, 100 GiB/s exactly and a missing rate are all plausible."""
    for cols in ({"ts": pd.Timestamp("2000-01-01", tz="UTC")}, {"ts": pd.Timestamp("2026-11-30 12:15", tz="UTC")},
                 {"write_kbps": 100 * 1024 * 1024}, {"read_kbps": np.nan}, {"interval_s": 86_400}):
        assert first_fault(_frame(**cols), Window(), now=NOW) is None, cols


def test_the_first_faulty_row_is_named() -> None:
    frame = pd.concat([_frame(), _frame(write_kbps=-1.0), _frame(interval_s=300.5)], ignore_index=True)
    fault = first_fault(frame, Window(), now=NOW)
    assert (fault.row, fault.field) == (1, "write_kbps")


def test_the_window_is_configurable(monkeypatch) -> None:
    monkeypatch.setenv(plausibility.EARLIEST_ENV, "1990-01-01")
    monkeypatch.setenv(plausibility.SKEW_ENV, "3600")
    window = Window.from_env()
    assert window == Window(datetime(1990, 1, 1), timedelta(hours=1))
    assert first_fault(_frame(ts=pd.Timestamp("1995-06-01", tz="UTC")), window, now=NOW) is None
    assert first_fault(_frame(ts=pd.Timestamp("2026-11-30 12:59", tz="UTC")), window, now=NOW) is None
    monkeypatch.setenv(plausibility.SKEW_ENV, "soon")
    with pytest.raises(ConfigError, match=plausibility.SKEW_ENV):
        Window.from_env()


def test_a_watermark_never_moves_past_now(tmp_db: Path) -> None:
    """Even a sample that bypassed the importers' checks cannot push the watermark past now plus the skew."""
    con = store.connect(tmp_db)
    store.insert_samples(con, _frame(ts=pd.Timestamp("9999-12-31", tz="UTC")).assign(
        vcenter="vc", vm_id="vm-1", instance="scsi0:0"))
    assert store.watermarks(con, "vc", 300)["vm-1"] <= datetime.now(UTC) + Window().skew


HEADER = '"Value","Timestamp","MetricId","Unit","Entity","EntityId","IntervalSecs","Instance"\n'


def _getstat(tmp_path: Path, value: str = "100", ts: str = "2026-11-24T15:15:00Z", interval: str = "300") -> Path:
    path = tmp_path / "getstat.csv"
    good = ('"50","2026-11-24T15:10:00Z","virtualdisk.write.average","KBps","app01","VirtualMachine-vm-201",'
            '"300","scsi0:0"\n')
    path.write_text(HEADER + good + f'"{value}","{ts}","virtualdisk.write.average","KBps","app01",'
                    f'"VirtualMachine-vm-201","{interval}","scsi0:1"\n')
    return path


@pytest.mark.parametrize("kwargs, field, words", [
    ({"ts": "9999-12-31T00:00:00Z"}, "Timestamp", "lies in the future"),
    ({"ts": "1900-01-01T00:00:00Z"}, "Timestamp", "is before 2000-01-01"),
    ({"value": "1e300"}, "Value", "above 100 GiB/s"),
    ({"interval": "300.5"}, "IntervalSecs", "not a whole number of seconds"),
])
def test_powercli_refuses_implausible_rows_naming_line_and_field(con, tmp_path, kwargs, field, words) -> None:
    before = held_con(con)
    with pytest.raises(IngestError, match=rf"line 3, field {field}: .*{words}"):
        powercli.import_file(con, _getstat(tmp_path, **kwargs))
    assert held_con(con) == before


def test_powercli_keeps_a_plausible_file(con, tmp_path) -> None:
    powercli.import_file(con, _getstat(tmp_path))
    assert store.counts(con).samples == 2


def held_con(con) -> tuple:
    return con.execute("SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM watermarks)").fetchone()


BITBRAINS_HEADER = ("Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\t"
                    "Memory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\t"
                    "Disk write throughput [KB/s];\tNetwork received throughput [KB/s];\t"
                    "Network transmitted throughput [KB/s]\n")


def _trace(tmp_path: Path, ts2: str = "1764500700", write: str = "20") -> Path:
    path = tmp_path / "7.csv"
    path.write_text(BITBRAINS_HEADER + "1764500400;\t2;\t5000;\t100;\t2;\t4194304;\t100;\t5;\t10;\t1;\t1\n"
                    f"{ts2};\t2;\t5000;\t100;\t2;\t4194304;\t100;\t5;\t{write};\t1;\t1\n")
    return path


@pytest.mark.parametrize("kwargs, field, words", [
    ({"ts2": "253402214400"}, "Timestamp", "after now plus"),
    ({"write": "1e300"}, "Disk write throughput", "above 104,857,600"),
    ({"write": "inf"}, "Disk write throughput", "not a finite number"),
])
def test_bitbrains_refuses_implausible_rows(con, tmp_path, kwargs, field, words) -> None:
    with pytest.raises(IngestError, match=rf"line 3, field {field}.*{words}"):
        bitbrains.import_traces(con, [_trace(tmp_path, **kwargs)])
    assert held_con(con) == (0, 0)


def test_bitbrains_keeps_a_plausible_trace(con, tmp_path) -> None:
    assert bitbrains.import_traces(con, [_trace(tmp_path)]) == 2


def test_rvtools_refuses_an_impossible_disk(con, tmp_path) -> None:
    info = tmp_path / "vInfo.csv"
    info.write_text("VM,CPUs,Memory,Powerstate,Provisioned MB\napp01,2,4096,poweredOn,1e300\n")
    with pytest.raises(IngestError, match=r"line 2, field vInfo!Provisioned MB: '1e300': not a finite|above"):
        rvtools.import_files(con, [info])
    assert store.counts(con).vms == 0


def test_the_store_fixture_is_untouched_by_a_refusal(filled_store: Path, tmp_path: Path) -> None:
    before = held(filled_store)
    con = store.connect(filled_store)
    with pytest.raises(IngestError):
        powercli.import_file(con, _getstat(tmp_path, interval="300.5"))
    con.close()
    assert held(filled_store) == before


def test_the_collector_mask_drops_exactly_the_implausible_rows() -> None:
    frame = pd.concat([_frame(), _frame(ts=pd.Timestamp("9999-01-01", tz="UTC")), _frame(write_kbps=1e300),
                       _frame(read_iops=np.nan)], ignore_index=True)
    assert plausibility.implausible_rows(frame, Window(), now=NOW).tolist() == [False, True, True, False]
