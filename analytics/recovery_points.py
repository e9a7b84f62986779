"""Recovery-point retention as ASR keeps it: how many points a policy retains and the snapshot storage they hold.

Rules (azure-prices.md section 2, Microsoft azure-docs): crash-consistent points every 5 min; app-consistent
every 1-12 h (VMware modernized); retention up to 15 days, default 1 day. "The first recovery point ... has the
complete copy" (the replica seed disk, billed as a managed disk); "successive recovery points have delta
changes", billed as Standard HDD LRS snapshots on used size. Pruning as the A2A FAQ gives it (the only
published schedule; applied here to VMware as well).

Storage model: each retained point holds the blocks written since the previous retained point, so the points
together hold the data written during the retention window. Without block-level data every write counts as a
new block: an upper bound, exact when nothing is rewritten within the window. The billed quantity (GiB-month)
is the time average of that window volume; its maximum is what the 10 TB snapshot limit is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnplan.analytics.facts import COMPATIBILITY, CRASH_CONSISTENT_INTERVAL_MIN
from churnplan.core.units import GIB_PER_TIB

MAX_RETENTION_H = 15 * 24.0                 # modernized VMware: retention up to 15 days
DEFAULT_RETENTION_H = 24.0                  # default 1 day
APP_CONSISTENT_RANGE_H = (1.0, 12.0)        # app-consistent frequency, VMware modernized
RECENT_H = 2.0                              # every crash-consistent point is kept for the last 2 h

# Pruning beyond the last RECENT_H hours, by retention (A2A FAQ, azure-to-azure-common-questions.md @85dde99):
# (retention up to days, ((from age h, one point every h), ...)).
PRUNING: tuple[tuple[float, tuple[tuple[float, float], ...]], ...] = (
    (1, ((RECENT_H, 1.0),)),
    (7, ((RECENT_H, 2.0),)),
    (15, ((RECENT_H, 2.0), (7 * 24.0, 4.0))),
)


@dataclass(frozen=True)
class RetentionPolicy:
    """A replication policy's recovery-point retention and app-consistent snapshot frequency (None = off)."""

    retention_h: float = DEFAULT_RETENTION_H
    app_consistent_h: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.retention_h <= MAX_RETENTION_H:
            raise ValueError(f"retention {self.retention_h:g} h: ASR keeps recovery points 0 to "
                             f"{MAX_RETENTION_H:g} h (15 days)")
        if self.app_consistent_h is not None:
            lo, hi = APP_CONSISTENT_RANGE_H
            if not lo <= self.app_consistent_h <= hi:
                raise ValueError(f"app-consistent frequency {self.app_consistent_h:g} h: ASR takes them every "
                                 f"{lo:g} to {hi:g} h")
            if self.app_consistent_h > self.retention_h:
                raise ValueError(f"app-consistent frequency {self.app_consistent_h:g} h is longer than the "
                                 f"retention {self.retention_h:g} h, so no app-consistent point would be kept")


def retained_ages_h(policy: RetentionPolicy) -> np.ndarray:
    """Ages (hours, 0 = newest) of the recovery points the policy holds at any moment, sorted."""
    step = CRASH_CONSISTENT_INTERVAL_MIN / 60.0
    keep = policy.retention_h
    ages = [np.arange(0.0, min(RECENT_H, keep) + 1e-9, step)]
    schedule = next((rules for days, rules in PRUNING if keep <= days * 24.0), PRUNING[-1][1])
    bounds = [r[0] for r in schedule[1:]] + [keep]
    for (start, every), end in zip(schedule, bounds, strict=True):
        if end > start:
            ages.append(np.arange(start + every, min(end, keep) + 1e-9, every))
    if policy.app_consistent_h is not None:
        ages.append(np.arange(policy.app_consistent_h, keep + 1e-9, policy.app_consistent_h))
    return np.unique(np.round(np.concatenate(ages), 9))


_WINDOW_COLUMNS = 256   # columns (VMs) per pass of window_gib: its temporaries stay small whatever the estate


def window_gib(churn_gib: np.ndarray, interval_s: float, policy: RetentionPolicy) -> tuple[np.ndarray, np.ndarray]:
    """(mean, max) GiB written within the retention window, one entry per column of `churn_gib` (GiB per
    sample, rows in time order; a 1-D series is one column). A series shorter than the window is scaled up
    from its average rate. The window is rounded to whole samples.

    Columns are independent: they are done a few hundred at a time (never one alone when there are more, so
    each column's sums add up in the same order however many columns there are).
    """
    x = np.asarray(churn_gib, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    n, m = x.shape
    mean, peak = np.zeros(m), np.zeros(m)
    window = policy.retention_h * 3600.0 / interval_s
    if n == 0 or m == 0 or window <= 0:
        return mean, peak
    starts = list(range(0, m, _WINDOW_COLUMNS))
    if len(starts) > 1 and m - starts[-1] == 1:   # a last column alone would be summed in another order
        starts.pop()
    for lo, hi in zip(starts, starts[1:] + [m], strict=True):
        mean[lo:hi], peak[lo:hi] = _window_gib(np.nan_to_num(x[:, lo:hi]), window)
    return mean, peak


def _window_gib(x: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """window_gib of the columns of `x` (no NaN, at least one row)."""
    n = x.shape[0]
    k = int(round(window))
    if k > n:
        mean = peak = x.sum(axis=0) * (window / n)
    else:   # window sums from the running sum c (c before the first row is 0: its first sum is c[k - 1] itself)
        c = np.cumsum(x, axis=0)
        sums = np.empty((n - k + 1, x.shape[1]))
        sums[0] = c[k - 1]
        np.subtract(c[k:], c[:-k], out=sums[1:])
        sums *= window / k
        mean, peak = sums.mean(axis=0), sums.max(axis=0)
    return mean, peak


def over_snapshot_limit(peak_gib: np.ndarray) -> np.ndarray:
    """True where a VM's retained snapshot data would pass the planner's 10 TB snapshot-storage limit."""
    return np.asarray(peak_gib, dtype=float) > COMPATIBILITY.snapshot_storage_tib * GIB_PER_TIB
