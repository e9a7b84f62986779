"""Import GWA-T-12 Bitbrains VM traces (one ';\\t'-separated file per VMware VM, 300 s samples).

The traces hold per-VM disk read/write KB/s (all disks summed), so samples land on the VM-level instance
`vm-total`. Their 'Timestamp [ms]' column is really Unix seconds whose phase drifts by a second now
and then; the first sample end is snapped to the nearest 300 s grid point and each later one lies a
whole number of intervals (its rounded distance) after its predecessor. Two samples less than half an
interval apart are refused as duplicates.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO

import duckdb
import numpy as np
import pandas as pd

from churnplan.core import plausibility, store
from churnplan.ingest.csv_layout import refuse_non_text
from churnplan.ingest.errors import IngestError, shorten
from churnplan.ingest.identity import VM_TOTAL_INSTANCE

VCENTER = "bitbrains"
INTERVAL_S = 300
_COLUMNS = {
    "Timestamp [ms]": "ts",
    "CPU cores": "num_cpu",
    "Memory capacity provisioned [KB]": "memory_kb",
    "Disk read throughput [KB/s]": "read_kbps",
    "Disk write throughput [KB/s]": "write_kbps",
}


def _open(path: Path) -> IO[str]:
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path, newline="")


def read_trace(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One trace file -> (vms row, samples) frames in store columns; IngestError on bad input."""
    path = Path(path)
    vm_id = path.name.split(".")[0]
    if path.is_dir():
        raise IngestError(path, None, None, "is a folder, not a file; give the trace files in it")
    if path.suffix != ".gz" and path.is_file():
        with open(path, "rb") as fh:
            refuse_non_text(path, fh.read(4096))
    try:
        with _open(path) as fh:
            raw = pd.read_csv(fh, sep=";", skipinitialspace=True, dtype=str)
    except pd.errors.EmptyDataError:
        raise IngestError(path, 1, None, "file is empty: expected a Bitbrains header line") from None
    except (OSError, EOFError, zlib.error, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(path, None, None, f"cannot read as a Bitbrains trace ({str(exc).strip()})") from exc
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise IngestError(path, 1, missing[0], "column missing from the header")
    frame = raw[list(_COLUMNS)].rename(columns=_COLUMNS)
    for source, col in _COLUMNS.items():
        text = frame[col].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise IngestError(path, row + 2, source, f"{shorten(text.iloc[row])} is not a non-negative number")
        frame[col] = values
    seconds = frame["ts"].to_numpy(dtype=float)
    _check_plausible(path, frame.assign(ts=pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")), text_of=raw)
    steps = np.rint(np.diff(seconds) / INTERVAL_S)
    if (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise IngestError(path, row + 2, "Timestamp [ms]", "not at least half an interval after the row before")
    first = np.rint(seconds[:1] / INTERVAL_S)
    slots = (np.concatenate([first, first + np.cumsum(steps)]) * INTERVAL_S).astype("int64")
    samples = pd.DataFrame({
        "vcenter": VCENTER, "vm_id": vm_id, "instance": VM_TOTAL_INSTANCE,
        "ts": pd.to_datetime(slots, unit="s", utc=True), "interval_s": INTERVAL_S,
        "write_kbps": frame["write_kbps"].to_numpy(), "read_kbps": frame["read_kbps"].to_numpy(),
        "write_iops": np.nan, "read_iops": np.nan,
    })
    _check_plausible(path, samples, text_of=raw)
    vm = pd.DataFrame([{
        "vcenter": VCENTER, "vm_id": vm_id, "name": f"bitbrains-rnd-{vm_id}",
        "num_cpu": int(frame["num_cpu"].max()) if len(frame) else None,
        "memory_mb": int(frame["memory_kb"].max() // 1024) if len(frame) else None,
        "power_state": "poweredOn",
    }])
    return vm, samples


_FIELDS = {"ts": "Timestamp [ms]", "write_kbps": "Disk write throughput [KB/s]",
           "read_kbps": "Disk read throughput [KB/s]", "interval_s": "Timestamp [ms]"}


def _check_plausible(path: Path, samples: pd.DataFrame, text_of: pd.DataFrame) -> None:
    """Refuse the file at its first implausible cell (see core.plausibility), naming line and column."""
    fault = plausibility.first_fault(samples[[c for c in _FIELDS if c in samples]])
    if fault is not None:
        field = _FIELDS[fault.field]
        cell = text_of[field].iloc[fault.row] if field in text_of else ""
        raise IngestError(path, fault.row + 2, field, f"{shorten(str(cell).strip())}: {fault.message}")


def import_traces(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> int:
    """Import trace files, each all-or-nothing; returns samples added (re-imports add none).

    Every file leaves a collection_runs row: 'ok', 'failed' (with the error) or 'interrupted'.
    """
    added = 0
    for path in paths:
        with store.run(con, "bitbrains", str(path)) as run:
            vm, samples = read_trace(path)
            with store.transaction(con):
                store.upsert_vcenter(con, VCENTER)
                store.upsert_vms(con, vm)
                new = store.insert_samples(con, samples)
            run.vms, run.disks, run.samples_added, run.samples_skipped = 1, 0, new, len(samples) - new
            run.window_start, run.window_end = samples["ts"].min(), samples["ts"].max()
        added += new
    return added
