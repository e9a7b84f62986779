"""A tiny, fully deterministic estate for export tests: three VMs whose names try to break CSV, Excel and HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from churnplan.core import store

VCENTER = "vc-tiny.example"
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'
SCRIPT_NAME = '<script>alert("pwn")</script>, db'
NAMES = (FORMULA_NAME, SCRIPT_NAME, "web01")
TOO_BIG_GB = 40960.0
START = pd.Timestamp("2026-11-09 00:00", tz="UTC")  # a Monday


def frames(days: int = 2, interval_s: int = 300) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """vms, disks, samples: each VM has an OS disk and a data disk writing a daily sine of known size."""
    vms = pd.DataFrame({
        "vcenter": VCENTER, "vm_id": [f"vm-{i}" for i in range(1, 4)], "uuid": [f"uuid-{i}" for i in range(1, 4)],
        "name": list(NAMES), "host": "esx01", "cluster": "c1", "guest_os": "Ubuntu Linux (64-bit)",
        "firmware": "bios", "num_cpu": 2, "memory_mb": 4096, "num_nics": 1, "power_state": "poweredOn"})
    disks = pd.DataFrame([
        {"vcenter": VCENTER, "vm_id": vm, "instance": inst, "label": f"Hard disk {n}",
         "capacity_gb": cap, "provisioned_gb": cap, "used_gb": cap / 2, "is_os_disk": n == 1,
         "disk_mode": "persistent", "controller": "pvscsi"}
        for vm in vms["vm_id"] for n, (inst, cap) in enumerate([("scsi0:0", 60.0), ("scsi0:1", 200.0)], start=1)])
    disks.loc[(disks["vm_id"] == "vm-3") & (disks["instance"] == "scsi0:1"), ["capacity_gb", "provisioned_gb"]] = \
        TOO_BIG_GB  # web01 cannot be protected: a data disk above the 32 TB limit
    ts = pd.date_range(START + pd.Timedelta(seconds=interval_s), periods=days * 86400 // interval_s,
                       freq=f"{interval_s}s")
    hours = ((ts - START).total_seconds().to_numpy() / 3600.0) % 24
    shape = 1.0 + np.sin((hours - 6) / 24 * 2 * np.pi)          # 0 at 00:00, peak 2 at 12:00
    parts = []
    for k, (vm, inst) in enumerate(disks[["vm_id", "instance"]].itertuples(index=False)):
        write = 100.0 * (k + 1) * shape
        parts.append(pd.DataFrame({"vcenter": VCENTER, "vm_id": vm, "instance": inst, "ts": ts,
                                   "interval_s": interval_s, "write_kbps": write, "read_kbps": write / 2,
                                   "write_iops": write / 8, "read_iops": write / 16}))
    return vms, disks, pd.concat(parts, ignore_index=True)


def write_store(path: Path, days: int = 2, interval_s: int = 300) -> Path:
    """A store at `path` holding the tiny estate over `days` at `interval_s`."""
    vms, disks, samples = frames(days=days, interval_s=interval_s)
    con = store.connect(path)
    try:
        store.upsert_vms(con, vms)
        store.upsert_disks(con, disks)
        store.insert_samples(con, samples)
    finally:
        con.close()
    return path
