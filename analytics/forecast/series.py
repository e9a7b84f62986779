"""A scope's written bytes on a regular sample grid, cut into local days, for learning and forecasting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import queue
from churnplan.analytics.rpo import PreparedChurn

SECONDS_PER_DAY = 86_400
GIB = 2.0 ** 30


@dataclass(frozen=True)
class Series:
    """Bytes written per sample (1-D) on a regular grid ending at `t_end[i] = t0 + i * interval_s`."""

    t0: float
    interval_s: float
    bytes: np.ndarray
    timezone: str = "UTC"
    present: np.ndarray | None = None   # True where a sample was taken (None: everywhere); gaps are not zeros

    @property
    def times(self) -> np.ndarray:
        """Sample end times (epoch seconds)."""
        return self.t0 + self.interval_s * np.arange(self.bytes.shape[0])

    @property
    def slots_per_day(self) -> int:
        return int(round(SECONDS_PER_DAY / self.interval_s))


def regular(prepared: PreparedChurn, cols: np.ndarray) -> Series:
    """The summed bytes of `cols` on a regular grid; sample times with no sample count as nothing written."""
    return regular_times(prepared.times, prepared.interval_s, prepared.scope_bytes(cols), prepared.timezone)


def regular_times(times: np.ndarray, interval_s: float, values: np.ndarray, timezone: str = "UTC") -> Series:
    """`values` (1-D or time x columns) at sample end `times`, scattered onto the regular grid they lie on."""
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return Series(0.0, interval_s, np.zeros((0,) + np.shape(values)[1:]), timezone, np.zeros(0, dtype=bool))
    idx = np.rint((times - times[0]) / interval_s).astype(np.int64)
    out = np.zeros((int(idx[-1]) + 1,) + np.shape(values)[1:])
    out[idx] = values
    present = np.zeros(out.shape[0], dtype=bool)
    present[idx] = True
    return Series(float(times[0]), interval_s, out, timezone, present)


@dataclass(frozen=True)
class Calendar:
    """Local position of sample start times: day number since the first local midnight, weekday, slot of day."""

    day: np.ndarray        # local day index (0 = the local day of the first sample)
    weekday: np.ndarray    # Monday = 0
    slot: np.ndarray       # sample slot within its local day
    first_date: pd.Timestamp


def calendar(times_end: np.ndarray, interval_s: float, timezone: str) -> Calendar:
    """Where each sample (by its start, so a sample ending at midnight belongs to the day before) falls locally."""
    local = queue.from_epoch(np.asarray(times_end, dtype=float) - interval_s).tz_convert(timezone).tz_localize(None)
    days = local.normalize()
    first = days[0] if len(days) else pd.Timestamp("1970-01-01")
    day = ((days - first) / pd.Timedelta(days=1)).to_numpy().round().astype(np.int64)
    secs = (local - days) / pd.Timedelta(seconds=1)
    spd = int(round(SECONDS_PER_DAY / interval_s))
    slot = np.clip(np.floor(np.asarray(secs) / interval_s).astype(np.int64), 0, spd - 1)
    return Calendar(day, np.asarray(local.day_of_week), slot, first)


@dataclass(frozen=True)
class Days:
    """The whole local days of a series: bytes per slot (days x slots), their weekday and day number."""

    values: np.ndarray
    weekday: np.ndarray
    day: np.ndarray
    first_date: pd.Timestamp


def whole_days(series: Series, min_share: float = 0.9) -> Days:
    """Days x slots of bytes for the local days with samples in at least `min_share` of their slots (partial
    edge days and days of a collection outage are left out: a gap is not a day without writes)."""
    spd = series.slots_per_day
    if series.bytes.size == 0:
        return Days(np.zeros((0, spd)), np.zeros(0, int), np.zeros(0, int), pd.Timestamp("1970-01-01"))
    cal = calendar(series.times, series.interval_s, series.timezone)
    n_days = int(cal.day.max()) + 1
    grid = np.zeros((n_days, spd))
    seen = np.zeros((n_days, spd), dtype=bool)
    grid[cal.day, cal.slot] += series.bytes
    seen[cal.day, cal.slot] = True if series.present is None else series.present
    keep = seen.mean(axis=1) >= min_share
    wd = (cal.first_date.day_of_week + np.arange(n_days)) % 7
    return Days(grid[keep], wd[keep], np.arange(n_days)[keep], cal.first_date)
