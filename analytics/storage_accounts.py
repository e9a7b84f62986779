"""Cache (log) storage-account placement, as the Deployment Planner's "VM-storage placement" gives it: every
protected VM's disks log to one standard storage account in the target region, and an account is full at
about 20,000 requests/s of source IOPS or at the churn the support matrix allows per account.

Replication logs go to standard accounts even for premium target disks (DP v2.5 with managed disks: "All the
replication logs are stored in a standard storage account"); VMs with premium targets are placed in accounts
of their own so their heavier churn does not crowd the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics.facts import STORAGE_ACCOUNT_IOPS, STORAGE_ACCOUNT_SOURCE


@dataclass(frozen=True)
class CacheAccountLimit:
    """Disks one cache account carries at a given average churn per disk (VMware -> Azure support matrix)."""

    account: str          # 'V1' or 'V2' (general-purpose v1 / v2)
    churn_mbps: float     # average churn per disk, MB/s
    disks: int


# vmware-physical-azure-support-matrix.md @36f1051 (2023-09-28), via azure-prices.md section 2. Both rows of each
# account give the same churn per account (V2: 4 x 1500 = 8 x 750 = 6,000 MB/s), which is how a mix is counted.
CACHE_ACCOUNT_LIMITS: tuple[CacheAccountLimit, ...] = (
    CacheAccountLimit("V1", 4, 600), CacheAccountLimit("V1", 8, 300),
    CacheAccountLimit("V2", 4, 1500), CacheAccountLimit("V2", 8, 750),
)
CACHE_ACCOUNT_SOURCE = "azure-docs vmware-physical-azure-support-matrix.md: disks per cache storage account"
ACCOUNT_KIND = "Standard general-purpose v2 (LRS)"


def churn_capacity_mbps(account: str = "V2") -> float:
    """Churn (MB/s) one cache account carries; a disk counts as at least the table's smallest churn."""
    rows = [r for r in CACHE_ACCOUNT_LIMITS if r.account == account]
    if not rows:
        raise ValueError(f"unknown cache account type {account!r}; use V1 or V2")
    return min(r.churn_mbps * r.disks for r in rows)


def _floor_mbps(account: str) -> float:
    return min(r.churn_mbps for r in CACHE_ACCOUNT_LIMITS if r.account == account)


def place(vms: pd.DataFrame, account: str = "V2", separate_premium: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Place protected VMs into cache accounts, first fit by decreasing load (the tighter of IOPS and churn).

    Input columns: vcenter, vm_id, disks, iops (source IOPS), churn_units_mbps (sum over the VM's disks of
    max(average churn MB/s, 4)), premium (any premium target disk). Returns (per VM: vcenter, vm_id, account;
    per account: account, kind, premium_targets, vms, disks, iops, iops_pct, churn_pct).
    """
    cap_churn = churn_capacity_mbps(account)
    iops = vms["iops"].fillna(0).to_numpy(float)
    churn = vms["churn_units_mbps"].fillna(0).to_numpy(float)
    premium = vms["premium"].fillna(False).to_numpy(bool) if separate_premium else np.zeros(len(vms), bool)
    # Load share of the tighter limit, largest first.
    share = np.maximum(iops / STORAGE_ACCOUNT_IOPS, churn / cap_churn)
    order = np.lexsort((-share, premium))
    n_disks = vms["disks"].to_numpy(int)
    n = len(vms)
    acc_premium, acc_iops, acc_churn = np.zeros(n, bool), np.zeros(n), np.zeros(n)   # per account, in opening order
    acc_vms, acc_disks = np.zeros(n, int), np.zeros(n, int)
    acc_names: list[str] = []
    home = np.zeros(n, int)
    for i in order:  # first-fit decreasing over VMs (a VM's disks share one account), accounts compared at once
        k = len(acc_names)
        fits = np.flatnonzero((acc_premium[:k] == premium[i]) & (acc_iops[:k] + iops[i] <= STORAGE_ACCOUNT_IOPS)
                              & (acc_churn[:k] + churn[i] <= cap_churn))
        h = int(fits[0]) if fits.size else k
        if h == k:
            kind = "cache-premium-vms" if premium[i] else "cache"
            acc_names.append(f"{kind}-{int((acc_premium[:k] == premium[i]).sum()) + 1:02d}")
            acc_premium[h] = premium[i]
        acc_iops[h] += iops[i]
        acc_churn[h] += churn[i]
        acc_vms[h] += 1
        acc_disks[h] += n_disks[i]
        home[i] = h
    k = len(acc_names)
    placement = vms[["vcenter", "vm_id"]].copy()
    placement["account"] = np.asarray(acc_names, dtype=object)[home] if n else np.empty(0, dtype=object)
    summary = pd.DataFrame({"account": acc_names, "kind": ACCOUNT_KIND, "premium_targets": acc_premium[:k],
                            "vms": acc_vms[:k], "disks": acc_disks[:k], "iops": acc_iops[:k],
                            "iops_pct": 100.0 * acc_iops[:k] / STORAGE_ACCOUNT_IOPS,
                            "churn_pct": 100.0 * acc_churn[:k] / cap_churn},
                           columns=["account", "kind", "premium_targets", "vms", "disks", "iops", "iops_pct",
                                    "churn_pct"])
    return placement, summary


def load_from_disks(disks: pd.DataFrame, account: str = "V2") -> pd.DataFrame:
    """Per VM (vcenter, vm_id, disks, iops, churn_units_mbps, premium) from per-disk rows with peak_iops,
    avg_churn_mbps and premium: what `place` takes."""
    floor = _floor_mbps(account)
    d = disks[["vcenter", "vm_id", "peak_iops", "premium"]].assign(   # only what is summed: no copy of the rest
        units=np.maximum(disks["avg_churn_mbps"].fillna(0).to_numpy(float), floor))
    return (d.groupby(["vcenter", "vm_id"], as_index=False)
            .agg(disks=("units", "size"), iops=("peak_iops", "sum"), churn_units_mbps=("units", "sum"),
                 premium=("premium", "any")))


SOURCES = (STORAGE_ACCOUNT_SOURCE, CACHE_ACCOUNT_SOURCE)
