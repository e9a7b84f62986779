"""Churn profiles of disks, VMs and groups: percentile peak, max, average, churn/day and write I/O size, with growth."""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

DISK_KEY = ["vcenter", "vm_id", "instance"]
VM_KEY = ["vcenter", "vm_id"]
KB_PER_GB = 1024.0 ** 2
SECONDS_PER_DAY = 86_400


def excluded_disks(disks: pd.DataFrame, vms: pd.DataFrame, globs: tuple[str, ...] | list[str]) -> pd.Series:
    """True for disks matched by any glob against "vm_name/instance" or the disk label (case-sensitive)."""
    if not globs or disks.empty:
        return pd.Series(False, index=disks.index)
    names = disks.merge(vms[VM_KEY + ["name"]], on=VM_KEY, how="left")["name"].fillna(disks["vm_id"]).to_numpy()
    paths = [f"{n}/{i}" for n, i in zip(names, disks["instance"].astype(str))]
    labels = disks["label"].fillna("").astype(str).tolist()
    hit = [any(fnmatchcase(p, g) or fnmatchcase(lb, g) for g in globs) for p, lb in zip(paths, labels)]
    return pd.Series(hit, index=disks.index)


def _profile(frame: pd.DataFrame, keys: list[str], percentile: float, growth: float) -> pd.DataFrame:
    """Profile per `keys` group of per-sample rows holding write_kbps, write_iops, iops, interval_s."""
    g = frame.groupby(keys, sort=False)
    q = percentile / 100.0
    out = pd.DataFrame({
        "peak_write_kbps": g["write_kbps"].quantile(q) * growth,
        "max_write_kbps": g["write_kbps"].max() * growth,
        "avg_write_kbps": g["write_kbps"].mean() * growth,
        "peak_write_iops": g["write_iops"].quantile(q) * growth,
        "avg_write_iops": g["write_iops"].mean() * growth,
        "peak_iops": g["iops"].quantile(q) * growth,
        "peak_mbps_rw": g["rw_kbps"].quantile(q) * growth / 1024.0,
        "samples": g["write_kbps"].size(),
    })
    sums = g[["write_kbps", "write_iops"]].sum()
    out["avg_write_io_kb"] = np.where(sums["write_iops"] > 0, sums["write_kbps"] / sums["write_iops"].where(
        sums["write_iops"] > 0, 1.0), 0.0)
    out["peak_churn_mbps"] = out["peak_write_kbps"] / 1024.0
    out["churn_gb_day"] = out["avg_write_kbps"] * SECONDS_PER_DAY / KB_PER_GB
    return out.reset_index()


def _per_sample(samples: pd.DataFrame) -> pd.DataFrame:
    s = samples[DISK_KEY + ["ts", "write_kbps", "read_kbps", "write_iops", "read_iops"]]
    vals = s[["write_kbps", "read_kbps", "write_iops", "read_iops"]].astype(float).fillna(0.0)
    return pd.DataFrame({**{k: s[k] for k in DISK_KEY + ["ts"]},
                         "write_kbps": vals["write_kbps"], "write_iops": vals["write_iops"],
                         "iops": vals["write_iops"] + vals["read_iops"],
                         "rw_kbps": vals["write_kbps"] + vals["read_kbps"]})


def disk_profiles(samples: pd.DataFrame, percentile: float, growth_pct: float) -> pd.DataFrame:
    """One row per disk with samples: the percentile of its own samples, x (1 + growth)."""
    return _profile(_per_sample(samples), DISK_KEY, percentile, 1.0 + growth_pct / 100.0)


def vm_profiles(samples: pd.DataFrame, percentile: float, growth_pct: float) -> pd.DataFrame:
    """One row per VM: the percentile of the per-sample SUM over its (included) disks, not a sum of disk peaks."""
    per = _per_sample(samples).groupby(VM_KEY + ["ts"], sort=False)[["write_kbps", "write_iops", "iops", "rw_kbps"]] \
        .sum().reset_index()
    return _profile(per, VM_KEY, percentile, 1.0 + growth_pct / 100.0)


def series_profile(write_kbps: np.ndarray, percentile: float, growth_pct: float) -> dict[str, float]:
    """Profile of one summed series (a process server's or the estate's write KBps per sample)."""
    w = np.asarray(write_kbps, dtype=float) * (1.0 + growth_pct / 100.0)
    if w.size == 0:
        return {"peak_write_kbps": 0.0, "max_write_kbps": 0.0, "avg_write_kbps": 0.0, "churn_gb_day": 0.0}
    return {"peak_write_kbps": float(np.percentile(w, percentile)), "max_write_kbps": float(w.max()),
            "avg_write_kbps": float(w.mean()), "churn_gb_day": float(w.mean()) * SECONDS_PER_DAY / KB_PER_GB}
