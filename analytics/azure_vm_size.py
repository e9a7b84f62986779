"""Azure VM size per protected VM, as the Deployment Planner recommends one: the smallest size (vCPUs, then
memory) whose vCPUs, memory, NICs, data disks and uncached disk IOPS and throughput all meet the VM's needs,
with premium storage when a target disk is premium; and the vCPUs per family for the target region's quota.

The sizing table is versioned data with its Microsoft source (analytics/data/azure_vm_sizes.csv).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from churnplan.analytics.churn import row_percentile
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.core.units import kibps_to_mibps

SIZES_CSV = Path(__file__).resolve().parent / "data" / "azure_vm_sizes.csv"
# Preference among equally small sizes: general purpose first. Burstable Bs only when asked for: at its
# baseline it cannot carry a busy production VM after failover.
FAMILY_ORDER = ("Dsv5", "Dasv5", "Dv5", "Esv5", "Easv5", "Fsv2", "Bs")
DEFAULT_FAMILIES = ("Dsv5", "Dasv5", "Dv5", "Esv5", "Easv5", "Fsv2")
NEEDS_COLUMNS = ["vcpus", "memory_gib", "nics", "data_disks", "iops", "mbps", "premium"]
_CHECKS = (("vcpus", "vcpus", "vCPUs"), ("memory_gib", "memory_gib", "GiB memory"), ("nics", "max_nics", "NICs"),
           ("data_disks", "max_data_disks", "data disks"), ("iops", "max_uncached_iops", "uncached IOPS"),
           ("mbps", "max_uncached_mbps", "uncached MB/s"))


@cache
def size_table(path: Path = SIZES_CSV) -> pd.DataFrame:
    """The sizing table, smallest first (vCPUs, memory, family preference); premium_storage as bool."""
    t = pd.read_csv(path, comment="#")
    need = {"name", "family", "quota_family", "vcpus", "memory_gib", "max_data_disks", "max_uncached_iops",
            "max_uncached_mbps", "max_nics", "premium_storage"}
    if need - set(t.columns):
        raise ValueError(f"{path}: columns missing: {', '.join(sorted(need - set(t.columns)))}")
    t["premium_storage"] = t["premium_storage"].astype(str).str.lower().eq("yes")
    t["_rank"] = t["family"].map({f: i for i, f in enumerate(FAMILY_ORDER)}).fillna(len(FAMILY_ORDER))
    return t.sort_values(["vcpus", "memory_gib", "_rank", "name"], ignore_index=True).drop(columns="_rank")


def pick_sizes(needs: pd.DataFrame, families: Sequence[str] = DEFAULT_FAMILIES) -> pd.DataFrame:
    """`needs` (NEEDS_COLUMNS, one row per VM; NaN = not known, not checked) with azure_size, family,
    quota_family, size_vcpus, size_memory_gib and reason (why no size fits, or which needs were unknown)."""
    t = size_table()
    unknown_family = sorted(set(families) - set(t["family"]))
    if unknown_family:
        raise ValueError(f"unknown VM families {', '.join(unknown_family)}; the table holds "
                         f"{', '.join(sorted(set(t['family'])))}")
    t = t[t["family"].isin(families)].reset_index(drop=True)
    fits = np.ones((len(needs), len(t)), dtype=bool)
    short: dict[str, np.ndarray] = {}
    for need, limit, _ in _CHECKS:  # one vectorised VM x size comparison per need
        want = needs[need].to_numpy(float)[:, None]
        have = t[limit].to_numpy(float)[None, :]
        ok = np.isnan(want) | (np.nan_to_num(have, nan=-np.inf) >= want)
        short[need] = ~ok.any(axis=1)
        fits &= ok
    premium = needs["premium"].fillna(False).to_numpy(bool)[:, None]
    fits &= ~premium | t["premium_storage"].to_numpy(bool)[None, :]
    any_fit: np.ndarray = np.asarray(fits.any(axis=1))
    first = np.argmax(fits, axis=1)
    pick = t.iloc[first].reset_index(drop=True)
    out = needs.reset_index(drop=True).copy()
    out["azure_size"] = np.where(any_fit, pick["name"], "")
    out["family"] = np.where(any_fit, pick["family"], "")
    out["quota_family"] = np.where(any_fit, pick["quota_family"], "")
    out["size_vcpus"] = np.where(any_fit, pick["vcpus"], np.nan)
    out["size_memory_gib"] = np.where(any_fit, pick["memory_gib"], np.nan)
    values = {n: needs[n].to_numpy(float) for n, _, _ in _CHECKS}
    unknown = {n: np.isnan(v) for n, v in values.items()}
    has_reason = ~any_fit | np.logical_or.reduce([short[n] | unknown[n] for n, _, _ in _CHECKS])
    reasons = [""] * len(out)
    for i in np.nonzero(has_reason)[0]:  # text for the VMs that have one, from the vectorised results
        parts = [f"no size in {', '.join(families)} has {values[n][i]:g} {label}"
                 for n, _, label in _CHECKS if short[n][i]]
        if not any_fit[i] and not parts:
            parts.append("no size meets every need together" + (" with premium storage" if premium[i, 0] else ""))
        gaps = [label for n, _, label in _CHECKS if unknown[n][i]]
        if gaps:
            parts.append(f"not checked (unknown): {', '.join(gaps)}")
        reasons[i] = "; ".join(parts)
    out["reason"] = reasons
    return out


def cores_by_family(sized: pd.DataFrame) -> pd.DataFrame:
    """vCPUs (and VMs) per family and quota family: what the target region's quota must allow for failover."""
    s = sized[sized["azure_size"] != ""]
    return (s.groupby(["family", "quota_family"], as_index=False)
            .agg(vms=("azure_size", "size"), vcpus=("size_vcpus", "sum"))
            .astype({"vcpus": int}).sort_values("vcpus", ascending=False, ignore_index=True))


