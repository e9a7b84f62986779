"""Churn profiles of disks, VMs and groups: percentile peak, max, average, churn/day and write I/O size, with growth.

Sample frames carry the store's names (write_kbps, rw_kbps: KiB/s); profiles name their units (write_kibps,
peak_churn_mibps, churn_gib_day, avg_write_io_kib).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import sample_grid
from churnplan.analytics.sample_grid import METRICS, VM_KEY, SampleGrid
from churnplan.core.units import kibps_to_gib_day, kibps_to_mibps



def excluded_disks(disks: pd.DataFrame, vms: pd.DataFrame, globs: tuple[str, ...] | list[str]) -> pd.Series:
    """True for disks matched by any glob against "vm_name/instance" or the disk label (case-sensitive)."""
    if not globs or disks.empty:
        return pd.Series(False, index=disks.index)
    names = disks.merge(vms[VM_KEY + ["name"]], on=VM_KEY, how="left")["name"].fillna(disks["vm_id"]).to_numpy()
    paths = [f"{n}/{i}" for n, i in zip(names, disks["instance"].astype(str), strict=True)]
    labels = disks["label"].fillna("").astype(str).tolist()
    hit = [any(fnmatchcase(p, g) or fnmatchcase(lb, g) for g in globs)
           for p, lb in zip(paths, labels, strict=True)]
    return pd.Series(hit, index=disks.index)


def row_percentile(m: np.ndarray, percentile: float, counts: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Linear-interpolated percentile of each row's samples (NaN = no sample), as pandas and numpy define it.

    Rows with equal sample counts are done together: the two order statistics either side of the percentile
    are selected among each row's values above a threshold (`_top_order_stats`, `m` only read), or, for
    low percentiles and rows the threshold misses, by partitioning (NaN sorting last) a copy, or `m` itself
    when `in_place` (and writeable).
    """
    q = percentile / 100.0
    result = np.full(m.shape[0], np.nan)
    for c in np.unique(counts[counts > 0]):
        rows = counts == c
        group = m if rows.all() else m[rows]
        h = (int(c) - 1) * q
        lo = int(np.floor(h))
        x_lo, x_hi = _top_order_stats(group, int(c), lo)
        missed = np.isnan(x_lo)
        if missed.any():
            mine = group is not m or (in_place and m.flags.writeable)
            buf = (group if mine else group.copy()) if missed.all() else group[missed]
            x_lo[missed], x_hi[missed] = _partitioned_order_stats(buf, int(c), lo)
        result[rows] = x_lo + (x_hi - x_lo) * (h - lo)
    return result


