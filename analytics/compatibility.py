"""ASR compatibility per VM: every reason per disk and per VM against the published limits; Yes / Yes* / No."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from churnplan.analytics.facts import COMPATIBILITY as LIM
from churnplan.analytics.disk_types import churn_limit_gib_day, churn_limit_mibps
from churnplan.analytics.sample_grid import VM_KEY
from churnplan.analytics.vocabulary import Compatibility
from churnplan.core.units import gib_to_tib


def disk_reasons(disks: pd.DataFrame) -> pd.Series:
    """Blocking reasons per disk ('; '-joined, '' when none) from size, churn, I/O and IOPS limits.

    Needs capacity_gib, is_os_disk, firmware (of its VM), peak_churn_mibps, churn_gib_day, avg_write_io_kib,
    peak_iops, avg_write_iops.
    """
    cap = disks["capacity_gib"].fillna(0).to_numpy(float)
    os_disk = disks["is_os_disk"].fillna(False).astype(bool).to_numpy()
    efi = disks["firmware"].fillna("").astype(str).str.lower().eq("efi").to_numpy()
    os_max = np.where(efi, LIM.os_disk_gib_gen2, LIM.os_disk_gib_gen1)
    io = disks["avg_write_io_kib"].fillna(0).to_numpy(float)
    churn = disks["peak_churn_mibps"].fillna(0).to_numpy(float)
    gib_day = disks["churn_gib_day"].fillna(0).to_numpy(float)
    iops = disks["peak_iops"].fillna(0).to_numpy(float)
    write_iops = disks["avg_write_iops"].fillna(0).to_numpy(float)
    churn_max = np.minimum(churn_limit_mibps("p20_p50", io), LIM.disk_avg_churn_mibps)  # the largest tier's limits
    gib_day_max = churn_limit_gib_day("p20_p50", io)
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (os_disk & (cap > os_max), lambda i: f"OS disk {cap[i]:,.0f} GB > {os_max[i]:,.0f} GB "
                                             f"({'Gen2/UEFI' if efi[i] else 'Gen1/BIOS'})"),
        (~os_disk & (cap > LIM.data_disk_max_gib),
         lambda i: f"data disk {cap[i]:,.0f} GB > {LIM.data_disk_max_gib:,.0f} GB"),
        (~os_disk & (cap < LIM.data_disk_min_gib),
         lambda i: f"data disk {cap[i]:,.2f} GB < {LIM.data_disk_min_gib:.0f} GB"),
        (churn > churn_max, lambda i: f"churn {churn[i]:.1f} MB/s > {churn_max[i]:.0f} MB/s at {io[i]:.0f} KB writes"),
        (gib_day > gib_day_max, lambda i: f"churn {gib_day[i]:,.0f} GB/day > {gib_day_max[i]:,.0f} GB/day"),
        (iops > LIM.disk_iops, lambda i: f"{iops[i]:,.0f} IOPS > {LIM.disk_iops:,.0f}"),
        (write_iops > LIM.disk_write_iops,
         lambda i: f"{write_iops[i]:,.0f} average write IOPS > {LIM.disk_write_iops:,.0f}"),
    ]
    reasons: list[list[str]] = [[] for _ in range(len(disks))]
    for mask, text in checks:
        for i in np.nonzero(mask)[0]:
            reasons[i].append(text(int(i)))
    return pd.Series(["; ".join(r) for r in reasons], index=disks.index, dtype=object)


def vm_compatibility(vms: pd.DataFrame, disks: pd.DataFrame) -> pd.DataFrame:
    """Per VM: compatibility (Yes / Yes* / No), reasons (per disk and VM-wide) and notes.

    `vms` carries the VM churn profile (peak_churn_mibps, peak_iops) and firmware; `disks` the disk frame with
    reasons and bumped columns, holding only the disks that replicate: excluded disks leave every limit.
    """
    d = disks.copy()
    d["data"] = ~d["is_os_disk"].fillna(False).astype(bool)
    tagged = d.assign(tag=d["instance"].astype(str) + ": " + d["reasons"])
    per_disk = tagged[d["reasons"] != ""].groupby(VM_KEY)["tag"].agg(list)
    agg = d.groupby(VM_KEY).agg(data_disks=("data", "sum"), size_gib=("capacity_gib", "sum"),
                                bumped=("bumped", "any"))
    out = vms[VM_KEY].merge(agg.reset_index(), on=VM_KEY, how="left")
    out = out.merge(per_disk.rename("disk_reasons").reset_index(), on=VM_KEY, how="left")
    churn = vms["peak_churn_mibps"].fillna(0).to_numpy(float)
    iops = vms["peak_iops"].fillna(0).to_numpy(float)
    n_data = out["data_disks"].fillna(0).to_numpy(int)
    size_tib = gib_to_tib(out["size_gib"].fillna(0).to_numpy(float))
    efi = vms["firmware"].fillna("").astype(str).str.lower().eq("efi").to_numpy()
    disk_reasons, bumped_any = out["disk_reasons"].to_numpy(), out["bumped"].to_numpy()
    status, reasons, notes = [], [], []
    for i in range(len(out)):  # one row per VM
        r = list(disk_reasons[i]) if isinstance(disk_reasons[i], list) else []
        if n_data[i] > LIM.max_data_disks:
            r.append(f"VM: {n_data[i]} data disks > {LIM.max_data_disks}")
        if churn[i] > LIM.vm_peak_churn_mibps:
            r.append(f"VM: peak churn {churn[i]:.1f} MB/s > {LIM.vm_peak_churn_mibps:.0f} MB/s")
        if iops[i] > LIM.vm_iops:
            r.append(f"VM: {iops[i]:,.0f} IOPS > {LIM.vm_iops:,.0f}")
        if size_tib[i] > LIM.vm_total_size_tib:
            r.append(f"VM: total size {size_tib[i]:.1f} TB > {LIM.vm_total_size_tib:.0f} TB")
        note = "UEFI: replicate with Secure Boot off" if efi[i] and not LIM.uefi_secure_boot_supported else ""
        bumped = bool(bumped_any[i]) if pd.notna(bumped_any[i]) else False
        status.append((Compatibility.NO if r else Compatibility.YES_PREMIUM if bumped else Compatibility.YES).value)
        reasons.append("; ".join(r))
        notes.append("; ".join(filter(None, [note, "disk(s) need a larger premium tier than their size" if bumped
                                              and not r else ""])))
    return pd.DataFrame({"vcenter": out["vcenter"], "vm_id": out["vm_id"], "compatibility": status,
                         "reasons": reasons, "notes": notes, "data_disks": n_data,
                         "size_gib": out["size_gib"].fillna(0.0)})
