"""Plausibility rules for samples and inventory, in one place: every importer and the collector apply them before
anything is stored, so a row dated 9999 or a disk writing 1e300 KiB/s never reaches the store (nor a watermark).

The bounds are sanity limits, deliberately far above anything real hardware does, so no true measurement is ever
refused; they catch corrupt exports, unit mix-ups by factors of 1000s, and clock nonsense.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnplan.core.errors import ConfigError

EARLIEST_ENV = "CHURNPLAN_EARLIEST"      # ISO date: samples before it are refused (default 2000-01-01)
SKEW_ENV = "CHURNPLAN_CLOCK_SKEW_S"      # seconds a sample may lie ahead of this machine's clock (default 900)

DEFAULT_EARLIEST = datetime(2000, 1, 1)  # before vSphere existed in its current form (and long before churnplan)
DEFAULT_SKEW = timedelta(minutes=15)     # clocks of a vCenter and this machine may disagree by a few minutes

# 100 GiB/s in KiB/s: above the whole PCIe 5.0 x16 bus (~63 GB/s), the widest path a VM's storage can use; real
# disks peak near 14 GB/s (PCIe 5.0 x4 NVMe).
MAX_RATE_KBPS = 100 * 1024 * 1024
# 100 million I/O per second: some 10x the highest single-server IOPS records (~10 M with many NVMe drives).
MAX_IOPS = 100_000_000
# One day: vCenter's longest statistics interval (the 1-year rollup) is 86,400 s; Get-Stat offers no longer one.
MAX_INTERVAL_S = 86_400
# Inventory: 1 PiB disks (vSphere's VMDK limit is 62 TB), 64 TiB memory and 4,096 vCPUs (vSphere 8 allows 24 TB
# and 768): a bigger value is a corrupt cell or a unit mix-up, not a VM.
MAX_DISK_GB = 1024.0 * 1024
MAX_MEMORY_MB = 64 * 1024 * 1024
MAX_CPUS = 4096

RATE_COLUMNS = ("write_kbps", "read_kbps")
COUNT_COLUMNS = ("write_iops", "read_iops")


@dataclass(frozen=True)
class Window:
    """The sane time window for a sample's end: from `earliest` to this machine's now plus `skew`."""

    earliest: datetime = DEFAULT_EARLIEST   # naive UTC
    skew: timedelta = DEFAULT_SKEW

    @classmethod
    def from_env(cls) -> Window:
        """The window, with $CHURNPLAN_EARLIEST and $CHURNPLAN_CLOCK_SKEW_S overriding the defaults."""
        earliest, skew = DEFAULT_EARLIEST, DEFAULT_SKEW
        text = os.environ.get(EARLIEST_ENV, "").strip()
        if text:
            try:
                earliest = _naive_utc(datetime.fromisoformat(text))
            except ValueError:
                raise ConfigError(f"${EARLIEST_ENV}: {text[:40]!r} is not an ISO date, e.g. 2000-01-01") from None
        text = os.environ.get(SKEW_ENV, "").strip()
        if text:
            try:
                seconds = float(text)
            except ValueError:
                seconds = math.nan
            if not math.isfinite(seconds) or seconds < 0:
                raise ConfigError(f"${SKEW_ENV}: {text[:40]!r} is not a number of seconds >= 0")
            skew = timedelta(seconds=seconds)
        return cls(earliest, skew)

    def latest(self, now: datetime | None = None) -> datetime:
        """The latest plausible sample end (naive UTC): now plus the skew."""
        return _naive_utc(now or datetime.now(UTC)) + self.skew


@dataclass(frozen=True)
class Fault:
    """The first implausible cell of a frame: its row position, the field and what is wrong."""

    row: int
    field: str
    message: str


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _naive_ts(values: Any) -> pd.Series:
    ts = pd.to_datetime(pd.Series(values), utc=True, errors="coerce")
    return ts.dt.tz_localize(None)


def sample_faults(frame: pd.DataFrame, window: Window | None = None,
                  now: datetime | None = None) -> list[tuple[np.ndarray, str, str]]:
    """Per rule, a boolean mask of the rows of `frame` (store sample columns) that break it, its field and why.

    Missing rates and counts (NaN) are allowed: not every source measures all four.
    """
    window = window or Window.from_env()
    latest = window.latest(now)
    out: list[tuple[np.ndarray, str, str]] = []
    if "ts" in frame:
        ts = _naive_ts(frame["ts"])
        out += [
            (ts.isna().to_numpy(), "ts", "no valid time"),
            ((ts < window.earliest).to_numpy(), "ts",
             f"before {window.earliest:%Y-%m-%d} (set ${EARLIEST_ENV} to accept older data)"),
            ((ts > latest).to_numpy(), "ts",
             f"after now plus {window.skew.total_seconds():g} s ({latest:%Y-%m-%d %H:%M} UTC): a clock or export "
             f"fault (set ${SKEW_ENV} for a larger skew)"),
        ]
    if "interval_s" in frame:
        iv = pd.to_numeric(pd.Series(frame["interval_s"]), errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            out += [
                (~np.isfinite(iv) | (iv <= 0), "interval_s", "not a positive number of seconds"),
                (np.isfinite(iv) & (iv != np.floor(iv)), "interval_s",
                 "not a whole number of seconds (intervals are refused, not rounded)"),
                (np.isfinite(iv) & (iv > MAX_INTERVAL_S), "interval_s", f"longer than {MAX_INTERVAL_S} s (one day)"),
            ]
    for cols, bound, what in ((RATE_COLUMNS, MAX_RATE_KBPS, "KiB/s (100 GiB/s, beyond any storage path)"),
                              (COUNT_COLUMNS, MAX_IOPS, "I/O per second (beyond any storage)")):
        for col in cols:
            if col not in frame:
                continue
            v = pd.to_numeric(pd.Series(frame[col]), errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                out += [
                    (np.isinf(v), col, "not a finite number"),
                    (v < 0, col, "negative: rates and counts cannot be below zero"),
                    (v > bound, col, f"above {bound:,} {what}"),
                ]
    return out


def first_fault(frame: pd.DataFrame, window: Window | None = None, now: datetime | None = None) -> Fault | None:
    """The earliest row (by position) breaking any rule, with the first rule it breaks; None when all are plausible."""
    best: Fault | None = None
    for mask, field, message in sample_faults(frame, window, now):
        hits = np.flatnonzero(mask)
        if len(hits) and (best is None or hits[0] < best.row):
            best = Fault(int(hits[0]), field, message)
    return best


def implausible_rows(frame: pd.DataFrame, window: Window | None = None, now: datetime | None = None) -> np.ndarray:
    """Boolean mask of the rows breaking any rule (the collector drops them and says so)."""
    bad = np.zeros(len(frame), dtype=bool)
    for mask, _field, _message in sample_faults(frame, window, now):
        bad |= mask
    return bad


def inventory_fault(value: float, kind: str) -> str | None:
    """Why an inventory number of `kind` ('disk_gb', 'memory_mb', 'cpus') is implausible, or None."""
    bound = {"disk_gb": MAX_DISK_GB, "memory_mb": MAX_MEMORY_MB, "cpus": MAX_CPUS}[kind]
    if not math.isfinite(value):
        return "not a finite number"
    if value > bound:
        return f"above {bound:,.0f}, more than any VM can have (corrupt cell or wrong unit?)"
    return None
