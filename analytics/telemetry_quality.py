"""How trustworthy the telemetry behind a plan is: per disk and VM the share of expected samples present, gaps,
missing counters, mixed intervals and days covered, and a confidence rating (1 to 5) with its reasons.

The star bands are Azure Migrate's (share of data points present: 0-20 % one star ... 81-100 % five); the
Deployment Planner recommends profiling at least 7 days (best 31). Expected samples are the planning
interval's slots over the estate's window, so a disk that started late or stopped early counts as gaps.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics.facts import PLANNER_DEFAULTS

KEYS = ["vcenter", "vm_id", "instance"]
MIN_DAYS = float(PLANNER_DEFAULTS.min_profiling_days)
BEST_DAYS = float(PLANNER_DEFAULTS.best_profiling_days)
MIN_COVERAGE_PCT = 95.0
STAR_BANDS_PCT = (20.0, 40.0, 60.0, 80.0)     # Azure Migrate: above each band one more star
LONG_GAP_H = 24.0                              # a gap this long can hide a whole day's peak
COUNTERS = {"write_iops": "write IOPS", "read_kbps": "read KBps", "read_iops": "read IOPS"}


@dataclass(frozen=True)
class TelemetryQuality:
    """Quality of a sample frame at its planning interval, per disk and VM, and the plan's confidence."""

    interval_s: float
    disks: pd.DataFrame        # vcenter, vm_id, instance, samples, expected, coverage_pct, gaps, longest_gap_h,
                               # first_ts, last_ts, days_covered, *_present_pct, missing_counters
    vms: pd.DataFrame          # vcenter, vm_id, disks, coverage_pct, gaps, longest_gap_h, days_covered,
                               # intervals_s, mixed_intervals, write_size_known, missing_counters, stars
    estate: dict[str, Any]     # window, days_covered, coverage_pct, counts of disks missing counters, ...
    rating: int                # 1 (do not trust) .. 5
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-able figures for summary.json."""
        return {"confidence": self.rating, "confidence_reasons": list(self.reasons),
                "telemetry_warnings": list(self.warnings), **self.estate}


def stars(coverage_pct: np.ndarray | float) -> np.ndarray:
    """Azure Migrate's confidence by share of data points present: 1 star up to 20 %, ... 5 above 80 %."""
    return 1 + np.searchsorted(np.array(STAR_BANDS_PCT), np.asarray(coverage_pct, dtype=float), side="left")


def _frame(samples: pd.DataFrame | pl.DataFrame) -> pl.DataFrame:
    """Keys as Enum (coded once: sorting and grouping then compare integers), ts as epoch seconds, NaN as null."""
    f = samples if isinstance(samples, pl.DataFrame) else pl.from_pandas(samples)
    keys = []
    for k in KEYS:
        s = f[k] if isinstance(f[k].dtype, pl.Enum) else f[k].cast(pl.String)
        keys.append(s if isinstance(s.dtype, pl.Enum) else s.cast(pl.Enum(s.unique().drop_nulls().sort())))
    return f.with_columns(*keys, pl.col("ts").dt.epoch("ms").cast(pl.Float64) / 1000.0,
                          *(pl.col(c).cast(pl.Float64).fill_nan(None) for c in ("write_kbps", *COUNTERS)))


def planning_interval(frame: pl.DataFrame) -> float:
    """The interval spanning the most time (the store's default planning interval), smallest on a tie."""
    spans = frame.group_by("interval_s").agg(span=pl.col("ts").max() - pl.col("ts").min())
    return float(spans.sort(["span", "interval_s"], descending=[True, False])["interval_s"][0])


