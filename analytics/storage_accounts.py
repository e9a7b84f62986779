"""Cache (log) storage-account placement, as the Deployment Planner's "VM-storage placement" gives it: every
protected VM's disks log to one standard storage account in the target region, and an account is full at
about 20,000 requests/s of source IOPS or at the churn the support matrix allows per account.

Replication logs go to standard accounts even for premium target disks (DP v2.5 with managed disks: "All the
replication logs are stored in a standard storage account"); VMs with premium targets are placed in accounts
of their own so their heavier churn does not crowd the others.
"""

from __future__ import annotations

from typing import Any

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
    names = np.empty(len(vms), dtype=object)
    accounts: list[dict[str, Any]] = []
    for i in order:  # first-fit decreasing over VMs (a VM's disks share one account)
        home = next((a for a in accounts if a["premium"] == premium[i]
                     and a["iops"] + iops[i] <= STORAGE_ACCOUNT_IOPS and a["churn"] + churn[i] <= cap_churn), None)
        if home is None:
            kind = "cache-premium-vms" if premium[i] else "cache"
            home = {"account": f"{kind}-{sum(a['premium'] == premium[i] for a in accounts) + 1:02d}",
                    "premium": bool(premium[i]), "iops": 0.0, "churn": 0.0, "vms": 0, "disks": 0}
            accounts.append(home)
        home["iops"] += iops[i]
        home["churn"] += churn[i]
        home["vms"] += 1
        home["disks"] += int(vms["disks"].iloc[i])
        names[i] = home["account"]
    placement = vms[["vcenter", "vm_id"]].copy()
    placement["account"] = names
    summary = pd.DataFrame([{"account": a["account"], "kind": ACCOUNT_KIND, "premium_targets": a["premium"],
                             "vms": a["vms"], "disks": a["disks"], "iops": a["iops"],
                             "iops_pct": 100.0 * a["iops"] / STORAGE_ACCOUNT_IOPS,
                             "churn_pct": 100.0 * a["churn"] / cap_churn} for a in accounts],
                           columns=["account", "kind", "premium_targets", "vms", "disks", "iops", "iops_pct",
                                    "churn_pct"])
    return placement, summary


def load_from_disks(disks: pd.DataFrame, account: str = "V2") -> pd.DataFrame:
    """Per VM (vcenter, vm_id, disks, iops, churn_units_mbps, premium) from per-disk rows with peak_iops,
    avg_churn_mbps and premium: what `place` takes."""
    floor = _floor_mbps(account)
    d = disks.assign(units=np.maximum(disks["avg_churn_mbps"].fillna(0).to_numpy(float), floor))
    return (d.groupby(["vcenter", "vm_id"], as_index=False)
            .agg(disks=("units", "size"), iops=("peak_iops", "sum"), churn_units_mbps=("units", "sum"),
                 premium=("premium", "any")))


SOURCES = (STORAGE_ACCOUNT_SOURCE, CACHE_ACCOUNT_SOURCE)