def _partitioned_order_stats(buf: np.ndarray, c: int, lo: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's lo-th and (lo+1)-th smallest of its `c` values (NaN sorting last), by partitioning `buf` in place."""
    buf.partition(lo, axis=1)
    x_lo = buf[:, lo].copy()
    x_hi = np.fmin.reduce(buf[:, lo + 1:], axis=1) if lo + 1 < c else x_lo.copy()  # the tail is unordered
    return x_lo, x_hi


_SUBSAMPLE_STRIDE = 31   # prime: the strided columns cover every hour of a daily rhythm at 5 min and 20 s


def _top_order_stats(m: np.ndarray, c: int, lo: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's lo-th and (lo+1)-th smallest of its `c` values, selected among its values at or above a
    threshold taken from every 31st column; NaN for rows whose candidates miss the `c - lo` largest values
    (the caller partitions those) and for all rows when the percentile is too low to gain from it.

    Exact: the `c - lo` largest values of a row all lie at or above any threshold with at least `c - lo`
    values at or above it, and the order statistics of a multiset are values, whichever copy is picked.
    """
    n_rows, width = m.shape
    top = c - lo                                  # x_lo is the least of the `top` largest values
    none = np.full(n_rows, np.nan)
    sub = m[:, ::_SUBSAMPLE_STRIDE]
    share = top / width                           # of the columns, NaN columns included
    above = int(np.ceil(sub.shape[1] * share + 2.5 * np.sqrt(sub.shape[1] * share) + 3.0))   # mean + 2.5 sd
    if n_rows == 0 or c < 1024 or 4 * top > c or above >= sub.shape[1] // 2:
        return none, none.copy()
    sub = np.where(np.isnan(sub), -np.inf, sub)   # a missing sample never raises the threshold
    k = sub.shape[1] - above
    sub.partition(k, axis=1)
    threshold = sub[:, k]
    del sub
    mask = m >= threshold[:, None]                # NaN never is
    found = np.count_nonzero(mask, axis=1)
    ok = (found >= top) & (found <= max(4 * above * _SUBSAMPLE_STRIDE, 2 * top))
    if not ok.any():
        return none, none.copy()
    if not ok.all():
        mask[~ok] = False
        found = np.where(ok, found, 0)
    values = np.compress(mask.reshape(-1), m.reshape(-1))   # m[mask] (row by row, in column order), faster
    del mask
    # Each ok row's candidates, right-aligned in a row of `width_c` padded on the left with -inf: the `top`
    # largest then start at the same column j in every row.
    width_c = int(found.max())
    kept = found[ok]
    first = np.cumsum(kept) - kept
    start = np.arange(kept.size) * width_c + (width_c - kept) - first
    cand = np.full(kept.size * width_c, -np.inf)
    cand[np.repeat(start, kept) + np.arange(values.size)] = values
    cand = cand.reshape(kept.size, width_c)
    j = width_c - top
    cand.partition(j, axis=1)
    x_lo, x_hi = none, none.copy()
    x_lo[ok] = cand[:, j]
    x_hi[ok] = np.fmin.reduce(cand[:, j + 1:], axis=1) if top > 1 else cand[:, j]
    return x_lo, x_hi


def _row_sum(m: np.ndarray, dense: bool) -> np.ndarray:
    """Sum of each row's samples (NaN = no sample; a dense grid skips the NaN-aware sum)."""
    sums: np.ndarray = m.sum(axis=1) if dense else np.nansum(m, axis=1)
    return sums


def profiles(grid: SampleGrid, percentile: float, growth_pct: float, consume: bool = False) -> pd.DataFrame:
    """One row per grid key with samples: percentile (planned), mean, churn/day and write I/O size, x (1 + growth);
    max_write_kibps is the measured maximum (no growth). avg_write_io_kib is NaN where writes were seen but no
    write operations (no write-IOPS counter): the write size is unknown, not zero.

    `consume`: the grid is not read again, so its matrices may be reordered in place instead of copied.
    """
    growth = 1.0 + growth_pct / 100.0
    n, dense = grid.counts, grid.dense
    has = n > 0
    safe_n = np.where(has, n, 1)
    sum_w, sum_wi = _row_sum(grid.write_kbps, dense), _row_sum(grid.write_iops, dense)
    top_w = np.fmax.reduce(grid.write_kbps, axis=1) if grid.times.size else np.zeros(len(n))
    peak = {m: row_percentile(grid.metric(m), percentile, n, in_place=consume) for m in METRICS}
    out = pd.DataFrame({
        "peak_write_kibps": peak["write_kbps"] * growth,
        "max_write_kibps": top_w,
        "avg_write_kibps": sum_w / safe_n * growth,
        "peak_write_iops": peak["write_iops"] * growth,
        "avg_write_iops": sum_wi / safe_n * growth,
        "peak_iops": peak["iops"] * growth,
        "peak_rw_mibps": kibps_to_mibps(peak["rw_kbps"] * growth),
        "samples": n.astype(np.int64),
    })
    unknown_io = (sum_wi <= 0) & (sum_w > 0)
    out["avg_write_io_kib"] = np.where(sum_wi > 0, sum_w / np.where(sum_wi > 0, sum_wi, 1.0),
                                       np.where(unknown_io, np.nan, 0.0))
    out["peak_churn_mibps"] = kibps_to_mibps(out["peak_write_kibps"])
    out["churn_gib_day"] = kibps_to_gib_day(out["avg_write_kibps"])
    return pd.concat([grid.keys, out], axis=1)[has].reset_index(drop=True)


def disk_profiles(samples: pd.DataFrame | pl.DataFrame | SampleGrid, percentile: float,
                  growth_pct: float) -> pd.DataFrame:
    """One row per disk with samples: the percentile of its own samples, x (1 + growth)."""
    return profiles(sample_grid.from_frame(samples), percentile, growth_pct)


def vm_profiles(samples: pd.DataFrame | pl.DataFrame | SampleGrid, percentile: float,
                growth_pct: float) -> pd.DataFrame:
    """One row per VM: the percentile of the per-sample SUM over its (included) disks, not a sum of disk peaks."""
    return profiles(sample_grid.from_frame(samples).by_vm(), percentile, growth_pct)


def series_profile(write_kibps: np.ndarray, percentile: float, growth_pct: float) -> dict[str, float]:
    """Profile of one summed series (a process server's or the estate's write KiB/s per sample)."""
    measured = np.asarray(write_kibps, dtype=float)
    w = measured * (1.0 + growth_pct / 100.0)
    if w.size == 0:
        return {"peak_write_kibps": 0.0, "max_write_kibps": 0.0, "avg_write_kibps": 0.0, "churn_gib_day": 0.0}
    return {"peak_write_kibps": float(np.percentile(w, percentile)), "max_write_kibps": float(measured.max()),
            "avg_write_kibps": float(w.mean()), "churn_gib_day": kibps_to_gib_day(float(w.mean()))}