def assess(samples: pd.DataFrame | pl.DataFrame, interval_s: float | None = None) -> TelemetryQuality:
    """Quality of `samples` (churnplan.core.store SAMPLE_COLUMNS, pandas or polars; one or several intervals) at
    `interval_s` (default: the interval spanning the most time)."""
    f = _frame(samples)
    if f.height == 0:
        return TelemetryQuality(float(interval_s or 0), pd.DataFrame(), pd.DataFrame(),
                                {"days_covered": 0.0, "coverage_pct": 0.0}, 1, ["no samples"], ["no samples"])
    iv = float(interval_s) if interval_s is not None else planning_interval(f)
    per_vm_intervals = f.group_by(["vcenter", "vm_id"]).agg(intervals_s=pl.col("interval_s").unique().sort()) \
        .with_columns(pl.col(["vcenter", "vm_id"]).cast(pl.String))
    p = f.filter(pl.col("interval_s") == iv)
    if p.height == 0:
        raise ValueError(f"samples hold no {iv:g} s interval; they hold "
                         f"{', '.join(str(x) for x in sorted(f['interval_s'].unique().to_list()))} s")
    t0, t1 = float(p["ts"].min()), float(p["ts"].max())  # type: ignore[arg-type]
    expected = int(round((t1 - t0) / iv)) + 1
    disks = _disk_table(p, iv, t0, t1, expected)
    vms = _vm_table(disks, per_vm_intervals, iv)
    estate, rating, reasons, warnings = _rate(disks, vms, iv, t0, t1, expected)
    return TelemetryQuality(iv, disks, vms, estate, rating, reasons, warnings)


def _disk_table(p: pl.DataFrame, iv: float, t0: float, t1: float, expected: int) -> pd.DataFrame:
    """Per disk: samples, coverage, gaps (edges of the estate window included) and counters present.

    Each sample becomes one integer, disk row x expected slots + its slot, so one sort of integers orders every
    disk's samples in time; gaps are the slot steps above one between neighbours of the same disk."""
    phys = [p[k].to_physical().cast(pl.Int64).to_numpy() for k in KEYS]
    cats = [np.asarray(typing.cast(pl.Enum, p[k].dtype).categories.to_list()).astype(object) for k in KEYS]
    code = (phys[0] * len(cats[1]) + phys[1]) * len(cats[2]) + phys[2]
    total = len(cats[0]) * len(cats[1]) * len(cats[2])
    if total <= 1 << 25:  # disks present marked in a table, numbered in key order: no sort of every sample
        present = np.zeros(total, dtype=bool)
        present[code] = True
        used = np.nonzero(present)[0]
        row = (np.cumsum(present) - 1)[code]
    else:
        used, row = np.unique(code, return_inverse=True)
    n = used.size
    slot = np.clip(np.rint((p["ts"].to_numpy() - t0) / iv).astype(np.int64), 0, expected - 1)
    comb = np.sort(row.astype(np.int64) * expected + slot)
    r, sl = np.divmod(comb, expected)
    samples = np.bincount(r, minlength=n)
    starts = np.concatenate([[0], np.cumsum(samples)[:-1]])
    first, last = sl[starts], sl[starts + samples - 1]
    # Slots missing after each sample before the next of the same disk (0 at a disk's last sample).
    miss = np.append(np.where(r[1:] == r[:-1], np.diff(sl) - 1, 0).clip(min=0), 0)
    inner_gaps = np.add.reduceat((miss > 0).astype(np.int64), starts)
    inner_longest = np.maximum.reduceat(miss, starts)
    lead, trail = first, expected - 1 - last
    vc, rest = np.divmod(used, len(cats[1]) * len(cats[2]))
    vm, inst = np.divmod(rest, len(cats[2]))
    d = pd.DataFrame({"vcenter": cats[0][vc], "vm_id": cats[1][vm], "instance": cats[2][inst]})
    d["samples"] = samples
    d["expected"] = expected
    d["coverage_pct"] = 100.0 * samples / expected
    d["gaps"] = (inner_gaps + (lead > 0) + (trail > 0)).astype(int)
    d["longest_gap_h"] = np.maximum.reduce([inner_longest, lead, trail]) * iv / 3600.0
    d["first_ts"] = pd.to_datetime(t0 + first * iv, unit="s", utc=True)
    d["last_ts"] = pd.to_datetime(t0 + last * iv, unit="s", utc=True)
    d["days_covered"] = (last - first + 1) * iv / 86_400.0
    for c in COUNTERS:
        d[f"{c}_present_pct"] = 100.0 * np.bincount(row, weights=p[c].is_not_null().to_numpy(), minlength=n) / samples
    present_pct = d[[f"{c}_present_pct" for c in COUNTERS]].to_numpy()
    labels = np.array(list(COUNTERS.values()), dtype=object)
    d["missing_counters"] = [", ".join(labels[row_ == 0]) for row_ in present_pct]
    d["partial_counters"] = [", ".join(labels[(row_ > 0) & (row_ < 100)]) for row_ in present_pct]
    return d.sort_values(KEYS, ignore_index=True)


