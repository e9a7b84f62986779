"""Stage 1, profiles: the sample window, excluded disks, and the churn profile of every disk and VM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import churn, sample_grid
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid
from churnplan.core.units import STORE_COLUMNS_IN_UNITS


@dataclass(frozen=True)
class Profiles:
    """Disks and VMs with their churn profiles, and the per-VM series of the included disks."""

    disks: pd.DataFrame     # inventory (capacity_gib, used_gib), vm_name, firmware, excluded, churn profile
    vms: pd.DataFrame       # inventory (memory_mib) with the churn profile of the VM's included disks
    vm_grid: SampleGrid     # per-VM sums over included disks, in the window: what the queues replicate
    times: np.ndarray       # epoch seconds of the window's sample times (all disks)


def epoch(x: datetime | None) -> float | None:
    """Epoch seconds of a --start/--end time (naive means UTC)."""
    if x is None:
        return None
    ts = pd.Timestamp(x)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return float(ts.value / 1e9)


def _with_profile(frame: pd.DataFrame, profile: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """`frame` with its profile columns beside it; rows without samples profile as 0."""
    out = frame.merge(profile, on=key, how="left")
    cols = [c for c in profile.columns if c not in key]
    out[cols] = out[cols].fillna(0.0)
    return out


def inventory(vms: pd.DataFrame, disks: pd.DataFrame, config: PlanConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """VMs and disks with the store's columns renamed to their units (capacity_gib, memory_mib), and each
    disk's `excluded` flag (what the samples' sums leave out)."""
    vms = vms.rename(columns=STORE_COLUMNS_IN_UNITS)
    disks = disks.rename(columns=STORE_COLUMNS_IN_UNITS)
    disks["excluded"] = churn.excluded_disks(disks, vms, config.exclude_disks).to_numpy()
    return vms, disks


def with_profiles(vms: pd.DataFrame, disks: pd.DataFrame, disk_profiles: pd.DataFrame, vm_profiles: pd.DataFrame,
                  vm_grid: SampleGrid, times: np.ndarray) -> Profiles:
    """`inventory`'s VMs and disks with their churn profiles (churn.profiles rows, however they were computed)."""
    d = _with_profile(disks, disk_profiles, DISK_KEY)
    d = d.merge(vms[VM_KEY + ["name", "firmware"]].rename(columns={"name": "vm_name"}), on=VM_KEY, how="left")
    return Profiles(disks=d, vms=_with_profile(vms, vm_profiles, VM_KEY), vm_grid=vm_grid, times=times)


def profile(vms: pd.DataFrame, disks: pd.DataFrame, samples: pd.DataFrame | pl.DataFrame | SampleGrid,
            config: PlanConfig) -> Profiles:
    """Window the samples, mark excluded disks and profile disks (own samples) and VMs (sum of included disks).

    Inventory columns named by the store (capacity_gb, memory_mb) are renamed to their units here.
    """
    vms, disks = inventory(vms, disks, config)
    grid = sample_grid.from_frame(samples).window(epoch(config.start), epoch(config.end))
    # VM series are summed before the disk profiles reorder the grid (a grid made here is sorted in place).
    vm_grid = grid.without(disks[disks["excluded"]]).by_vm()
    d_prof = churn.profiles(grid, config.percentile, config.growth_pct, consume=not isinstance(samples, SampleGrid))
    v_prof = churn.profiles(vm_grid, config.percentile, config.growth_pct)
    return with_profiles(vms, disks, d_prof, v_prof, vm_grid, grid.times)