def needs_from_inventory(vms: pd.DataFrame, disks: pd.DataFrame, load: pd.DataFrame | None = None) -> pd.DataFrame:
    """NEEDS_COLUMNS per VM from the store's inventory (num_cpu, memory_mb, num_nics; data disks = disks that are
    not the OS disk) and, when given, `load` per disk (vcenter, vm_id, peak_iops, peak_mbps_rw, premium) summed
    per VM. Keeps vcenter, vm_id and name."""
    key = ["vcenter", "vm_id"]
    out = vms[key + ["name"]].copy()
    out["vcpus"] = vms["num_cpu"].astype(float).to_numpy()
    out["memory_gib"] = vms["memory_mb"].astype(float).to_numpy() / 1024.0
    out["nics"] = vms["num_nics"].astype(float).to_numpy()
    data = disks.assign(data=~disks["is_os_disk"].fillna(False).astype(bool)).groupby(key)["data"].sum()
    out["data_disks"] = out.set_index(key).index.map(data.to_dict()).to_numpy(float)
    out["data_disks"] = out["data_disks"].fillna(0.0)
    if load is None:
        out["iops"], out["mbps"], out["premium"] = np.nan, np.nan, False
    else:
        per = load.groupby(key).agg(iops=("peak_iops", "sum"), mbps=("peak_mbps_rw", "sum"),
                                    premium=("premium", "any"))
        idx = out.set_index(key).index
        out["iops"] = idx.map(per["iops"].to_dict()).to_numpy(float)
        out["mbps"] = idx.map(per["mbps"].to_dict()).to_numpy(float)
        out["premium"] = idx.map(per["premium"].to_dict()).fillna(False).to_numpy(bool)
    return out


def peak_load(grid: SampleGrid, percentile: float, growth_pct: float = 0.0) -> pd.DataFrame:
    """Per grid row (a disk, or a VM after `by_vm`): the `percentile` of its IOPS and read+write throughput
    (MB/s, 1024-based) over time, times (1 + growth), as the planner takes peaks. Keys plus peak_iops, peak_mbps_rw."""
    out = grid.keys.copy()
    factor = 1.0 + growth_pct / 100.0
    if grid.times.size == 0 or len(out) == 0:
        out["peak_iops"], out["peak_mbps_rw"] = np.nan, np.nan
        return out
    out["peak_iops"] = row_percentile(grid.iops, percentile, grid.counts) * factor   # NaN for a row without samples
    out["peak_mbps_rw"] = kibps_to_mibps(row_percentile(grid.rw_kbps, percentile, grid.counts) * factor)
    return out
