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


UNKNOWN_WRITE_SIZE = "churn check unknown (needs virtualDisk.numberWriteAveraged)"
_LARGEST_IO_KIB = 1.0e9   # a write size past every CHURN_LIMITS row: the most lenient limit


def over(value: float, limit: float, unit: str, decimals: int = 1) -> str:
    """"value unit > limit unit" with as many decimals as it takes for the two numbers to read differently."""
    d = decimals
    while f"{value:,.{d}f}" == f"{limit:,.{d}f}" and d < 6:
        d += 1
    return f"{value:,.{d}f} {unit} > {limit:,.{d}f} {unit}"


def write_size_unknown(disks: pd.DataFrame) -> np.ndarray:
    """True for disks whose average write size is unknown (writes without a write-operations counter)."""
    return np.asarray(disks["avg_write_io_kib"].isna().to_numpy() & (disks["churn_gib_day"].fillna(0) > 0).to_numpy())


def _churn_limits(disks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(write size KiB, churn limit MiB/s, GiB/day limit) per disk; an unknown size gets the most lenient limits."""
    io = disks["avg_write_io_kib"].to_numpy(float)
    lenient = np.where(np.isnan(io), _LARGEST_IO_KIB, io)
    churn_max = np.minimum(churn_limit_mibps("p20_p50", lenient), LIM.disk_avg_churn_mibps)  # the largest tier's
    return np.nan_to_num(io, nan=0.0), churn_max, churn_limit_gib_day("p20_p50", lenient)


def disk_reasons(disks: pd.DataFrame) -> pd.Series:
    """Blocking reasons per disk ('; '-joined, '' when none) from size, churn, I/O and IOPS limits.

    Needs capacity_gib, is_os_disk, firmware (of its VM), peak_churn_mibps, churn_gib_day, avg_write_io_kib,
    peak_iops, avg_write_iops. An unknown write size blocks only beyond the most lenient churn limit.
    Unknown capacities (NaN) block nothing.
    """
    cap = disks["capacity_gib"].to_numpy(float)
    os_disk = disks["is_os_disk"].fillna(False).astype(bool).to_numpy()
    efi = disks["firmware"].fillna("").astype(str).str.lower().eq("efi").to_numpy()
    os_max = np.where(efi, LIM.os_disk_gib_gen2, LIM.os_disk_gib_gen1)
    io, churn_max, gib_day_max = _churn_limits(disks)
    unknown = write_size_unknown(disks)
    churn = disks["peak_churn_mibps"].fillna(0).to_numpy(float)
    gib_day = disks["churn_gib_day"].fillna(0).to_numpy(float)
    iops = disks["peak_iops"].fillna(0).to_numpy(float)
    write_iops = disks["avg_write_iops"].fillna(0).to_numpy(float)
    at = np.where(unknown, "at an unknown write size", np.char.add(np.char.add("at ", np.round(io).astype(int)
                                                                                .astype(str)), " KiB writes"))
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (os_disk & (cap > os_max), lambda i: f"OS disk {over(cap[i], os_max[i], 'GiB', 0)} "
                                             f"({'Gen2/UEFI' if efi[i] else 'Gen1/BIOS'})"),
        (~os_disk & (cap > LIM.data_disk_max_gib),
         lambda i: f"data disk {over(cap[i], LIM.data_disk_max_gib, 'GiB', 0)}"),
        (~os_disk & (cap < LIM.data_disk_min_gib),
         lambda i: f"data disk {cap[i]:,.2f} GiB < {LIM.data_disk_min_gib:.2f} GiB"),
        (churn > churn_max, lambda i: f"churn {over(churn[i], churn_max[i], 'MiB/s')} {at[i]}"),
        (gib_day > gib_day_max, lambda i: f"churn {over(gib_day[i], gib_day_max[i], 'GiB/day', 0)}"),
        (iops > LIM.disk_iops, lambda i: f"{over(iops[i], LIM.disk_iops, 'IOPS', 0)}"),
        (write_iops > LIM.disk_write_iops,
         lambda i: f"average write {over(write_iops[i], LIM.disk_write_iops, 'IOPS', 0)}"),
    ]
    reasons: list[list[str]] = [[] for _ in range(len(disks))]
    for mask, text in checks:
        for i in np.nonzero(mask)[0]:
            reasons[i].append(text(int(i)))
    return pd.Series(["; ".join(r) for r in reasons], index=disks.index, dtype=object)


def disk_warnings(disks: pd.DataFrame) -> pd.Series:
    """Per disk what could not be checked ('' when everything was): unknown write size, unknown capacity."""
    unknown_io = write_size_unknown(disks)
    unknown_cap = disks["capacity_gib"].isna().to_numpy()
    text = [("; ".join(filter(None, [UNKNOWN_WRITE_SIZE if w else "",
                                     "capacity unknown (disk known only from samples)" if c else ""])))
            for w, c in zip(unknown_io, unknown_cap, strict=True)]
    return pd.Series(text, index=disks.index, dtype=object)


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
            r.append(f"VM: churn {over(churn[i], LIM.vm_peak_churn_mibps, 'MiB/s')}")
        if iops[i] > LIM.vm_iops:
            r.append(f"VM: {over(iops[i], LIM.vm_iops, 'IOPS', 0)}")
        if size_tib[i] > LIM.vm_total_size_tib:
            r.append(f"VM: total size {over(size_tib[i], LIM.vm_total_size_tib, 'TiB')}")
        note = "UEFI: replicate with Secure Boot off" if efi[i] and not LIM.uefi_secure_boot_supported else ""
        bumped = bool(bumped_any[i]) if pd.notna(bumped_any[i]) else False
        status.append((Compatibility.NO if r else Compatibility.YES_PREMIUM if bumped else Compatibility.YES).value)
        reasons.append("; ".join(r))
        notes.append("; ".join(filter(None, [note, "disk(s) need a larger premium tier than their size" if bumped
                                              and not r else ""])))
    return pd.DataFrame({"vcenter": out["vcenter"], "vm_id": out["vm_id"], "compatibility": status,
                         "reasons": reasons, "notes": notes, "data_disks": n_data,
                         "size_gib": out["size_gib"].fillna(0.0)})
