"""Stage after assignment, Azure targets: the Azure VM size of each protected VM, vCPUs per family for the target
region's quota, and the cache storage accounts the protected VMs' disks share (as the Deployment Planner gives)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churnplan.analytics import azure_vm_size, storage_accounts
from churnplan.analytics.sample_grid import VM_KEY
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


def azure_targets(placed: Assignment) -> AzureTargets:
    """Size each protected VM from vCPUs, memory, NICs, data disks and its peak IOPS and throughput (its profile's,
    at the plan's percentile and growth); place its replicated disks in cache accounts by IOPS and churn."""
    v = placed.vms[protected(placed.vms)]
    d = placed.disks[of_protected_vms(placed.disks, placed.vms) & ~placed.disks["excluded"]]
    d = d.assign(premium=d["target_tier"].astype(str) != "Standard")
    inventory = v.rename(columns={"memory_mib": "memory_mb"})
    for col in ("num_cpu", "memory_mb", "num_nics"):
        if col not in inventory.columns:
            inventory[col] = float("nan")
    load = profiled_load(v, VM_KEY)
    needs = azure_vm_size.needs_from_inventory(inventory, d, None).drop(columns=["iops", "mbps", "premium"])
    needs = needs.merge(load.rename(columns={"peak_iops": "iops", "peak_mbps_rw": "mbps"}), on=VM_KEY, how="left")
    needs = needs.merge(d.groupby(VM_KEY, as_index=False)["premium"].any(), on=VM_KEY, how="left")
    sized = azure_vm_size.pick_sizes(needs)
    per_vm = storage_accounts.load_from_disks(d.assign(avg_churn_mbps=kibps_to_mibps(d["avg_write_kibps"])))
    placement, accounts = storage_accounts.place(per_vm)
    sized = sized.merge(placement, on=VM_KEY, how="left")
    return AzureTargets(vm_sizes=sized[[c for c in SIZE_COLUMNS if c in sized.columns]],
                        cores_by_family=azure_vm_size.cores_by_family(sized), accounts=accounts)


def profiled_load(profiled: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`keys`, peak_iops and peak_mbps_rw of profiled VMs or disks: their profile's percentile of IOPS and of
    read+write MiB/s with growth (azure_vm_size.peak_load's figures, which engines that hold no grid have too);
    unknown (NaN) without samples."""
    sampled = profiled["samples"].fillna(0).to_numpy() > 0
    return profiled[keys].assign(peak_iops=profiled["peak_iops"].where(sampled),
                                 peak_mbps_rw=profiled["peak_rw_mibps"].where(sampled))
