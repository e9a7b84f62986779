"""The level of a scope's churn with its weekly and daily rhythm: a median (quantile) regression on the hour of
day and the weekday, so bursts do not lift it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import QuantileRegressor

from churnplan.analytics.forecast.series import Days

HOURS = 24


@dataclass(frozen=True)
class Rhythm:
    """Typical bytes per sample by weekday (rows, Monday = 0) and hour of day (columns)."""

    table: np.ndarray          # shape (7, 24)

    def at(self, weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
        """Typical bytes per sample at each (weekday, hour)."""
        return np.asarray(self.table[weekday, hour], dtype=float)


def fit_rhythm(days: Days) -> Rhythm:
    """Median regression of log(1 + MiB per hour) on hour-of-day and weekday indicators (the weekday only when
    every weekday occurs twice); the median keeps bursts out of the level."""
    n_days, spd = days.values.shape
    if n_days == 0:
        return Rhythm(np.zeros((7, HOURS)))
    per_hour = max(spd // HOURS, 1)
    hourly = days.values[:, : per_hour * HOURS].reshape(n_days, HOURS, per_hour).sum(axis=2)
    y = np.log1p(hourly.reshape(-1) / 2**20)
    hour = np.tile(np.arange(HOURS), n_days)
    weekday = np.repeat(days.weekday, HOURS)
    use_weekday = np.bincount(days.weekday, minlength=7).min() >= 2
    x = [(hour[:, None] == np.arange(1, HOURS)[None, :])]
    if use_weekday:
        x.append(weekday[:, None] == np.arange(1, 7)[None, :])
    design = np.hstack(x).astype(float)
    model = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(design, y)
    grid_h, grid_w = np.meshgrid(np.arange(HOURS), np.arange(7))
    g = [(grid_h.reshape(-1)[:, None] == np.arange(1, HOURS)[None, :])]
    if use_weekday:
        g.append(grid_w.reshape(-1)[:, None] == np.arange(1, 7)[None, :])
    mib_hour = np.expm1(model.predict(np.hstack(g).astype(float))).clip(min=0.0)
    return Rhythm((mib_hour * 2**20 / per_hour).reshape(7, HOURS))
