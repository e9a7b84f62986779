"""Per-disk telemetry statistics: the few counts the telemetry assessment is derived from, so that any engine
(every sample in memory here, one SQL aggregate in the store, Spark) can compute them where the samples are.

The statistics frame (`DiskStatistics.disks`), one row per disk with samples at the assessed interval:

    vcenter, vm_id, instance   str    the disk's key
    samples                    int    samples of the disk at the interval
    first_us, last_us          int    epoch microseconds (UTC) of the disk's first and last sample end
    inner_gaps                 int    runs of missing slots between two consecutive samples of the disk
    longest_inner_gap          int    missing slots in the longest such run (0 without one)
    write_iops_present         int    samples whose write IOPS is a number (not NULL, not NaN)
    read_kbps_present          int    the same for read KBps
    read_iops_present          int    the same for read IOPS

A sample's slot is round-half-to-even((ts - t0) / interval) with t0 the earliest sample end of the whole
selection (every disk); consecutive samples k slots apart leave k - 1 slots missing. `DiskStatistics.intervals`
lists every interval each VM has samples at (vcenter, vm_id, interval_s), for mixed intervals; None means the
assessed interval alone.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

KEYS = ["vcenter", "vm_id", "instance"]
COUNTERS = {"write_iops": "write IOPS", "read_kbps": "read KBps", "read_iops": "read IOPS"}
STAT_COLUMNS = [*KEYS, "samples", "first_us", "last_us", "inner_gaps", "longest_inner_gap",
                *(f"{c}_present" for c in COUNTERS)]
US_PER_S = 1_000_000


@dataclass(frozen=True)
class DiskStatistics:
    """Per-disk statistics of one interval's samples (STAT_COLUMNS) and each VM's intervals (see module doc)."""

    interval_s: float
    disks: pd.DataFrame
    intervals: pd.DataFrame | None = None


def slots(offset_us: np.ndarray, interval_us: int) -> np.ndarray:
    """Slot numbers of sample ends `offset_us` after the window start: offset / interval rounded half to even,
    in integers (exact, as SQL and Spark compute it)."""
    q, r = np.divmod(np.asarray(offset_us, dtype=np.int64), interval_us)
    up = (2 * r > interval_us) | ((2 * r == interval_us) & (q % 2 == 1))
    return np.asarray(q + up, dtype=np.int64)


def frame(samples: pd.DataFrame | pl.DataFrame) -> pl.DataFrame:
    """Keys as Enum (coded once: sorting and grouping then compare integers), ts as epoch microseconds, NaN
    as null."""
    f = samples if isinstance(samples, pl.DataFrame) else pl.from_pandas(samples)
    keys = []
    for k in KEYS:
        s = f[k] if isinstance(f[k].dtype, pl.Enum) else f[k].cast(pl.String)
        keys.append(s if isinstance(s.dtype, pl.Enum) else s.cast(pl.Enum(s.unique().drop_nulls().sort())))
    return f.with_columns(*keys, pl.col("ts").dt.epoch("us").cast(pl.Int64),
                          *(pl.col(c).cast(pl.Float64).fill_nan(None) for c in ("write_kbps", *COUNTERS)))


def planning_interval(f: pl.DataFrame) -> float:
    """The interval spanning the most time (the store's default planning interval), smallest on a tie."""
    spans = f.group_by("interval_s").agg(span=pl.col("ts").max() - pl.col("ts").min())
    return float(spans.sort(["span", "interval_s"], descending=[True, False])["interval_s"][0])


def from_samples(samples: pd.DataFrame | pl.DataFrame, interval_s: float | None = None,
                 t0_us: int | None = None) -> DiskStatistics:
    """The statistics of `samples` (churnplan.core.store SAMPLE_COLUMNS, pandas or polars; one or several
    intervals) at `interval_s` (default: the interval spanning the most time); ValueError when none is at it.

    `t0_us`: the selection's earliest sample end when `samples` are part of it (an engine computing each group of
    VMs where its samples are), so slots count from the whole selection's start; default their own earliest."""
    f = frame(samples)
    if f.height == 0:
        return DiskStatistics(float(interval_s or 0), pd.DataFrame(columns=STAT_COLUMNS))
    iv = float(interval_s) if interval_s is not None else planning_interval(f)
    intervals = f.select(*(pl.col(k).cast(pl.String) for k in KEYS[:2]), "interval_s").unique().to_pandas()
    p = f.filter(pl.col("interval_s") == iv)
    if p.height == 0:
        raise ValueError(f"samples hold no {iv:g} s interval; they hold "
                         f"{', '.join(str(x) for x in sorted(f['interval_s'].unique().to_list()))} s")
    return DiskStatistics(iv, _disk_statistics(p, iv, t0_us), intervals)


def _disk_statistics(p: pl.DataFrame, iv: float, t0_us: int | None = None) -> pd.DataFrame:
    """Per disk of `p` (one interval): STAT_COLUMNS, slots counted from `t0_us` (default `p`'s earliest end).

    Each sample becomes one integer, disk row x window span + its offset, so one sort of integers orders every
    disk's samples in time (a lexsort when that would overflow); gaps are slot steps above one between
    neighbours of the same disk."""
    phys = [p[k].to_physical().cast(pl.Int64).to_numpy() for k in KEYS]
    cats = [np.asarray(typing.cast(pl.Enum, p[k].dtype).categories.to_list()).astype(object) for k in KEYS]
    code = (phys[0] * len(cats[1]) + phys[1]) * len(cats[2]) + phys[2]
    total = len(cats[0]) * len(cats[1]) * len(cats[2])
    if total <= 1 << 25:  # disks present marked in a table, numbered in key order: no sort of every sample
        present = np.zeros(total, dtype=bool)
        present[code] = True
        used = np.nonzero(present)[0]
        row = (np.cumsum(present) - 1)[code].astype(np.int64)
    else:
        used, row = np.unique(code, return_inverse=True)
        row = row.astype(np.int64)
    n = used.size
    ts = p["ts"].to_numpy().astype(np.int64)
    t0 = int(ts.min()) if t0_us is None else int(t0_us)
    offset = ts - t0
    span = int(offset.max()) + 1
    if n * span < 1 << 62:
        comb = np.sort(row * span + offset)
        r, off = np.divmod(comb, span)
    else:
        order = np.lexsort((offset, row))
        r, off = row[order], offset[order]
    samples = np.bincount(r, minlength=n)
    starts = np.concatenate([[0], np.cumsum(samples)[:-1]])
    sl = slots(off, int(round(iv * US_PER_S)))
    # Slots missing after each sample before the next of the same disk (0 at a disk's last sample).
    miss = np.append(np.where(r[1:] == r[:-1], np.diff(sl) - 1, 0).clip(min=0), 0)
    vc, rest = np.divmod(used, len(cats[1]) * len(cats[2]))
    vm, inst = np.divmod(rest, len(cats[2]))
    d = pd.DataFrame({"vcenter": cats[0][vc], "vm_id": cats[1][vm], "instance": cats[2][inst],
                      "samples": samples.astype(np.int64),
                      "first_us": t0 + off[starts], "last_us": t0 + off[starts + samples - 1],
                      "inner_gaps": np.add.reduceat((miss > 0).astype(np.int64), starts),
                      "longest_inner_gap": np.maximum.reduceat(miss, starts).astype(np.int64)})
    for c in COUNTERS:
        d[f"{c}_present"] = np.bincount(row, weights=p[c].is_not_null().to_numpy(), minlength=n).astype(np.int64)
    return d