def _vm_table(disks: pd.DataFrame, intervals: pl.DataFrame, iv: float) -> pd.DataFrame:
    """Per VM: its disks' coverage and gaps (the worst disk), intervals seen, and whether write size is known."""
    g = disks.groupby(["vcenter", "vm_id"], sort=True)
    vms = g.agg(disks=("instance", "size"), samples=("samples", "sum"), expected=("expected", "sum"),
                gaps=("gaps", "max"), longest_gap_h=("longest_gap_h", "max"), days_covered=("days_covered", "max"),
                write_iops_present_pct=("write_iops_present_pct", "min"),
                missing_counters=("missing_counters", lambda s: ", ".join(sorted({x for v in s for x in v.split(", ")
                                                                                  if x}))),
                ).reset_index()
    vms["coverage_pct"] = 100.0 * vms["samples"] / vms["expected"]
    vms["write_size_known"] = vms["write_iops_present_pct"] > 0
    iv_frame = intervals.with_columns(pl.col("intervals_s").cast(pl.List(pl.String)).list.join(";")).to_pandas()
    vms = vms.merge(iv_frame, on=["vcenter", "vm_id"], how="left")
    vms["mixed_intervals"] = vms["intervals_s"].str.contains(";")
    vms["stars"] = stars(vms["coverage_pct"].to_numpy())
    return vms[["vcenter", "vm_id", "disks", "coverage_pct", "gaps", "longest_gap_h", "days_covered", "intervals_s",
                "mixed_intervals", "write_size_known", "missing_counters", "stars"]]


def _rate(disks: pd.DataFrame, vms: pd.DataFrame, iv: float, t0: float, t1: float, expected: int
          ) -> tuple[dict[str, Any], int, list[str], list[str]]:
    """Estate figures, the rating (stars by coverage, less one per weakness found) and why."""
    coverage = 100.0 * float(disks["samples"].sum()) / (expected * len(disks))
    days = (t1 - t0 + iv) / 86_400.0
    no_write_iops = int((disks["write_iops_present_pct"] == 0).sum())
    no_read = int(((disks["read_kbps_present_pct"] == 0) | (disks["read_iops_present_pct"] == 0)).sum())
    mixed = int(vms["mixed_intervals"].sum())
    long_gaps = int((disks["longest_gap_h"] >= LONG_GAP_H).sum())
    base = int(stars(coverage))
    reasons = [f"{coverage:.1f} % of the expected {iv:g} s samples present: {base} of 5 by share of data points"]
    penalty = 0
    if days < MIN_DAYS:
        penalty += 1
        reasons.append(f"-1: {days:.1f} days profiled; the Deployment Planner recommends at least {MIN_DAYS:g} "
                       f"(best {BEST_DAYS:g})")
    if no_write_iops:
        penalty += 1
        reasons.append(f"-1: write IOPS missing on {no_write_iops} of {len(disks)} disks: average write size "
                       "unknown, so the churn limits that depend on it cannot be checked")
    if no_read:
        penalty += 1
        reasons.append(f"-1: read counters missing on {no_read} of {len(disks)} disks: total IOPS and "
                       "throughput (target disk tier, VM size) are undercounted")
    if long_gaps:
        penalty += 1
        reasons.append(f"-1: {long_gaps} disks have a gap of {LONG_GAP_H:g} h or more, which can hide a day's peak")
    if mixed:
        reasons.append(f"note: {mixed} VMs have samples at several intervals; the plan uses the {iv:g} s ones")
    rating = int(np.clip(base - penalty, 1, 5))
    warnings = []
    if days < MIN_DAYS:
        warnings.append(f"only {days:.1f} days of telemetry (under {MIN_DAYS:g}): peaks of a weekly cycle may be "
                        "missing")
    if coverage < MIN_COVERAGE_PCT:
        warnings.append(f"only {coverage:.1f} % of expected samples present (under {MIN_COVERAGE_PCT:g} %)")
    estate = {"interval_s": iv, "window_start": pd.Timestamp(t0, unit="s", tz="UTC").isoformat(),
              "window_end": pd.Timestamp(t1, unit="s", tz="UTC").isoformat(), "days_covered": days,
              "coverage_pct": coverage, "vms": len(vms), "disks": len(disks),
              "disks_missing_write_iops": no_write_iops, "disks_missing_read_counters": no_read,
              "disks_with_long_gaps": long_gaps, "vms_with_mixed_intervals": mixed}
    return estate, rating, reasons, warnings
