"""Target managed disk per source disk: Standard when the workload fits, else the premium tier of its size band,
bumped to P20+ when churn or I/O size needs it (the planner's Yes* rule) and up again for IOPS or throughput."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnplan.analytics.facts import CHURN_LIMITS, SIZE_BANDS, STANDARD_DISK_IOPS, STANDARD_DISK_MIBPS

_TIERS = [b.tier for b in SIZE_BANDS]
_MAX_GIB = np.array([b.max_gib for b in SIZE_BANDS])
_IOPS = np.array([b.iops for b in SIZE_BANDS])
_MIBPS = np.array([b.mibps for b in SIZE_BANDS])
P20 = _TIERS.index("P20")


def _churn_limit(target: str, io_kib: np.ndarray, field: str) -> np.ndarray:
    """The CHURN_LIMITS `field` for `target` at each average write I/O size (the row of the largest size reached)."""
    rows = sorted((r for r in CHURN_LIMITS if r.target == target), key=lambda r: r.min_io_kib)
    io = np.asarray(io_kib, dtype=float)
    limit = np.full(io.shape, getattr(rows[0], field))
    for r in rows:
        limit = np.where(io >= r.min_io_kib, getattr(r, field), limit)
    return limit


def churn_limit_mibps(target: str, io_kib: np.ndarray) -> np.ndarray:
    """Supported average churn (MiB/s) per disk on `target` ('standard', 'p10_p15', 'p20_p50') at each I/O size."""
    return _churn_limit(target, io_kib, "max_mibps")


def churn_limit_gib_day(target: str, io_kib: np.ndarray) -> np.ndarray:
    """Supported churn per day (GiB) per disk on `target` at each I/O size."""
    return _churn_limit(target, io_kib, "max_gib_day")


def size_band(capacity_gib: np.ndarray) -> np.ndarray:
    """Index into SIZE_BANDS of the smallest tier holding each size; -1 when larger than every tier."""
    cap = np.asarray(capacity_gib, dtype=float)
    idx = np.searchsorted(_MAX_GIB, np.nan_to_num(cap, nan=0.0), side="left")
    return np.where(idx < len(_TIERS), idx, -1)


def target_disks(disks: pd.DataFrame) -> pd.DataFrame:
    """Add target_type, target_tier, size_tier, needs_premium, bumped (Yes*) and tier_issue to a disk profile frame.

    Needs capacity_gib, peak_churn_mibps, churn_gib_day, avg_write_io_kib, peak_iops, peak_rw_mibps.
    """
    out = disks.copy()
    io = out["avg_write_io_kib"].fillna(0).to_numpy(float)
    churn = out["peak_churn_mibps"].fillna(0).to_numpy(float)
    gib_day = out["churn_gib_day"].fillna(0).to_numpy(float)
    iops = out["peak_iops"].fillna(0).to_numpy(float)
    rw_mibps = out["peak_rw_mibps"].fillna(0).to_numpy(float)
    band = size_band(out["capacity_gib"].to_numpy(float))
    fits_standard = ((churn <= churn_limit_mibps("standard", io)) & (gib_day <= churn_limit_gib_day("standard", io))
                     & (iops <= STANDARD_DISK_IOPS) & (rw_mibps <= STANDARD_DISK_MIBPS))
    small_ok = (churn <= churn_limit_mibps("p10_p15", io)) & (gib_day <= churn_limit_gib_day("p10_p15", io))
    tier = np.where(band < 0, len(_TIERS) - 1, band)
    churn_bump = ~small_ok & (tier < P20)
    tier = np.where(churn_bump, P20, tier)
    need_iops = np.searchsorted(_IOPS, iops, side="left")      # smallest tier index with enough IOPS
    need_mibps = np.searchsorted(_MIBPS, rw_mibps, side="left")
    perf = np.maximum(need_iops, need_mibps)
    tier_issue = np.where(perf >= len(_TIERS), "IOPS or throughput beyond every premium tier", "")
    tier = np.maximum(tier, np.minimum(perf, len(_TIERS) - 1))
    out["size_tier"] = [(_TIERS[b] if b >= 0 else "none") for b in band]
    out["needs_premium"] = ~fits_standard
    out["target_tier"] = np.where(fits_standard, "Standard", np.array(_TIERS, dtype=object)[tier])
    out["target_type"] = np.where(fits_standard, "Standard HDD", "Premium SSD")
    out["bumped"] = ~fits_standard & churn_bump   # Yes*: churn or I/O size needs P20+ beyond the size band
    out["tier_issue"] = tier_issue
    return out
