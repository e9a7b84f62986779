"""Stage after assignment, Azure targets: the Azure VM size of each protected VM, vCPUs per family for the target
region's quota, and the cache storage accounts the protected VMs' disks share (as the Deployment Planner gives)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import azure_vm_size, storage_accounts
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.vocabulary import of_protected_vms, protected
from churnplan.core.units import kibps_to_mibps

SIZE_COLUMNS = ["vcenter", "vm_id", "name", "vcpus", "memory_gib", "nics", "data_disks", "iops", "mbps",
                "azure_size", "family", "quota_family", "size_vcpus", "size_memory_gib", "reason", "account"]


@dataclass(frozen=True)
class AzureTargets:
    """Per protected VM its Azure size and cache account; vCPUs per family; the cache accounts."""

    vm_sizes: pd.DataFrame        # SIZE_COLUMNS
    cores_by_family: pd.DataFrame  # family, quota_family, vms, vcpus
    accounts: pd.DataFrame        # account, kind, premium_targets, vms, disks, iops, iops_pct, churn_pct


def azure_targets(vm_grid: SampleGrid, placed: Assignment, config: PlanConfig) -> AzureTargets:
    """Size each protected VM from vCPUs, memory, NICs, data disks and its peak IOPS and throughput (at the plan's
    percentile and growth); place its replicated disks in cache accounts by IOPS and churn."""
    v = placed.vms[protected(placed.vms)]
    d = placed.disks[of_protected_vms(placed.disks, placed.vms) & ~placed.disks["excluded"]]
    d = d.assign(premium=d["target_tier"].astype(str) != "Standard")
    inventory = v.rename(columns={"memory_mib": "memory_mb"})
    for col in ("num_cpu", "memory_mb", "num_nics"):
        if col not in inventory.columns:
            inventory[col] = float("nan")
    load = _peak_load(v, vm_grid, config)
    needs = azure_vm_size.needs_from_inventory(inventory, d, None).drop(columns=["iops", "mbps", "premium"])
    needs = needs.merge(load.rename(columns={"peak_iops": "iops", "peak_mbps_rw": "mbps"}), on=VM_KEY, how="left")
    needs = needs.merge(d.groupby(VM_KEY, as_index=False)["premium"].any(), on=VM_KEY, how="left")
    sized = azure_vm_size.pick_sizes(needs)
    per_vm = storage_accounts.load_from_disks(d.assign(avg_churn_mbps=kibps_to_mibps(d["avg_write_kibps"])))
    placement, accounts = storage_accounts.place(per_vm)
    sized = sized.merge(placement, on=VM_KEY, how="left")
    return AzureTargets(vm_sizes=sized[[c for c in SIZE_COLUMNS if c in sized.columns]],
                        cores_by_family=azure_vm_size.cores_by_family(sized), accounts=accounts)


def _peak_load(vms: pd.DataFrame, vm_grid: SampleGrid, config: PlanConfig) -> pd.DataFrame:
    """Each VM's peak IOPS and R+W MB/s: its profile's (the same percentile of the same series, x growth), NaN
    without samples, as azure_vm_size.peak_load gives them; from the grid when the VMs carry no profile. A
    block-wise plan keeps only the VMs' write series, so only the profile has them there."""
    if not {"samples", "peak_iops", "peak_rw_mibps"} <= set(vms.columns):
        return azure_vm_size.peak_load(vm_grid, config.percentile, config.growth_pct)
    sampled = vms["samples"].to_numpy(float) > 0
    return vms[VM_KEY].assign(peak_iops=np.where(sampled, vms["peak_iops"].to_numpy(float), np.nan),
                              peak_mbps_rw=np.where(sampled, vms["peak_rw_mibps"].to_numpy(float), np.nan))
