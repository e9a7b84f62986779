"""Samples as dense key x time grids: string keys coded once, one float matrix per metric, NaN where no sample.

Every aggregation of a plan (disk and VM profiles, the time x VM byte matrix, the estate series) reads
these grids instead of grouping rows on string keys. Sample frames may be pandas or polars (pandas is
converted once); polars Enum key columns, as churnplan.core.store.load_samples_polars returns them, are used as
they are. A missing sample is NaN; a sample whose value is NULL/NaN counts as a sample of 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import vm_sums

DISK_KEY = ["vcenter", "vm_id", "instance"]
VM_KEY = ["vcenter", "vm_id"]
METRICS = ["write_kbps", "write_iops", "iops", "rw_kbps"]   # iops = write + read IOPS, rw = write + read KBps
DEFAULT_INTERVAL_S = 300
_LUT_LIMIT = 1 << 25       # largest key-code product coded by a lookup table rather than by sorting
_NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000}


def marked_excluded(disks: pd.DataFrame) -> pd.DataFrame:
    """The disks whose `excluded` flag is set (every row where the frame has no such column: a list of excluded
    disks), the rows SampleGrid.without leaves out of a plan's sums."""
    return disks[disks["excluded"].astype(bool)] if "excluded" in disks.columns else disks


@dataclass
class SampleGrid:
    """Per key (a disk, or a VM after `by_vm`) and sample end time: write KBps, write IOPS, IOPS and R+W KBps."""

    keys: pd.DataFrame         # one row per grid row: vcenter, vm_id[, instance]; a VM's disks are adjacent
    times: np.ndarray          # epoch seconds of the grid columns, sorted
    interval_s: float
    write_kbps: np.ndarray     # shape (len(keys), len(times)), NaN where there is no sample
    write_iops: np.ndarray
    iops: np.ndarray
    rw_kbps: np.ndarray
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # samples per row

    def __post_init__(self) -> None:
        if self.counts.size != len(self.keys):  # not given: count them
            self.counts = self.times.size - np.isnan(self.write_kbps).sum(axis=1) if self.times.size \
                else np.zeros(len(self.keys), dtype=np.int64)

    @property
    def dense(self) -> bool:
        """Every row has a sample at every time."""
        return bool(np.all(self.counts == self.times.size))

    def metric(self, name: str) -> np.ndarray:
        """The matrix of one of METRICS, by name."""
        matrix: np.ndarray = getattr(self, name)
        return matrix

    def present_times(self) -> np.ndarray:
        """Columns holding at least one sample."""
        if self.dense:
            return np.ones(self.times.size, dtype=bool) if len(self.keys) else np.zeros(self.times.size, dtype=bool)
        present: np.ndarray = ~np.all(np.isnan(self.write_kbps), axis=0)
        return present

    def select(self, rows: np.ndarray) -> SampleGrid:
        """The grid of the rows where `rows` (a boolean mask) is true."""
        if rows.all():
            return self
        w, wi, io, rw = (self.metric(m)[rows] for m in METRICS)
        return SampleGrid(self.keys[rows].reset_index(drop=True), self.times, self.interval_s, w, wi, io, rw,
                          counts=self.counts[rows])

    def without(self, disks: pd.DataFrame) -> SampleGrid:
        """The grid without the rows of `disks` (DISK_KEY columns), e.g. disks excluded from replication."""
        if disks.empty or "instance" not in self.keys.columns:
            return self
        here = pd.MultiIndex.from_frame(self.keys[DISK_KEY].astype(str))
        return self.select(~here.isin(pd.MultiIndex.from_frame(disks[DISK_KEY].astype(str))))

    def window(self, start: float | None, end: float | None) -> SampleGrid:
        """Samples ending within [start, end] (epoch seconds; None = open); a view, nothing is copied."""
        lo = 0 if start is None else int(np.searchsorted(self.times, start, side="left"))
        hi = self.times.size if end is None else int(np.searchsorted(self.times, end, side="right"))
        if lo == 0 and hi == self.times.size:
            return self
        return SampleGrid(self.keys, self.times[lo:hi], self.interval_s,
                          *(self.metric(m)[:, lo:hi] for m in METRICS))

    def by_vm(self, write_only: bool = False, into: np.ndarray | None = None) -> SampleGrid:
        """Per VM and time, the sum over its disks (NaN where none of them has a sample); `write_only`: of write
        KBps alone, the other metrics NaN views (what the queues read). `into`: a matrix whose first rows take
        the write sums (vm_sums.group_sums), so a caller gathering every block's series need not copy them."""
        if "instance" not in self.keys.columns:
            if into is not None:
                into[:len(self.keys)] = self.write_kbps
            return self
        vm = self.keys[VM_KEY].to_numpy()
        new = np.ones(len(vm), dtype=bool)
        if len(vm):
            new[1:] = (vm[1:] != vm[:-1]).any(axis=1)
        starts = np.nonzero(new)[0]
        sizes = np.diff(np.append(starts, len(vm)))
        keys = self.keys.loc[starts, VM_KEY].reset_index(drop=True)
        nan = np.broadcast_to(np.float64(np.nan), (starts.size, self.times.size))
        sums = [vm_sums.group_sums(self.metric(m), starts, sizes, self.dense, into if m == "write_kbps" else None)
                if m == "write_kbps" or not write_only else nan for m in METRICS]
        full = np.full(starts.size, self.times.size) if self.dense else np.zeros(0, np.int64)   # else counted
        return SampleGrid(keys, self.times, self.interval_s, sums[0], sums[1], sums[2], sums[3], counts=full)


