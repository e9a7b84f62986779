"""Stage 1, profiles: the sample window, excluded disks, and the churn profile of every disk and VM."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import churn, sample_grid
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid, marked_excluded
from churnplan.core.units import STORE_COLUMNS_IN_UNITS


@dataclass(frozen=True)
class Profiles:
    """Disks and VMs with their churn profiles, and the per-VM series of the included disks."""

    disks: pd.DataFrame     # inventory (capacity_gib, used_gib), vm_name, firmware, excluded, churn profile
    vms: pd.DataFrame       # inventory (memory_mib) with the churn profile of the VM's included disks
    vm_grid: SampleGrid | None   # per-VM sums over included disks, in the window: what the queues replicate
    times: np.ndarray       # epoch seconds of the window's sample times (all disks)
    interval_s: float       # of the samples
    # None: not kept (profile_blocks with keep_series False); the plan reads them again, a block at a time.


def epoch(x: datetime | None) -> float | None:
    """Epoch seconds of a --start/--end time (naive means UTC); any year datetime takes, not only pandas' ns range."""
    if x is None:
        return None
    return datetime.timestamp(x if x.tzinfo is not None else x.replace(tzinfo=UTC))


def _with_profile(frame: pd.DataFrame, profile: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """`frame` with its profile columns beside it; rows without samples profile as 0 (an unknown write size
    of a row with samples stays NaN)."""
    out = frame.merge(profile, on=key, how="left")
    cols = [c for c in profile.columns if c not in key]
    none = out["samples"].isna().to_numpy()
    out.loc[none, cols] = 0.0
    return out


def _sampled_only(disks: pd.DataFrame, d_prof: pd.DataFrame, vms: pd.DataFrame) -> pd.DataFrame:
    """Disk rows for disks known only from samples (of inventoried VMs): capacity unknown (NaN), flagged by it."""
    known = pd.MultiIndex.from_frame(disks[DISK_KEY].astype(str))
    keys = d_prof[DISK_KEY].astype(str)
    new = d_prof[~pd.MultiIndex.from_frame(keys).isin(known)
                 & pd.MultiIndex.from_frame(keys[VM_KEY]).isin(pd.MultiIndex.from_frame(vms[VM_KEY].astype(str)))]
    rows = new[DISK_KEY].assign(label=new["instance"], capacity_gib=float("nan"), used_gib=float("nan"),
                                is_os_disk=False, excluded=False)
    return pd.concat([disks, rows], ignore_index=True) if len(rows) else disks


def _refuse_os_disks(disks: pd.DataFrame, vms: pd.DataFrame) -> None:
    """ASR always replicates a VM's OS disk: an --exclude-disks glob matching one is an error, naming it."""
    hit = disks[disks["excluded"] & disks["is_os_disk"].fillna(False).astype(bool)]
    if len(hit):
        names = hit.merge(vms[VM_KEY + ["name"]], on=VM_KEY, how="left")
        first = f"{names['name'].iloc[0]}/{names['instance'].iloc[0]}"
        raise ValueError(f"--exclude-disks matches the OS disk {first}"
                         f"{f' and {len(hit) - 1} more' if len(hit) > 1 else ''}: ASR always replicates OS disks")


def profile(vms: pd.DataFrame, disks: pd.DataFrame, samples: pd.DataFrame | pl.DataFrame | SampleGrid,
            config: PlanConfig) -> Profiles:
    """Window the samples, mark excluded disks and profile disks (own samples) and VMs (sum of included disks).

    Inventory columns named by the store (capacity_gb, memory_mb) are renamed to their units here.
    """
    vms, disks = inventory(vms, disks, config)
    grid = sample_grid.from_frame(samples).window(epoch(config.start), epoch(config.end))
    vm_grid = grid.without(marked_excluded(disks)).by_vm()
    d_prof = churn.profiles(grid, config.percentile, config.growth_pct)
    v_prof = churn.profiles(vm_grid, config.percentile, config.growth_pct)
    return with_profiles(vms, disks, d_prof, v_prof, vm_grid, grid.times, grid.interval_s)


def inventory(vms: pd.DataFrame, disks: pd.DataFrame, config: PlanConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inventory with store column names in units, and each disk's `excluded` flag."""
    vms = vms.rename(columns=STORE_COLUMNS_IN_UNITS)
    disks = disks.rename(columns=STORE_COLUMNS_IN_UNITS)
    disks["excluded"] = churn.excluded_disks(disks, vms, config.exclude_disks).to_numpy()
    _refuse_os_disks(disks, vms)
    return vms, disks


def with_profiles(vms: pd.DataFrame, disks: pd.DataFrame, d_prof: pd.DataFrame, v_prof: pd.DataFrame,
                  vm_grid: SampleGrid | None, times: np.ndarray, interval_s: float) -> Profiles:
    """Profiles from the disk and VM profile rows: inventory rows without samples profile as 0; disks known only
    from samples get rows of unknown capacity."""
    d = _with_profile(_sampled_only(disks, d_prof, vms), d_prof, DISK_KEY)
    d = d.merge(vms[VM_KEY + ["name", "firmware"]].rename(columns={"name": "vm_name"}), on=VM_KEY, how="left")
    v = _with_profile(vms, v_prof, VM_KEY)
    return Profiles(disks=d, vms=v, vm_grid=vm_grid, times=times, interval_s=interval_s)


def profile_blocks(vms: pd.DataFrame, disks: pd.DataFrame, blocks: Iterable[SampleGrid], n_vms: int,
                   times: np.ndarray, interval_s: float, config: PlanConfig, keep_series: bool = True) -> Profiles:
    """`profile`, from per-disk grids of whole VMs at a time (sorted by key, all on the axis `times`), so only
    one block's samples are held: the same figures as `profile` on the grid of all blocks together.

    A block's disk profiles are worked out in a second thread while this one sums and profiles its VMs (numpy
    releases the GIL; the grid is only read, so both may). `n_vms` bounds the VMs of all blocks. The per-VM grid
    keeps write KiB/s only (what the queues and the estate series read); its other metrics are NaN views that
    hold no memory. `keep_series` False: no per-VM grid is kept (8 bytes per VM and sample time); the plan then
    reads the blocks again (vm_blocks) once the VMs have their servers.
    """
    vms, disks = inventory(vms, disks, config)
    lo, hi = epoch(config.start), epoch(config.end)
    times = times[_within(times, lo, hi)]
    excluded = marked_excluded(disks)   # left out of every block's VM sums
    write = np.empty((n_vms if keep_series else 0, times.size))   # rows written block by block; the rest cut off
    keys, d_profs, v_profs, rows = [], [], [], 0
    with ThreadPoolExecutor(max_workers=1) as pool:   # a block's disk profiles beside its VM sums and profiles
        for block in blocks:
            grid = block.window(lo, hi)
            disk_profiles = pool.submit(churn.profiles, grid, config.percentile, config.growth_pct)
            vm_block = grid.without(excluded).by_vm(into=write[rows:] if keep_series else None)   # summed in place
            v_profs.append(churn.profiles(vm_block, config.percentile, config.growth_pct))
            rows += len(vm_block.keys)
            keys.append(vm_block.keys)
            d_profs.append(disk_profiles.result())
            del grid, vm_block, block
    vm_grid = None
    if keep_series:
        nan = np.broadcast_to(np.float64(np.nan), (rows, times.size))
        vm_keys = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame(columns=VM_KEY)
        vm_grid = SampleGrid(vm_keys, times, interval_s, write[:rows], nan, nan, nan)
    return with_profiles(vms, disks, _concat(d_profs), _concat(v_profs), vm_grid, times, interval_s)


def vm_blocks(blocks: Iterable[SampleGrid], disks: pd.DataFrame, config: PlanConfig) -> Iterator[SampleGrid]:
    """The per-VM write series (included disks, in the window) of per-disk blocks, as profile_blocks sums them;
    `disks` carries each disk's `excluded` flag (a plan's disks)."""
    lo, hi = epoch(config.start), epoch(config.end)
    excluded = marked_excluded(disks)
    for block in blocks:
        yield block.window(lo, hi).without(excluded).by_vm(write_only=True)


def _within(times: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Times within [lo, hi] (None: open)."""
    keep = np.ones(times.size, dtype=bool)
    keep &= times >= lo if lo is not None else keep
    keep &= times <= hi if hi is not None else keep
    return keep


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DISK_KEY)
