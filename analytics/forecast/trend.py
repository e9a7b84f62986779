"""Growth of daily churn fitted by least squares on day number and weekday, with its confidence interval.

The fit is linear in GiB/day (a weekday effect each), so growth per month is the slope times 30.44 days
relative to the fitted level on the last day learned; the interval comes from the slope's standard error.
A level shift (a workload moved in or out, a job added) is not growth: where one shift explains the days
clearly better than a line (BIC), growth is fitted from the days since the shift only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats
from sklearn.linear_model import LinearRegression

DAYS_PER_MONTH = 365.25 / 12
MIN_DAYS = 14                  # less history than this and --growth auto falls back to the given growth
AUTO_HORIZON_DAYS = 90         # --growth auto plans for the growth fitted over this many days ahead
MIN_SEGMENT_DAYS = 3           # a level shift leaves at least this many days on each side
SHIFT_BIC_MARGIN = 6.0         # a shift must beat the line by this much BIC ("strong" on Kass & Raftery's scale)


@dataclass(frozen=True)
class GrowthFit:
    """Fitted growth of daily churn: % per month with its interval, the days it rests on, and a plain note."""

    pct_per_month: float
    lo_pct: float
    hi_pct: float
    days: int
    level_gib_day: float       # fitted churn on the last day learned (weekday average)
    slope_gib_day2: float      # GiB/day gained per day
    slope_se: float
    enough: bool               # rests on at least MIN_DAYS days
    confidence: float = 0.95
    shift_days_ago: int | None = None  # a level shift this many days before the last day: fitted since then

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rate_per_day(self) -> float:
        """Relative growth per day (slope / level); 0 without a usable level."""
        return self.slope_gib_day2 / self.level_gib_day if self.level_gib_day > 0 else 0.0

    def note(self) -> str:
        """One line for summaries."""
        if self.days < 3:
            return f"too little history to fit growth ({self.days} days)"
        since = "" if self.shift_days_ago is None else \
            f" since a level shift {self.shift_days_ago} days before the last day (a shift is not growth)"
        text = (f"fitted growth {self.pct_per_month:+.1f} %/month ({self.confidence:.0%} interval "
                f"{self.lo_pct:+.1f} .. {self.hi_pct:+.1f} %) from {self.days} days{since}")
        return text if self.enough else f"{text}: under {MIN_DAYS} days, too little to rely on"


def _design(day: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Day number plus weekday indicators (Monday is the baseline), weekdays dropped unless all seven occur."""
    cols = [day.astype(float)[:, None]]
    if np.unique(weekday).size == 7:
        cols.append((weekday[:, None] == np.arange(1, 7)[None, :]).astype(float))
    return np.hstack(cols)


def _sse(x: np.ndarray, y: np.ndarray) -> float:
    """Residual sum of squares of the least-squares fit of `y` on `x` (with an intercept)."""
    xc = np.hstack([np.ones((y.size, 1)), x])
    resid = y - xc @ np.linalg.lstsq(xc, y, rcond=None)[0]
    return float(resid @ resid)


def level_shift(day: np.ndarray, y: np.ndarray, weekday: np.ndarray) -> int | None:
    """Index of the first day after a level shift, when one shift (weekday effects kept) explains the days
    clearly better than a line: BIC lower by SHIFT_BIC_MARGIN, the shift's day counting as one parameter
    more. None when the line does as well (growth) or the days are too few to tell."""
    n = y.size
    if n < 2 * MIN_SEGMENT_DAYS + 2:
        return None
    x = _design(day, weekday)
    if x.shape[1] + 3 >= n:
        x = x[:, :1]
    wd = x[:, 1:]
    floor = 1e-12 * max(float(y @ y), 1e-300)
    sse_line = max(_sse(x, y), floor)
    k_all = np.arange(MIN_SEGMENT_DAYS, n - MIN_SEGMENT_DAYS + 1)
    sse_shift = np.array([_sse(np.hstack([wd, (np.arange(n) >= k)[:, None]]), y)  # candidate days, not samples
                          for k in k_all])
    best = int(np.argmin(sse_shift))
    bic_line = n * np.log(sse_line / n)
    bic_shift = n * np.log(max(float(sse_shift[best]), floor) / n) + np.log(n)
    return int(k_all[best]) if bic_shift + SHIFT_BIC_MARGIN < bic_line else None