def from_frame(samples: pd.DataFrame | pl.DataFrame | SampleGrid) -> SampleGrid:
    """The grid of a sample frame (SAMPLE_COLUMNS of churnplan.core.store; one interval; ts UTC, tz-aware or naive).

    Rows are coded and scattered block by block, so no full-length temporary is made per sample column.
    """
    if isinstance(samples, SampleGrid):
        return samples
    frame = samples if isinstance(samples, pl.DataFrame) else pl.from_pandas(samples)
    if frame.height == 0:
        empty = np.zeros((0, 0))
        return SampleGrid(pd.DataFrame({k: pd.Series(dtype=object) for k in DISK_KEY}), np.zeros(0),
                          float(DEFAULT_INTERVAL_S), empty, empty, empty, empty)
    lo, hi = cast(float, frame["interval_s"].min()), cast(float, frame["interval_s"].max())
    if lo != hi:
        raise ValueError(f"samples mix intervals {sorted(frame['interval_s'].unique().to_list())} s; "
                         "load one interval (--interval)")
    if not isinstance(frame["ts"].dtype, pl.Datetime):
        raise ValueError(f"samples: column 'ts' must hold timestamps, got {frame['ts'].dtype}")
    frame, cats = _enum_keys(frame)
    keys = _KeyCoder(frame, cats)
    times = _TimeCoder(frame["ts"], float(lo))
    n_rows, n_t = len(keys.keys), times.seconds.size
    grids = {m: np.full((n_rows, n_t), np.nan) for m in METRICS}
    flat = {m: g.reshape(-1) for m, g in grids.items()}
    for offset, block in _blocks(frame):
        cell = keys.rows(offset, block.height).astype(np.int64) * n_t + times.columns(block["ts"])
        w, r = _values(block["write_kbps"]), _values(block["read_kbps"])
        wi, ri = _values(block["write_iops"]), _values(block["read_iops"])
        flat["write_kbps"][cell] = w
        flat["write_iops"][cell] = wi
        flat["iops"][cell] = wi + ri
        flat["rw_kbps"][cell] = w + r
    out = SampleGrid(keys.keys, times.seconds, float(lo), *(grids[m] for m in METRICS))
    if int(out.counts.sum()) != frame.height:
        raise ValueError(f"samples hold {frame.height - int(out.counts.sum())} rows repeating a disk and end time; "
                         "each (vcenter, vm_id, instance, ts) must appear once")
    return out


_BLOCK_ROWS = 1 << 20


def _blocks(frame: pl.DataFrame) -> Iterator[tuple[int, pl.DataFrame]]:
    """(offset, rows) blocks of at most _BLOCK_ROWS, so per-block temporaries stay small."""
    for offset in range(0, frame.height, _BLOCK_ROWS):  # blocks of rows, each vectorised
        yield offset, frame.slice(offset, _BLOCK_ROWS)


