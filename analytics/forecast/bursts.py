"""Bursts: runs of samples well above the level. Learned are their sizes (excess byte profiles), how often
they come (a recency-weighted rate, its Gamma spread covering both its uncertainty and busy spells), and
which recur weekly at the same hour of the week (a weekly batch), so forecasts put them back where and as often
as they were seen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnplan.analytics.forecast.series import Days

_MAD_SIGMA = 1.4826
BURST_SIGMAS = 5.0         # a burst sample exceeds the level by this many robust deviations ...
BURST_FACTOR = 2.0         # ... and by at least this multiple of the level
WEEK_HOURS = 168


@dataclass(frozen=True)
class Bursts:
    """Bursts of the learning days and the calm days they leave (bursts cut down to the level)."""

    start_day: np.ndarray      # learning-day row of each burst's first sample
    start_slot: np.ndarray     # slot of day of its first sample
    length: np.ndarray         # samples
    offset: np.ndarray         # where its excess profile starts in `profile`
    profile: np.ndarray        # excess bytes per sample above the level, all bursts concatenated
    weekly: np.ndarray         # cluster number of a weekly-recurring burst, -1 for a random one
    calm: np.ndarray           # days x slots: bytes with the bursts cut down to the level

    @property
    def volume(self) -> np.ndarray:
        """Excess bytes of each burst."""
        c = np.concatenate([[0.0], np.cumsum(self.profile)])
        return np.asarray(c[self.offset + self.length] - c[self.offset], dtype=float)


def find_bursts(days: Days, level: np.ndarray, slots_per_hour: int) -> Bursts:
    """Bursts of `days` above `level` (days x slots, bytes per sample): samples above level + max(5 robust
    deviations, the level), grouped into runs; runs at the same hour of the week in most learned weeks recur."""
    x = days.values
    resid = x - level
    dev = _MAD_SIGMA * float(np.median(np.abs(resid - np.median(resid)))) if resid.size else 0.0
    hot = (resid > np.maximum(BURST_SIGMAS * dev, (BURST_FACTOR - 1.0) * level)) & (resid > 0)
    flat = hot.reshape(-1)
    edge = np.diff(np.concatenate([[False], flat, [False]]).astype(np.int8))
    starts, ends = np.nonzero(edge == 1)[0], np.nonzero(edge == -1)[0]
    spd = x.shape[1]
    excess = resid.reshape(-1)
    lengths = ends - starts
    idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    profile = excess[idx] if lengths.sum() else np.zeros(0)
    offset = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if lengths.size else np.zeros(0, int)
    start_day, start_slot = np.divmod(starts, spd)
    calm = np.where(hot, level, x)
    weekly = _weekly_clusters(days, start_day, start_slot, slots_per_hour)
    return Bursts(start_day, start_slot, lengths, offset, profile, weekly, calm)


def dispersion_shape(start_day: np.ndarray, n_days: int) -> float:
    """Gamma shape k of the burst rate read from the bursts counted on each of `n_days` learned days: the
    method of moments of a negative binomial (variance = mean + mean^2 / k); infinite where the counts spread
    no more than a Poisson count would (a steady rate)."""
    counts = np.bincount(start_day, minlength=n_days)
    if counts.size < 2:
        return float("inf")
    mean, var = float(counts.mean()), float(counts.var(ddof=1))
    return mean * mean / (var - mean) if var > mean > 0 else float("inf")


def _weekly_clusters(days: Days, start_day: np.ndarray, start_slot: np.ndarray, slots_per_hour: int) -> np.ndarray:
    """Cluster number of bursts starting within an hour of the same hour of the week in at least two learned
    weeks and in at least half of them, while at that hour of the day most days see none (else the burst is
    daily, not weekly, and the random bursts carry it); -1 for the rest. Loops over bursts, not samples."""
    out = np.full(start_day.size, -1)
    n_weeks = (days.day.max() - days.day.min() + 1) // 7 if days.day.size else 0
    if n_weeks < 2 or start_day.size == 0:
        return out
    how = days.weekday[start_day] * 24 + start_slot // max(slots_per_hour, 1)
    week = (days.day[start_day] - days.day.min()) // 7
    near = np.abs(((how[:, None] - how[None, :]) + WEEK_HOURS // 2) % WEEK_HOURS - WEEK_HOURS // 2) <= 1
    same_wd = days.weekday[start_day][:, None] == days.weekday[start_day][None, :]
    weeks_seen = np.array([np.unique(week[near[i] & same_wd[i]]).size for i in range(how.size)])
    hod = how % 24
    near_hour = np.abs(((hod[:, None] - hod[None, :]) + 12) % 24 - 12) <= 1
    days_seen = np.array([np.unique(start_day[near_hour[i]]).size for i in range(how.size)])
    recurring = (weeks_seen >= 2) & (weeks_seen >= n_weeks / 2) & (days_seen < 0.5 * days.day.size)
    keys: list[int] = []
    for i in np.argsort(-start_day):  # the latest occurrence names its cluster
        if not recurring[i]:
            continue
        for k, key in enumerate(keys):
            if abs((how[i] - key + WEEK_HOURS // 2) % WEEK_HOURS - WEEK_HOURS // 2) <= 1:
                out[i] = k
                break
        else:
            keys.append(int(how[i]))
            out[i] = len(keys) - 1
    return out
