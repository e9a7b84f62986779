"""Churn profiles of disks, VMs and groups: percentile peak, max, average, churn/day and write I/O size, with growth.

Sample frames carry the store's names (write_kbps, rw_kbps: KiB/s); profiles name their units (write_kibps,
peak_churn_mibps, churn_gib_day, avg_write_io_kib).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import order_statistics, sample_grid
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


def row_percentile(m: np.ndarray, percentile: float, counts: np.ndarray) -> np.ndarray:
    """Linear-interpolated percentile of each row's samples (NaN = no sample), as pandas and numpy define it:
    the two order statistics either side (order_statistics, compiled), then numpy's interpolation."""
    q = percentile / 100.0
    counts = np.asarray(counts, dtype=np.int64)
    x_lo, x_hi = order_statistics.around_percentile(m, counts, q)
    h = (counts - 1) * q
    result: np.ndarray = x_lo + (x_hi - x_lo) * (h - np.floor(h))
    return result


def _row_sum(m: np.ndarray, dense: bool) -> np.ndarray:
    """Sum of each row's samples (NaN = no sample; a dense grid skips the NaN-aware sum)."""
    sums: np.ndarray = m.sum(axis=1) if dense else np.nansum(m, axis=1)
    return sums


def profiles(grid: SampleGrid, percentile: float, growth_pct: float) -> pd.DataFrame:
    """One row per grid key with samples: percentile (planned), mean, churn/day and write I/O size, x (1 + growth);
    max_write_kibps is the measured maximum (no growth). avg_write_io_kib is NaN where writes were seen but no
    write operations (no write-IOPS counter): the write size is unknown, not zero.
    """
    growth = 1.0 + growth_pct / 100.0
    n, dense = grid.counts, grid.dense
    has = n > 0
    safe_n = np.where(has, n, 1)
    sum_w, sum_wi = _row_sum(grid.write_kbps, dense), _row_sum(grid.write_iops, dense)
    top_w = np.fmax.reduce(grid.write_kbps, axis=1) if grid.times.size else np.zeros(len(n))
    peak = {m: row_percentile(grid.metric(m), percentile, n) for m in METRICS}
    peak_w = peak["write_kbps"] * growth
    avg_w = sum_w / safe_n * growth
    unknown_io = (sum_wi <= 0) & (sum_w > 0)
    columns = {
        "peak_write_kibps": peak_w,
        "max_write_kibps": top_w,
        "avg_write_kibps": avg_w,
        "peak_write_iops": peak["write_iops"] * growth,
        "avg_write_iops": sum_wi / safe_n * growth,
        "peak_iops": peak["iops"] * growth,
        "peak_rw_mibps": kibps_to_mibps(peak["rw_kbps"] * growth),
        "samples": n.astype(np.int64),
        "avg_write_io_kib": np.where(sum_wi > 0, sum_w / np.where(sum_wi > 0, sum_wi, 1.0),
                                     np.where(unknown_io, np.nan, 0.0)),
        "peak_churn_mibps": kibps_to_mibps(peak_w),
        "churn_gib_day": kibps_to_gib_day(avg_w),
    }
    keys = grid.keys.reset_index(drop=True)
    if not has.all():   # rows without samples leave (filtered as arrays: one frame built, not filtered after)
        keys = keys[has].reset_index(drop=True)
        columns = {k: v[has] for k, v in columns.items()}
    return pd.concat([keys, pd.DataFrame(columns)], axis=1)


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