def _values(s: pl.Series) -> np.ndarray:
    """A value column as float64, NULL/NaN as 0 (a sample of nothing written)."""
    v = s.cast(pl.Float64).to_numpy()
    return np.where(np.isnan(v), 0.0, v) if np.isnan(v).any() else v


def _enum_keys(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """The frame with Enum key columns (string keys are coded here, once), and each key's categories."""
    cats = []
    for k in DISK_KEY:
        s = frame[k]
        if s.null_count():
            raise ValueError(f"samples: column {k!r} holds {s.null_count()} empty values")
        if not isinstance(s.dtype, pl.Enum):
            s = s.cast(pl.String)
            s = s.cast(pl.Enum(s.unique().sort()))
            frame = frame.with_columns(s)
        cats.append(np.asarray(cast(pl.Enum, s.dtype).categories.to_list(), dtype=np.object_))
    return frame, cats


class _KeyCoder:
    """Grid row per sample: the (vcenter, vm_id, instance) code, numbered densely in that order."""

    def __init__(self, frame: pl.DataFrame, cats: list[np.ndarray]) -> None:
        sizes = [len(c) for c in cats]
        total = sizes[0] * sizes[1] * sizes[2]
        code = [pl.col(k).to_physical().cast(pl.Int64) for k in DISK_KEY]
        wide = pl.Int64 if total >= 2 ** 31 else pl.Int32
        self._combined = frame.select(((code[0] * sizes[1] + code[1]) * sizes[2] + code[2]).cast(wide)).to_series()
        self._lut = None
        if total <= _LUT_LIMIT:  # mark the codes present, block by block, then number them in order
            present = np.zeros(total, dtype=bool)
            for offset in range(0, len(self._combined), _BLOCK_ROWS):
                present[self._combined.slice(offset, _BLOCK_ROWS).to_numpy()] = True
            used = np.nonzero(present)[0]
            self._lut = (np.cumsum(present) - 1).astype(np.int32)
        else:
            used = np.sort(self._combined.unique().to_numpy()).astype(np.int64)
        self._used = used
        vc, rest = np.divmod(used, sizes[1] * sizes[2])
        vm, inst = np.divmod(rest, sizes[2])
        self.keys = pd.DataFrame({"vcenter": cats[0][vc], "vm_id": cats[1][vm], "instance": cats[2][inst]})

    def rows(self, offset: int, length: int) -> np.ndarray:
        """Rows of the samples offset .. offset + length."""
        combined = self._combined.slice(offset, length).to_numpy()
        return self._lut[combined] if self._lut is not None else np.searchsorted(self._used, combined)


class _TimeCoder:
    """Grid column per sample: its end time's rank among the distinct end times (sorted epoch `seconds`)."""

    def __init__(self, ts: pl.Series, interval_s: float) -> None:
        self._per_unit = _NS_PER_UNIT[str(cast(pl.Datetime, ts.dtype).time_unit)]
        raw = ts.to_physical()
        self._first = int(cast(int, raw.min()))
        self._step: int | None
        step, rem = divmod(int(round(interval_s * 1e9)), self._per_unit)
        span = int(cast(int, raw.max())) - self._first
        regular = step > 0 and rem == 0 and span // step < _LUT_LIMIT
        present = np.zeros(span // step + 1 if regular else 0, dtype=bool)
        for offset in range(0, len(raw), _BLOCK_ROWS) if regular else ():  # blocks of rows, each vectorised
            slot, off = np.divmod(raw.slice(offset, _BLOCK_ROWS).to_numpy() - self._first, step)
            if off.any():
                regular = False
                break
            present[slot] = True
        if regular:  # end times on the interval grid: a slot lookup, no sort
            self._step = step
            used = np.nonzero(present)[0]
            self._lut = (np.cumsum(present) - 1).astype(np.int32)
            self.seconds = (self._first + used * step) * self._per_unit / 1e9
        else:
            self._step = None
            self._used = np.sort(raw.unique().to_numpy())
            self.seconds = self._used.astype(np.int64) * self._per_unit / 1e9

    def columns(self, ts: pl.Series) -> np.ndarray:
        """Grid column of each end time in `ts`."""
        raw = ts.to_physical().to_numpy()
        found: np.ndarray
        if self._step is not None:
            found = self._lut[(raw - self._first) // self._step]
        else:
            found = np.searchsorted(self._used, raw)
        return found
