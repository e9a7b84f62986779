"""How trustworthy the telemetry behind a plan is: per disk and VM the share of expected samples present, gaps,
missing counters, mixed intervals and days covered, and a confidence rating (1 to 5) with its reasons.

The star bands are Azure Migrate's (share of data points present: 0-20 % one star ... 81-100 % five); the
Deployment Planner recommends profiling at least 7 days (best 31). Expected samples are the planning
interval's slots over the estate's window, so a disk that started late or stopped early counts as gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import telemetry_statistics as statistics
from churnplan.analytics.facts import PLANNER_DEFAULTS
from churnplan.analytics.telemetry_statistics import COUNTERS, KEYS

MIN_DAYS = float(PLANNER_DEFAULTS.min_profiling_days)
BEST_DAYS = float(PLANNER_DEFAULTS.best_profiling_days)
MIN_COVERAGE_PCT = 95.0
STAR_BANDS_PCT = (20.0, 40.0, 60.0, 80.0)     # Azure Migrate: above each band one more star
LONG_GAP_H = 24.0                              # a gap this long can hide a whole day's peak


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


def assess(samples: pd.DataFrame | pl.DataFrame, interval_s: float | None = None) -> TelemetryQuality:
    """Quality of `samples` (churnplan.core.store SAMPLE_COLUMNS, pandas or polars; one or several intervals) at
    `interval_s` (default: the interval spanning the most time)."""
    return from_statistics(statistics.from_samples(samples, interval_s))


def from_statistics(stats: statistics.DiskStatistics) -> TelemetryQuality:
    """The assessment from per-disk statistics (analytics.telemetry_statistics), wherever they were computed:
    the window is the earliest first to the latest last sample, each disk's gaps include its window edges."""
    iv, s = float(stats.interval_s), stats.disks
    if len(s) == 0:
        return TelemetryQuality(iv, pd.DataFrame(), pd.DataFrame(),
                                {"days_covered": 0.0, "coverage_pct": 0.0}, 1, ["no samples"], ["no samples"])
    iv_us = int(round(iv * statistics.US_PER_S))
    first_us, last_us = s["first_us"].to_numpy(np.int64), s["last_us"].to_numpy(np.int64)
    t0, t1 = int(first_us.min()), int(last_us.max())
    expected = int(statistics.slots(np.array([t1 - t0]), iv_us)[0]) + 1
    disks = _disk_table(s, iv, t0, expected)
    if stats.intervals is not None:
        intervals = stats.intervals
    else:
        intervals = disks[["vcenter", "vm_id"]].drop_duplicates().assign(interval_s=iv)
    vms = _vm_table(disks, intervals)
    estate, rating, reasons, warnings = _rate(disks, vms, iv, t0, t1, expected)
    return TelemetryQuality(iv, disks, vms, estate, rating, reasons, warnings)


def _disk_table(s: pd.DataFrame, iv: float, t0_us: int, expected: int) -> pd.DataFrame:
    """Per disk: samples, coverage, gaps (edges of the estate window included) and counters present."""
    iv_us = int(round(iv * statistics.US_PER_S))
    first = statistics.slots(s["first_us"].to_numpy(np.int64) - t0_us, iv_us)
    last = statistics.slots(s["last_us"].to_numpy(np.int64) - t0_us, iv_us)
    samples = s["samples"].to_numpy(np.int64)
    lead, trail = first, expected - 1 - last
    d = pd.DataFrame({k: s[k].astype(str).to_numpy(dtype=object) for k in KEYS})
    d["samples"] = samples
    d["expected"] = expected
    d["coverage_pct"] = 100.0 * samples / expected
    d["gaps"] = (s["inner_gaps"].to_numpy(np.int64) + (lead > 0) + (trail > 0)).astype(int)
    d["longest_gap_h"] = np.maximum.reduce([s["longest_inner_gap"].to_numpy(np.int64), lead, trail]) * iv / 3600.0
    d["first_ts"] = pd.to_datetime(t0_us + first * iv_us, unit="us", utc=True)
    d["last_ts"] = pd.to_datetime(t0_us + last * iv_us, unit="us", utc=True)
    d["days_covered"] = (last - first + 1) * iv / 86_400.0
    for c in COUNTERS:
        d[f"{c}_present_pct"] = 100.0 * s[f"{c}_present"].to_numpy(np.float64) / samples
    present_pct = d[[f"{c}_present_pct" for c in COUNTERS]].to_numpy()
    d["missing_counters"] = _counter_lists(present_pct == 0)
    d["partial_counters"] = _counter_lists((present_pct > 0) & (present_pct < 100))
    return d.sort_values(KEYS, ignore_index=True)


