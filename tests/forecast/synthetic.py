"""Synthetic churn series with known growth, rhythm and bursts, for the forecast tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnplan.analytics.forecast.series import Series, regular_times

START = pd.Timestamp("2026-10-05 00:00", tz="UTC")  # a Monday
MIB = 2.0 ** 20


def daily_shape(interval_s: float) -> np.ndarray:
    """Share of a day's bytes per slot: busy office hours, quiet nights (sums to 1)."""
    hours = np.arange(int(86_400 / interval_s)) * interval_s / 3600
    shape = 1.0 + 0.8 * np.sin((hours - 9) / 24 * 2 * np.pi)
    return shape / shape.sum()


def series(gib_per_day: np.ndarray, interval_s: float = 900, noise: float = 0.05, seed: int = 0,
           bursts: list[tuple[int, float, float, float]] = ()) -> Series:
    """Series whose day d writes gib_per_day[d] with the daily shape and lognormal noise; `bursts` adds
    (day, hour, hours, GiB) on top."""
    rng = np.random.default_rng(seed)
    shape = daily_shape(interval_s)
    x = (np.asarray(gib_per_day, dtype=float)[:, None] * shape[None, :] * 2**30)
    x = x * rng.lognormal(0.0, noise, x.shape)
    for day, hour, hours, gib in bursts:
        s, n = int(hour * 3600 / interval_s), max(int(hours * 3600 / interval_s), 1)
        x[day, s:s + n] += gib * 2**30 / n
    times = START.value / 1e9 + interval_s * np.arange(1, x.size + 1)
    return regular_times(times, interval_s, x.reshape(-1))


def weekly_days(n_days: int, base: float, slope: float = 0.0, weekend: float = -0.3) -> np.ndarray:
    """GiB/day: base + slope x day, weekends `weekend` (a share) lower; day 0 is a Monday."""
    d = np.arange(n_days)
    return (base + slope * d) * np.where(d % 7 >= 5, 1.0 + weekend, 1.0)
