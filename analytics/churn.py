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


def group_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group code per row for `keys`, and the key values of each code (factorised column by column)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for k in keys:
        c, uniq = pd.factorize(frame[k], sort=False)
        code = code * (len(uniq) + 1) + c
    code, first = pd.factorize(code, sort=False)
    rows = pd.Series(np.arange(len(frame))).groupby(code).first().to_numpy() if len(frame) else np.zeros(0, int)
    return code, frame[keys].iloc[rows].reset_index(drop=True)


def _profile(frame: pd.DataFrame, code: np.ndarray, key_values: pd.DataFrame, percentile: float,
             growth: float) -> pd.DataFrame:
    """Profile per group code of per-sample rows holding write_kbps, write_iops, iops, rw_kbps."""
    g = frame.groupby(code, sort=True)
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
    keys = key_values.iloc[out.index.to_numpy()].reset_index(drop=True)
    return pd.concat([keys, out.reset_index(drop=True)], axis=1)


_METRICS = ["write_kbps", "write_iops", "iops", "rw_kbps"]


def _per_sample(samples: pd.DataFrame) -> pd.DataFrame:
    vals = samples[["write_kbps", "read_kbps", "write_iops", "read_iops"]].astype(float).fillna(0.0)
    return pd.DataFrame({"write_kbps": vals["write_kbps"].to_numpy(), "write_iops": vals["write_iops"].to_numpy(),
                         "iops": (vals["write_iops"] + vals["read_iops"]).to_numpy(),
                         "rw_kbps": (vals["write_kbps"] + vals["read_kbps"]).to_numpy()})


def disk_profiles(samples: pd.DataFrame, percentile: float, growth_pct: float) -> pd.DataFrame:
    """One row per disk with samples: the percentile of its own samples, x (1 + growth)."""
    code, keys = group_codes(samples, DISK_KEY)
    return _profile(_per_sample(samples), code, keys, percentile, 1.0 + growth_pct / 100.0)


def vm_profiles(samples: pd.DataFrame, percentile: float, growth_pct: float) -> pd.DataFrame:
    """One row per VM: the percentile of the per-sample SUM over its (included) disks, not a sum of disk peaks."""
    vm_code, keys = group_codes(samples, VM_KEY)
    ts_code, ts_uniq = pd.factorize(samples["ts"], sort=False)
    cell = vm_code.astype(np.int64) * max(len(ts_uniq), 1) + ts_code
    cell_code, cell_uniq = pd.factorize(cell, sort=False)
    per = _per_sample(samples)
    sums = pd.DataFrame({m: np.bincount(cell_code, weights=per[m].to_numpy(), minlength=len(cell_uniq))
                         for m in _METRICS})
    return _profile(sums, cell_uniq // max(len(ts_uniq), 1), keys, percentile, 1.0 + growth_pct / 100.0)


def series_profile(write_kbps: np.ndarray, percentile: float, growth_pct: float) -> dict[str, float]:
    """Profile of one summed series (a process server's or the estate's write KBps per sample)."""
    w = np.asarray(write_kbps, dtype=float) * (1.0 + growth_pct / 100.0)
    if w.size == 0:
        return {"peak_write_kbps": 0.0, "max_write_kbps": 0.0, "avg_write_kbps": 0.0, "churn_gb_day": 0.0}
    return {"peak_write_kbps": float(np.percentile(w, percentile)), "max_write_kbps": float(w.max()),
            "avg_write_kbps": float(w.mean()), "churn_gb_day": float(w.mean()) * SECONDS_PER_DAY / KB_PER_GB}