def _counter_lists(flags: np.ndarray) -> np.ndarray:
    """Per row of `flags` (one column per counter), the flagged counters' labels joined: each of the few
    combinations is joined once, then looked up by its bits."""
    labels = list(COUNTERS.values())
    combos = range(1 << len(labels))
    texts = np.array([", ".join(lb for i, lb in enumerate(labels) if code >> i & 1) for code in combos], dtype=object)
    code = (flags.astype(np.int64) << np.arange(len(labels))).sum(axis=1)
    texts_per_row: np.ndarray = texts[code]
    return texts_per_row


def _vm_table(disks: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """Per VM: its disks' coverage and gaps (the worst disk), intervals seen, and whether write size is known."""
    g = disks.groupby(["vcenter", "vm_id"], sort=True)
    vms = g.agg(disks=("instance", "size"), samples=("samples", "sum"), expected=("expected", "sum"),
                gaps=("gaps", "max"), longest_gap_h=("longest_gap_h", "max"), days_covered=("days_covered", "max"),
                write_iops_present_pct=("write_iops_present_pct", "min"),
                ).reset_index()
    vms["missing_counters"] = _missing_counters(vms, disks)
    vms["coverage_pct"] = 100.0 * vms["samples"] / vms["expected"]
    vms["write_size_known"] = vms["write_iops_present_pct"] > 0
    seen = (intervals.assign(vcenter=intervals["vcenter"].astype(str), vm_id=intervals["vm_id"].astype(str))
            .sort_values("interval_s", kind="stable").drop_duplicates(["vcenter", "vm_id", "interval_s"]))
    seen = seen.assign(intervals_s=[f"{v:g}" for v in seen["interval_s"]])
    alone = ~seen.duplicated(["vcenter", "vm_id"], keep=False)   # one interval: its text as it is
    iv_frame = pd.concat([seen.loc[alone, ["vcenter", "vm_id", "intervals_s"]],
                          seen[~alone].groupby(["vcenter", "vm_id"], sort=False)["intervals_s"].agg(";".join)
                          .reset_index()], ignore_index=True)   # several: ascending, ';'-joined
    vms = vms.merge(iv_frame, on=["vcenter", "vm_id"], how="left")
    vms["mixed_intervals"] = vms["intervals_s"].str.contains(";")
    vms["stars"] = stars(vms["coverage_pct"].to_numpy())
    return vms[["vcenter", "vm_id", "disks", "coverage_pct", "gaps", "longest_gap_h", "days_covered", "intervals_s",
                "mixed_intervals", "write_size_known", "missing_counters", "stars"]]


def _missing_counters(vms: pd.DataFrame, disks: pd.DataFrame) -> list[str]:
    """Each VM's missing counters over its disks (sorted, ', '-joined), grouped over the few disks missing any;
    '' for the other VMs."""
    rows = disks[disks["missing_counters"] != ""]
    if rows.empty:
        return [""] * len(vms)
    text = rows.groupby(["vcenter", "vm_id"], sort=False)["missing_counters"].agg(
        lambda s: ", ".join(sorted({x for v in s for x in v.split(", ") if x})))
    texts: list[str] = text.reindex(pd.MultiIndex.from_frame(vms[["vcenter", "vm_id"]])).fillna("").tolist()
    return texts


def _rate(disks: pd.DataFrame, vms: pd.DataFrame, iv: float, t0_us: int, t1_us: int, expected: int
          ) -> tuple[dict[str, Any], int, list[str], list[str]]:
    """Estate figures, the rating (stars by coverage, less one per weakness found) and why."""
    coverage = 100.0 * float(disks["samples"].sum()) / (expected * len(disks))
    days = ((t1_us - t0_us) / statistics.US_PER_S + iv) / 86_400.0
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
    estate = {"interval_s": iv, "window_start": pd.Timestamp(t0_us, unit="us", tz="UTC").isoformat(),
              "window_end": pd.Timestamp(t1_us, unit="us", tz="UTC").isoformat(), "days_covered": days,
              "coverage_pct": coverage, "vms": len(vms), "disks": len(disks),
              "disks_missing_write_iops": no_write_iops, "disks_missing_read_counters": no_read,
              "disks_with_long_gaps": long_gaps, "vms_with_mixed_intervals": mixed}
    return estate, rating, reasons, warnings
