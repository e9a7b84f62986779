"""Samples read from the store block by block: whole VMs at a time, as dense disk x time matrices on one time axis.

Planning never holds every sample: `SampleReader.blocks` yields one `SampleBlock` per set of whole VMs of
about `rows_per_block` samples. When the samples table is clustered by VM (each disk's and each VM's rows
adjacent, as `sample_layout.cluster_samples` leaves them), a block is one rowid range, so DuckDB reads only
its row groups and no key string is materialised per sample; otherwise each block is a join against its
disks' keys (a scan of the table per block: correct, slower). DuckDB's own memory and threads are capped.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from churnplan.core import sample_layout
from churnplan.core.memory_cap import checked_size

DISK_KEY = ["vcenter", "vm_id", "instance"]
VM_KEY = ["vcenter", "vm_id"]
DEFAULT_ROWS_PER_BLOCK = 2_000_000
_READERS = min(2, os.cpu_count() or 1)   # blocks read at once, each its own one-thread DuckDB query (sequential)
_QUEUED_PER_READER = 2   # blocks asked for ahead per reader: one read as the caller's work on a block varies
_COUNTED = ["write_iops", "read_kbps", "read_iops"]   # values the telemetry assessment counts as present
_NS_PER_US = 1_000


@dataclass(frozen=True)
class SampleBlock:
    """The samples of whole VMs: per disk (rows, sorted by DISK_KEY) and time (the reader's axis), NaN = none.
    The matrices may be read-only views of the rows DuckDB returned."""

    keys: pd.DataFrame         # vcenter, vm_id, instance
    write_kbps: np.ndarray     # shape (len(keys), len(times))
    write_iops: np.ndarray
    iops: np.ndarray           # write + read IOPS
    rw_kbps: np.ndarray        # write + read KBps
    counts: np.ndarray         # samples per row (each a value, a missing counter read as 0)


_SEQUENTIAL_ROWS = """ FROM samples s WHERE rowid BETWEEN $5 AND $6 AND s.interval_s = $1
    AND ($2::TIMESTAMP IS NULL OR s.ts >= $2) AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)
    AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], s.vcenter))"""
_STATS_SELECT = sample_layout.STATS_SELECT   # per disk: count, rowid span, time step (a0, steps)
_TIME_SPANS = """, min(epoch_us(ts)) AS t0, max(epoch_us(ts)) AS t1,
    min(epoch_us(ts) % (interval_s * 1000000)) AS r0, max(epoch_us(ts) % (interval_s * 1000000)) AS r1"""
_STATS_WHERE = """ FROM samples s WHERE ($1::INTEGER IS NULL OR s.interval_s = $1)
    AND ($2::TIMESTAMP IS NULL OR s.ts >= $2) AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)
    AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], s.vcenter)) GROUP BY ALL"""


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return pd.Timestamp(value).tz_convert("UTC").tz_localize(None).to_pydatetime()


class SampleReader:
    """One interval's samples within [start, end] (inclusive), read per block of whole VMs.

    `interval_s` None: the store's main interval, the one spanning the most time (as store.default_interval
    picks it), found in the same scan as the disks' figures when no window is given.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, interval_s: int | None, start: datetime | None = None,
                 end: datetime | None = None, rows_per_block: int = DEFAULT_ROWS_PER_BLOCK,
                 vcenters: Sequence[str] | None = None) -> None:
        self._con = con
        if interval_s is None and (start is not None or end is not None):
            from churnplan.core.store import default_interval   # over all samples, not the window
            interval_s = default_interval(con, vcenters)
        self._params: list[Any] = [None if interval_s is None else int(interval_s), _naive_utc(start),
                                   _naive_utc(end), list(vcenters) if vcenters else None]   # $4: vCenters, NULL all
        self.rows_per_block = max(1, int(rows_per_block))
        self._present: list[pd.DataFrame] = []   # per block read sequentially: its disks' present-value counts
        self._write_only = False                 # blocks(write_only=True): the write column alone
        self._local = threading.local()          # each reader thread's cursor
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._threads: int | None = None        # DuckDB's threads, while the readers run one each
        self._stats()

    def _stats(self) -> None:
        """Each disk's sample count, rowid span and time span (`steps`: its time is a0 + rowid x interval, one
        sample per rowid step); the time axis from those spans when every disk's samples lie on one interval
        grid without gaps, else from a scan for the distinct times. A clustered store needs one lean scan (the
        time spans follow from a0 and the rowids), or none when its extents were recorded as it was clustered
        and still hold; any other a second one for the time spans themselves."""
        disks = self._recorded_extents()
        if disks is None:
            disks = self._con.execute(_STATS_SELECT + _STATS_WHERE, self._params).df()
        step = disks["interval_s"].to_numpy(np.int64) * 1_000_000
        if len(disks) and (disks["steps"] & (disks["hi"] - disks["lo"] + 1 == disks["n"])).all():
            t0 = disks["a0"].to_numpy(np.int64) + disks["lo"].to_numpy(np.int64) * step
            t1 = disks["a0"].to_numpy(np.int64) + disks["hi"].to_numpy(np.int64) * step
            disks = disks.assign(t0=t0, t1=t1, r0=np.fmod(t0, step), r1=np.fmod(t1, step))   # DuckDB's % is fmod
        else:
            disks = self._con.execute(_STATS_SELECT + _TIME_SPANS + _STATS_WHERE, self._params).df()
        if self._params[0] is None and len(disks):   # the interval spanning the most time, then the shortest
            span = disks.groupby("interval_s").agg(t0=("t0", "min"), t1=("t1", "max"))
            span = (span["t1"] - span["t0"]).reset_index(name="span")
            self._params[0] = int(span.sort_values(["span", "interval_s"], ascending=[False, True])
                                  ["interval_s"].iloc[0])
        self.interval_s = float(self._params[0]) if self._params[0] is not None else float("nan")
        disks = disks[disks["interval_s"] == self._params[0]].drop(columns="interval_s")
        self.disks = _sorted_keys(disks).reset_index(drop=True)
        self.samples = int(self.disks["n"].sum()) if len(self.disks) else 0
        self.clustered = self._is_clustered()
        self.sequential = self.clustered and bool(self.disks["steps"].all()) and self._in_order()
        step = int(round(self.interval_s * 1e6)) if self.samples else 1
        on_grid = self._grid_times(step)
        self.times_us: np.ndarray = on_grid if on_grid is not None else np.sort(self._con.execute(
                "SELECT DISTINCT epoch_us(ts) AS t FROM samples s WHERE s.interval_s = $1 "
                "AND ($2::TIMESTAMP IS NULL OR s.ts >= $2) AND ($3::TIMESTAMP IS NULL OR s.ts <= $3) "
                "AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], s.vcenter))", self._params)
                .fetchnumpy()["t"].astype(np.int64))
        self.times = self.times_us * _NS_PER_US / 1e9          # epoch seconds, as analytics.sample_grid codes them

    def _recorded_extents(self) -> pd.DataFrame | None:
        """The disks' figures _STATS_SELECT would give, as sample_layout recorded them for the whole table (its
        interval and vCenter filters select whole disks), when they still hold and no time window is asked."""
        interval_s, start, end, vcenters = self._params
        if start is not None or end is not None:
            return None
        disks = sample_layout.recorded_extents(self._con)
        if disks is None:
            return None
        keep = np.ones(len(disks), dtype=bool)
        if interval_s is not None:
            keep &= (disks["interval_s"] == interval_s).to_numpy()
        if vcenters is not None:
            keep &= disks["vcenter"].isin(vcenters).to_numpy()
        return disks[keep].reset_index(drop=True)

    def _grid_times(self, step: int) -> np.ndarray | None:
        """The distinct sample times when each disk has one sample per interval from its first to its last
        (one residue modulo the interval, count = span / interval + 1; the key forbids repeats); else None."""
        d = self.disks
        if d.empty:
            return np.zeros(0, dtype=np.int64)
        t0, t1, n = d["t0"].to_numpy(np.int64), d["t1"].to_numpy(np.int64), d["n"].to_numpy(np.int64)
        one_residue = (d["r0"] == d["r1"]).all() and d["r0"].nunique() == 1
        if not one_residue or not ((t1 - t0) // step + 1 == n).all() or not ((t1 - t0) % step == 0).all():
            return None
        first = int(t0.min())
        span = (int(t1.max()) - first) // step + 1
        cover = np.zeros(span + 1, dtype=np.int64)   # +1 where a disk's run starts, -1 after it ends
        np.add.at(cover, (t0 - first) // step, 1)
        np.add.at(cover, (t1 - first) // step + 1, -1)
        slots = np.nonzero(np.cumsum(cover[:-1]) > 0)[0]
        return first + slots * step

    def _is_clustered(self) -> bool:
        """Each disk's rows, and each VM's, fill one rowid range with no other row of this selection in it,
        and the VMs' ranges follow their sorted order: a block of consecutive VMs is one range of its own."""
        d = self.disks
        if d.empty:
            return True
        if not ((d["hi"] - d["lo"] + 1) == d["n"]).all():
            return False
        vm = d.groupby(VM_KEY, sort=False).agg(n=("n", "sum"), lo=("lo", "min"), hi=("hi", "max"))
        in_order = bool((vm["lo"].to_numpy()[1:] > vm["hi"].to_numpy()[:-1]).all())
        return in_order and bool(((vm["hi"] - vm["lo"] + 1) == vm["n"]).all())

    def _in_order(self) -> bool:
        """Query results come in the table's row order (DuckDB's preserve_insertion_order, on by default)."""
        row = self._con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
        return bool(row and row[0][0])

    def vm_keys(self) -> pd.DataFrame:
        """VMs with samples, sorted (vcenter, vm_id): the row order of the per-VM grids of all blocks together."""
        return self.disks[VM_KEY].drop_duplicates().reset_index(drop=True)

    def blocks(self, write_only: bool = False) -> Iterator[SampleBlock]:
        """Blocks of whole VMs in sorted VM order, each about rows_per_block samples (at least one VM).

        The next blocks are read (DuckDB, off the GIL) while the caller works on this one, two per reader asked
        for ahead (so a reader never waits for a block slow to profile). A sequential store is read by two
        threads at once, each query on its own cursor and one DuckDB thread (so its columns come as one Arrow
        chunk each, handed over uncopied): at most five blocks in memory, three with one reader.
        `write_only`: a second read for the write series alone; on a sequential store only that column is read
        and the other matrices are NaN views (elsewhere all are read), and no telemetry is counted.
        """
        parts = list(self._parts())
        self._write_only = write_only
        if not write_only:
            self._present = []
        readers = _READERS if self.sequential and len(parts) > 1 else 1
        if readers > 1:   # each query on one thread: its columns come as one Arrow chunk each, handed over uncopied
            row = self._con.execute("SELECT current_setting('threads')").fetchone()
            self._threads = int(row[0]) if row else None
            self._con.execute("SET threads = 1")
        try:
            with ThreadPoolExecutor(max_workers=readers) as pool:
                depth = readers * _QUEUED_PER_READER
                ahead = deque(pool.submit(self._read, p) for p in parts[:depth])
                for i in range(len(parts)):
                    block = ahead.popleft().result()
                    if i + depth < len(parts):
                        ahead.append(pool.submit(self._read, parts[i + depth]))
                    yield block
                    del block
        finally:
            self.release()

    def telemetry_counts(self) -> pd.DataFrame | None:
        """After a sequential read of every block: per disk the counts churnplan.core.store.telemetry aggregates
        (samples, first and last sample, time residues, values neither NULL nor NaN), so it need not scan again;
        None when the blocks were read another way."""
        if not self.sequential or sum(len(p) for p in self._present) != len(self.disks):
            return None
        d = self.disks.rename(columns={"n": "samples", "t0": "first_us", "t1": "last_us"})
        counts = pd.concat(self._present, ignore_index=True)
        return d[DISK_KEY + ["samples", "first_us", "last_us", "r0", "r1"]].merge(counts, on=DISK_KEY, how="left")

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor on the store (DuckDB runs one query at a time per connection)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self._con.cursor()
            self._cursors.append(cursor)
        return cursor

    def release(self) -> None:
        """Hand DuckDB's cached table pages back (it keeps up to its memory limit cached after a scan)."""
        for cursor in self._cursors:
            cursor.close()
        self._cursors, self._local = [], threading.local()
        if self._threads is not None:
            self._con.execute(f"SET threads = {int(self._threads)}")   # SET takes no parameters: an int
            self._threads = None
        row = self._con.execute("SELECT current_setting('memory_limit')").fetchone()
        limit = row[0] if row else "256MB"
        self._con.execute("SET memory_limit = '16MB'")
        self._con.execute(f"SET memory_limit = '{checked_size(str(limit).replace(' ', ''))}'")

    def _parts(self) -> Iterator[pd.DataFrame]:
        """The disks of each block: whole VMs, consecutive in sorted order, about rows_per_block samples."""
        d = self.disks
        if d.empty:
            return
        vm_start = np.ones(len(d), dtype=bool)
        vm_start[1:] = ((d["vcenter"].to_numpy()[1:] != d["vcenter"].to_numpy()[:-1])
                        | (d["vm_id"].to_numpy()[1:] != d["vm_id"].to_numpy()[:-1]))
        starts = np.nonzero(vm_start)[0]
        ends = np.append(starts[1:], len(d))
        rows_before = np.concatenate([[0], np.cumsum(d["n"].to_numpy())])
        lo = 0
        while lo < starts.size:
            hi = lo + 1   # at least one VM; then VMs while the block stays within budget
            while hi < starts.size and rows_before[ends[hi]] - rows_before[starts[lo]] <= self.rows_per_block:
                hi += 1
            yield d.iloc[starts[lo]:ends[hi - 1]].reset_index(drop=True)
            lo = hi

    def _read(self, disks: pd.DataFrame) -> SampleBlock:
        """The samples of `disks` (whole VMs, sorted) as matrices on the reader's time axis."""
        if self.sequential:
            return self._read_sequential(disks)
        if self.clustered:
            params = self._params + [int(disks["lo"].min()), int(disks["hi"].max())]
            t = self._con.sql(
                """SELECT rowid AS r, epoch_us(ts) AS ts_us, write_kbps, read_kbps, write_iops, read_iops
                   FROM samples s WHERE rowid BETWEEN $5 AND $6 AND s.interval_s = $1
                     AND ($2::TIMESTAMP IS NULL OR s.ts >= $2) AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)
                     AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], s.vcenter))""",
                params=params).to_arrow_table()
            rid = t.column("r").to_numpy()
            order = np.argsort(disks["lo"].to_numpy(), kind="stable")
            fast = self._as_read(t, rid, disks, order)
            if fast is not None:
                return fast
            row = order[np.searchsorted(disks["lo"].to_numpy()[order], rid, side="right") - 1]
        else:
            keyed = disks[DISK_KEY].assign(_row=np.arange(len(disks), dtype=np.int32))
            self._con.register("_block_disks", keyed)
            try:
                t = self._con.sql(
                    """SELECT k._row AS r, epoch_us(s.ts) AS ts_us, s.write_kbps, s.read_kbps, s.write_iops,
                               s.read_iops
                        FROM samples s JOIN _block_disks k USING (vcenter, vm_id, instance)
                        WHERE s.interval_s = $1 AND ($2::TIMESTAMP IS NULL OR s.ts >= $2)
                          AND ($3::TIMESTAMP IS NULL OR s.ts <= $3)""", params=self._params[:3]).to_arrow_table()
            finally:
                self._con.unregister("_block_disks")
            row = t.column("r").to_numpy().astype(np.int64)
        col = np.searchsorted(self.times_us, t.column("ts_us").to_numpy())
        n_t = self.times_us.size
        cell = row * n_t + col
        w, r = _values(t.column("write_kbps")), _values(t.column("read_kbps"))
        wi, ri = _values(t.column("write_iops")), _values(t.column("read_iops"))
        del t
        mats = []
        for v in (w, wi, wi + ri, w + r):
            m = np.full(len(disks) * n_t, np.nan)
            m[cell] = v
            mats.append(m.reshape(len(disks), n_t))
        cells = len(disks) * n_t - int(np.isnan(mats[0]).sum())   # values are never NaN: a repeat overwrote one
        if cells != cell.size:
            raise ValueError(f"samples hold {cell.size - cells} rows repeating a disk and end time; "
                             "each (vcenter, vm_id, instance, ts) must appear once")
        return _block(disks, mats, np.bincount(row, minlength=len(disks)))


    def _read_sequential(self, disks: pd.DataFrame) -> SampleBlock:
        """The block when each disk's rows are one rowid range stepping one interval per row (`sequential`):
        the rows arrive disk after disk in rowid order, so each row's disk and time follow from the stats and
        only the values are read (no rowid, no timestamp)."""
        lo, n = disks["lo"].to_numpy(np.int64), disks["n"].to_numpy(np.int64)
        params = self._params + [int(lo.min()), int(disks["hi"].max())]
        n_t, order = self.times_us.size, np.argsort(lo, kind="stable")
        metrics = None if self._write_only else self._summed(params, int(n.sum()))
        if metrics is not None:            # no value missing: every counter present in every sample
            self._present.append(disks[DISK_KEY].assign(**{f"{c}_present": n for c in _COUNTED}))
        else:
            metrics = self._raw(params, disks, np.repeat(order, n[order]))
        mats = []
        if (n == n_t).all():   # every disk has every time: its rows, in time order, are its matrix row
            back = None if (order == np.arange(order.size)).all() else np.argsort(order)  # rowid -> key order
            for v in metrics:
                m = v.reshape(len(disks), n_t)
                mats.append(m if back is None else m[back])
        else:
            step = int(round(self.interval_s * 1e6))
            row = np.repeat(order, n[order])   # each row's disk (rows come disk after disk in rowid order)
            first = np.cumsum(n[order]) - n[order]
            rowid = np.repeat(lo[order] - first, n[order]) + np.arange(row.size)
            ts_us = disks["a0"].to_numpy(np.int64)[row] + rowid * step
            cell = row * n_t + np.searchsorted(self.times_us, ts_us)
            for v in metrics:
                flat = np.full(len(disks) * n_t, np.nan)
                flat[cell] = v
                mats.append(flat.reshape(len(disks), n_t))
        nan = np.broadcast_to(np.float64(np.nan), (len(disks), n_t))   # write_only: the metrics not read
        return _block(disks, mats + [nan] * (4 - len(mats)), n)

    def _arrow(self, select: str, params: list[Any], rows: int) -> Any:
        """The block's rows of `select` as one Arrow table (one chunk per column when DuckDB runs one thread)."""
        t = self._cursor().sql(select + _SEQUENTIAL_ROWS, params=params).to_arrow_table(batch_size=max(1, rows))
        if t.num_rows != rows:
            raise RuntimeError(f"samples changed while planning: read {t.num_rows} rows, expected {rows}")
        return t

    def _summed(self, params: list[Any], rows: int) -> list[np.ndarray] | None:
        """The four metrics with DuckDB adding write and read (the same IEEE sums numpy would make), when no
        value of the block is NULL or NaN (a NULL or NaN in any counter makes a sum NULL or NaN); else None."""
        t = self._arrow("SELECT write_kbps, write_iops, write_iops + read_iops, write_kbps + read_kbps", params, rows)
        if any(c.null_count for c in t.columns):
            return None
        v = [_dense(c) for c in t.columns]
        if np.isnan(np.add.reduce(v[2])) or np.isnan(np.add.reduce(v[3])):   # one pass each, no mask
            return None
        return v

    def _raw(self, params: list[Any], disks: pd.DataFrame, row: np.ndarray) -> list[np.ndarray]:
        """The metrics from the four counters read as they are (NULL and NaN read as 0, as _values does, and
        counted as missing; `row`: each value's disk); the write series alone when reading `write_only`."""
        n = disks["n"].to_numpy(np.int64)
        columns = ("write_kbps",) if self._write_only else ("write_kbps", *_COUNTED)
        t = self._arrow("SELECT " + ", ".join(columns), params, int(n.sum()))
        values, present = {}, {}
        for c in columns:
            v = t.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            if not np.isnan(np.add.reduce(v)):   # one pass, no mask: a NaN (or NULL) anywhere makes the sum NaN
                values[c] = v
                if c in _COUNTED:
                    present[f"{c}_present"] = n
                continue
            missing = np.isnan(v)
            values[c] = np.where(missing, 0.0, v) if missing.any() else v
            if c in _COUNTED:
                present[f"{c}_present"] = n - (np.bincount(row[missing], minlength=len(disks)) if missing.any() else 0)
        if self._write_only:
            return [values["write_kbps"]]
        self._present.append(disks[DISK_KEY].assign(**present))
        w, r, wi, ri = values["write_kbps"], values["read_kbps"], values["write_iops"], values["read_iops"]
        return [w, wi, wi + ri, w + r]

    def _as_read(self, t, rid: np.ndarray, disks: pd.DataFrame, order: np.ndarray) -> SampleBlock | None:
        """The block without a scatter when its rows arrived in rowid order, every disk with a sample at
        every time in time order (a clustered, complete store): each metric is the rows reshaped."""
        n_t = self.times_us.size
        if not (disks["n"] == n_t).all() or rid.size != len(disks) * n_t:
            return None
        if rid.size > 1 and not (np.diff(rid) > 0).all():
            return None
        if not np.array_equal(t.column("ts_us").to_numpy().reshape(len(disks), n_t),
                              np.broadcast_to(self.times_us, (len(disks), n_t))):
            return None
        back = np.argsort(order)   # rows in rowid order -> rows in key order
        keep = None if np.array_equal(order, np.arange(order.size)) else back
        w, r = _values(t.column("write_kbps")), _values(t.column("read_kbps"))
        wi, ri = _values(t.column("write_iops")), _values(t.column("read_iops"))
        mats = []
        for v in (w, wi, wi + ri, w + r):
            m = v.reshape(len(disks), n_t)
            mats.append(m if keep is None else m[keep])
        return _block(disks, mats, np.full(len(disks), n_t))


def _block(disks: pd.DataFrame, mats: list[np.ndarray], counts: np.ndarray) -> SampleBlock:
    """The block of `disks` from its four metric matrices (write KBps, write IOPS, IOPS, R+W KBps)."""
    w, wi, io, rw = mats
    return SampleBlock(disks[DISK_KEY].reset_index(drop=True), w, wi, io, rw, counts)


def _dense(column) -> np.ndarray:
    """A float64 column without NULLs as one array: a view of a single chunk, else its chunks' views joined
    (a plain copy, twice as fast as pyarrow's conversion, which checks each value against the validity map)."""
    views = [chunk.to_numpy(zero_copy_only=True) for chunk in column.chunks]
    joined = views[0] if len(views) == 1 else np.concatenate(views) if views else np.zeros(0)
    return joined.astype(np.float64, copy=False)


def _values(column) -> np.ndarray:
    """A value column as float64, NULL/NaN as 0 (a sample of nothing written), as analytics.sample_grid reads it."""
    v = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)   # may be a read-only view
    return np.where(np.isnan(v), 0.0, v) if np.isnan(v).any() else v


def _sorted_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` sorted by DISK_KEY in code-point order (as polars and Python sort strings)."""
    keys = list(zip(*(frame[k].astype(str) for k in DISK_KEY), strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return frame.iloc[order]
