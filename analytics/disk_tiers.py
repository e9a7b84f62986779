"""Azure managed disk tiers as billed: the tier a disk of a given size is billed at, per disk family.

The tier table is versioned data (analytics/data/managed_disk_tiers.csv, with its Microsoft source). Azure
bills a managed disk at the smallest tier of its family whose size holds the provisioned size.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

TIERS_CSV = Path(__file__).resolve().parent / "data" / "managed_disk_tiers.csv"
FAMILIES = ("premium_ssd", "standard_ssd", "standard_hdd")
FAMILY_NAMES = {"premium_ssd": "Premium SSD", "standard_ssd": "Standard SSD", "standard_hdd": "Standard HDD"}
NO_TIER = ""  # larger than the family's largest tier


@cache
def tier_table(path: Path = TIERS_CSV) -> pd.DataFrame:
    """family, tier, size_gib, iops, mbps; sorted by family then size. Comment lines (#) carry the source."""
    table = pd.read_csv(path, comment="#")
    missing = {"family", "tier", "size_gib", "iops", "mbps"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: columns missing: {', '.join(sorted(missing))}")
    return table.sort_values(["family", "size_gib"], ignore_index=True)


def _family(family: str) -> pd.DataFrame:
    if family not in FAMILIES:
        raise ValueError(f"unknown disk family {family!r}; use one of {', '.join(FAMILIES)}")
    t = tier_table()
    return t[t["family"] == family].reset_index(drop=True)


def billed_tier(size_gib: np.ndarray | list[float], family: str, min_tier: np.ndarray | list[str] | None = None
                ) -> np.ndarray:
    """The tier each disk of `family` is billed at: the smallest holding its size, and at least `min_tier` where
    given (e.g. 'P20' when churn needs P20 limits; '' or None = no minimum). NO_TIER when larger than every tier."""
    t = _family(family)
    sizes = t["size_gib"].to_numpy(float)
    names = t["tier"].to_numpy(object)
    gib = np.asarray(size_gib, dtype=float)
    idx = np.searchsorted(sizes, np.nan_to_num(gib, nan=0.0), side="left")
    if min_tier is not None:
        want = pd.Series(np.asarray(min_tier, dtype=object)).fillna("").astype(str).to_numpy()
        wanted = pd.Index(names).get_indexer(want)
        unknown = (wanted < 0) & (want != "")
        if unknown.any():
            raise ValueError(f"{family}: unknown tier(s) {', '.join(sorted(set(want[unknown])))}")
        idx = np.where(idx < sizes.size, np.maximum(idx, wanted), idx)
    out = np.full(gib.shape, NO_TIER, dtype=object)
    ok = idx < sizes.size
    out[ok] = names[idx[ok]]
    return out


def tier_for_performance(family: str, iops: np.ndarray | list[float], mbps: np.ndarray | list[float]) -> np.ndarray:
    """The smallest tier of `family` whose base IOPS and throughput (MB/s) both suffice; NO_TIER when none does."""
    t = _family(family)
    names = t["tier"].to_numpy(object)
    # Base performance does not fall with size, so the first tier meeting each need is a running search.
    need_iops = np.searchsorted(np.maximum.accumulate(t["iops"].to_numpy(float)),
                                np.nan_to_num(np.asarray(iops, dtype=float)), side="left")
    need_mbps = np.searchsorted(np.maximum.accumulate(t["mbps"].to_numpy(float)),
                                np.nan_to_num(np.asarray(mbps, dtype=float)), side="left")
    idx = np.maximum(need_iops, need_mbps)
    out = np.full(idx.shape, NO_TIER, dtype=object)
    ok = idx < names.size
    out[ok] = names[idx[ok]]
    return out


def larger_tier(family: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per element, the larger of two tiers of `family` ('' counts as no tier)."""
    names = _family(family)["tier"].to_numpy(object)
    idx = np.maximum(pd.Index(names).get_indexer(np.asarray(a, dtype=object)),
                     pd.Index(names).get_indexer(np.asarray(b, dtype=object)))
    return np.where(idx >= 0, names[np.maximum(idx, 0)], NO_TIER)


def disk_meter(tier: str) -> str:
    """The Azure Retail Prices meter name of a tier's monthly disk price, e.g. 'P30 LRS Disk'."""
    return f"{tier} LRS Disk"