def fit_growth(day: np.ndarray, gib_per_day: np.ndarray, weekday: np.ndarray | None = None,
               confidence: float = 0.95) -> GrowthFit:
    """Fit churn per day (GiB) against day number (and weekday); growth per month with a `confidence` interval.
    After a level shift (see level_shift) only the days since the shift are fitted."""
    day = np.asarray(day, dtype=float)
    y = np.asarray(gib_per_day, dtype=float)
    wd_all = np.zeros(y.size, dtype=int) if weekday is None else np.asarray(weekday, dtype=int)
    k = level_shift(day, y, wd_all)
    if k is None:
        return _fit_line(day, y, wd_all, confidence)
    fit = _fit_line(day[k:], y[k:], wd_all[k:], confidence)
    return replace(fit, shift_days_ago=int(day[-1] - day[k]) + 1)


def _fit_line(day: np.ndarray, y: np.ndarray, wd: np.ndarray, confidence: float) -> GrowthFit:
    """The linear fit of fit_growth over the given days."""
    n = y.size
    if n < 3 or np.ptp(day) == 0:
        level = float(y.mean()) if n else 0.0
        return GrowthFit(0.0, 0.0, 0.0, n, level, 0.0, float("inf"), False, confidence)
    x = _design(day, wd)
    if x.shape[1] + 1 >= n:  # too few days for the weekday effects: the day number alone
        x = x[:, :1]
    model = LinearRegression().fit(x, y)
    resid = y - model.predict(x)
    dof = n - x.shape[1] - 1
    xc = np.hstack([np.ones((n, 1)), x])
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv(xc.T @ xc)
    slope, se = float(model.coef_[0]), float(np.sqrt(max(cov[1, 1], 0.0)))
    last = x[-1:].copy()
    if x.shape[1] > 1:  # the weekday-average level on the last day
        last[0, 1:] = 1.0 / 7.0
    level = float(model.predict(last)[0])
    tq = float(stats.t.ppf(0.5 + confidence / 2, dof))
    if level <= 0:
        return GrowthFit(0.0, 0.0, 0.0, n, level, slope, se, n >= MIN_DAYS, confidence)
    pct = 100.0 * DAYS_PER_MONTH / level
    return GrowthFit(slope * pct, (slope - tq * se) * pct, (slope + tq * se) * pct, n, level, slope, se,
                     n >= MIN_DAYS, confidence)


@dataclass(frozen=True)
class AutoGrowth:
    """The growth a plan uses under --growth auto, and why."""

    growth_pct: float
    fit: GrowthFit
    fitted: bool               # False: fell back to the given growth
    horizon_days: int = AUTO_HORIZON_DAYS

    def note(self) -> str:
        if not self.fitted:
            return f"{self.fit.note()}; planning with the given growth {self.growth_pct:g} %"
        return (f"{self.fit.note()}; planning with {self.growth_pct:.1f} % growth "
                f"({self.horizon_days} days ahead, never below 0)")

    def as_dict(self) -> dict[str, Any]:
        return {"growth_pct": self.growth_pct, "fitted": self.fitted, "horizon_days": self.horizon_days,
                "note": self.note(), **{f"fit_{k}": v for k, v in self.fit.as_dict().items()}}


def auto_growth(day: np.ndarray, gib_per_day: np.ndarray, weekday: np.ndarray | None, fallback_pct: float,
                horizon_days: int = AUTO_HORIZON_DAYS) -> AutoGrowth:
    """Growth for a plan from the fitted trend over `horizon_days` ahead (never below 0: plans do not shrink);
    the given `fallback_pct` when under MIN_DAYS days of history."""
    fit = fit_growth(day, gib_per_day, weekday)
    if not fit.enough:
        return AutoGrowth(fallback_pct, fit, False, horizon_days)
    months = horizon_days / DAYS_PER_MONTH
    return AutoGrowth(max(0.0, fit.pct_per_month * months), fit, True, horizon_days)
