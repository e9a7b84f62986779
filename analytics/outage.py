"""Outage catch-up: after the replication link is down for N hours, how long until the lag is back within the
RPO, and how much backlog the process-server cache must hold meanwhile.

An outage is a capacity of 0 over its window, served by the pinned FIFO model of analytics.queue (exact for
piecewise-linear arrivals). Every start on a grid over the profile is tried; the worst start is the one that
takes longest to come back within the RPO, the typical one the median. The profile repeats after its end (a
replay of the measured weeks), so every start has a whole profile after it to recover in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import queue
from churnplan.analytics.facts import CACHE_FREE_WARNING_PCT
from churnplan.analytics.rpo import ESTATE, PreparedChurn

GIB = 2.0 ** 30


@dataclass(frozen=True)
class OutageCapacity(queue.Capacity):
    """A capacity (bandwidth or throttle) that drops to 0 over [outage_start, outage_end) (epoch seconds)."""

    outage_start: float = 0.0
    outage_end: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.outage_end < self.outage_start:
            raise ValueError("an outage must end after it starts")

    def breakpoints(self, t0: float, t1: float) -> np.ndarray:
        """The base capacity's rate changes plus the outage's start and end."""
        pts = np.array([self.outage_start, self.outage_end])
        return np.unique(np.concatenate([super().breakpoints(t0, t1), pts[(pts > t0) & (pts < t1)]]))

    def cumulative(self, t: np.ndarray, t0: float) -> np.ndarray:
        """C(t) - C(t0) less what the base capacity would have sent during the outage."""
        t = np.asarray(t, dtype=float)
        lo, hi = max(t0, self.outage_start), max(t0, self.outage_end)
        lost = super().cumulative(np.clip(t, lo, hi), t0) - super().cumulative(np.array([lo]), t0)
        sent: np.ndarray = super().cumulative(t, t0) - lost
        return sent


@dataclass(frozen=True)
class Recovery:
    """One outage: when it started, the lag when the link came back, and how long recovery took."""

    outage_start: float          # epoch seconds
    outage_h: float
    lag_at_return_min: float     # lag when the link comes back
    catchup_h: float             # link back -> lag within the RPO again (inf: not within a whole profile)
    drain_h: float               # link back -> backlog empty (inf: not within a whole profile)
    peak_backlog_gib: float      # bytes queued for the link at the worst moment (after compression)

    @property
    def recovered_after_h(self) -> float:
        """Outage start -> lag within the RPO again."""
        return self.outage_h + self.catchup_h


def _tolerance(a: np.ndarray) -> float:
    return 1e-9 * max(float(np.max(a, initial=0.0)), 1.0)


def recover(curve: queue.Curve, capacity: queue.Capacity, rpo_s: float, start: float, outage_h: float,
            until: float | None = None) -> Recovery:
    """Serve `curve` with the link down for `outage_h` hours from `start` and measure the recovery up to `until`
    (default: the curve's end)."""
    end = start + outage_h * 3600.0
    until = float(curve.t[-1]) if until is None else until
    cap = OutageCapacity(capacity.mbps, capacity.throttle, start, end)
    svc = queue.serve_fifo(curve, cap, until)
    eps = _tolerance(svc.a)
    # Lag <= RPO exactly when S(t) >= A(t - RPO); both are linear between these points, so the first crossing
    # after the link returns is found exactly by interpolation.
    u = queue.sorted_union(svc.t, svc.t + rpo_s, np.array([end, until]))
    u = u[(u >= end) & (u <= until)]
    g = np.interp(u, svc.t, svc.s) - np.interp(u - rpo_s, svc.t, svc.a, left=0.0)
    ok = np.nonzero(g >= -eps)[0]
    if ok.size == 0:
        catchup = np.inf
    elif ok[0] == 0:
        catchup = 0.0
    else:
        i = ok[0]
        frac = (g[i - 1] + eps) / (g[i - 1] - g[i]) if g[i - 1] != g[i] else 1.0
        catchup = (u[i - 1] + np.clip(frac, 0.0, 1.0) * (u[i] - u[i - 1]) - end) / 3600.0
    after = svc.t >= end
    empty = np.nonzero(after & (svc.backlog <= eps))[0]
    drain = (svc.t[empty[0]] - end) / 3600.0 if empty.size else np.inf
    stop = svc.t[empty[0]] if empty.size else until
    during = (svc.t >= start) & (svc.t <= stop)
    peak = float(svc.backlog[during].max(initial=0.0))
    lag_end = float(queue.lag_at(svc, np.array([end]))[0]) / 60.0
    return Recovery(start, outage_h, lag_end, float(catchup), float(drain), peak / GIB)


@dataclass(frozen=True)
class OutageCatchUp:
    """Outage catch-up of one scope: the worst and a typical start, and the cache the backlog needs."""

    scope: str
    outage_h: float
    rpo_min: float
    worst: Recovery
    typical: Recovery
    starts: pd.DataFrame         # outage_start (UTC), catchup_h, drain_h, recovered_after_h, peak_backlog_gib
    cache_gib: float             # largest backlog of any start, as the VMs wrote it (before compression)
    cache_disk_gib: float        # cache disk keeping that backlog under the free-space warning level

    def summary(self) -> dict[str, object]:
        """JSON-able figures for summary.json (inf hours as None: not recovered within a whole profile)."""
        def h(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)
        return {"scope": self.scope, "outage_h": self.outage_h, "rpo_min": self.rpo_min,
                "worst_start": pd.Timestamp(self.worst.outage_start, unit="s", tz="UTC").isoformat(),
                "worst_catchup_h": h(self.worst.catchup_h), "worst_drain_h": h(self.worst.drain_h),
                "typical_start": pd.Timestamp(self.typical.outage_start, unit="s", tz="UTC").isoformat(),
                "typical_catchup_h": h(self.typical.catchup_h), "typical_drain_h": h(self.typical.drain_h),
                "cache_gib": self.cache_gib, "cache_disk_gib": self.cache_disk_gib}


def replayed_curve(prepared: PreparedChurn, cols: np.ndarray, factor: float) -> tuple[queue.Curve, float]:
    """Arrivals of the VMs in `cols` (writes x `factor`) over the profile played twice, and the profile span (s)."""
    times = prepared.times
    span = float(times[-1] - times[0] + prepared.interval_s)
    vol = prepared.scope_bytes(cols) * factor
    return queue.arrival_curve(np.concatenate([times, times + span]), prepared.interval_s,
                               np.concatenate([vol, vol])), span


def catch_up(prepared: PreparedChurn, outage_h: float, capacity: queue.Capacity, rpo_min: float,
             growth_pct: float = 0.0, compression: float = 1.0, scope: str = ESTATE, step_h: float = 1.0
             ) -> OutageCatchUp:
    """Outage catch-up of `scope` (rpo.prepare's scopes) at `capacity`, trying an outage start every `step_h`
    hours over the profile. Raises ValueError when the outage is not shorter than the profile."""
    if outage_h <= 0:
        raise ValueError(f"outage must be > 0 h, got {outage_h:g}")
    if prepared.times.size == 0:
        raise ValueError("no samples to simulate an outage on")
    cols = prepared.columns(scope)
    curve, span = replayed_curve(prepared, cols, compression * (1.0 + growth_pct / 100.0))
    if outage_h * 3600.0 >= span:
        raise ValueError(f"a {outage_h:g} h outage is not shorter than the {span / 3600:g} h profile")
    t0 = float(curve.t[0])
    starts = np.arange(t0, t0 + span, step_h * 3600.0)
    # Before an outage the queue is as without it: start each run at the last moment the queue was empty.
    base = queue.serve_fifo(curve, capacity, float(curve.t[-1]))
    empties = base.t[base.backlog <= _tolerance(base.a)]
    runs = []
    for s in starts:  # one exact FIFO run per outage start, each vectorised over the profile
        e = empties[np.searchsorted(empties, s, side="right") - 1]
        keep = curve.t > e
        a_e = float(np.interp(e, curve.t, curve.a))
        sub = queue.Curve(np.concatenate([[e], curve.t[keep]]), np.concatenate([[0.0], curve.a[keep] - a_e]))
        runs.append(recover(sub, capacity, rpo_min * 60.0, float(s), outage_h, until=float(s) + span))
    table = pd.DataFrame({"outage_start": pd.to_datetime(starts, unit="s", utc=True),
                          "catchup_h": [r.catchup_h for r in runs], "drain_h": [r.drain_h for r in runs],
                          "recovered_after_h": [r.recovered_after_h for r in runs],
                          "peak_backlog_gib": [r.peak_backlog_gib for r in runs]})
    order = np.lexsort((table["peak_backlog_gib"].to_numpy(), table["catchup_h"].to_numpy()))
    worst, typical = runs[order[-1]], runs[order[len(order) // 2]]
    cache = float(table["peak_backlog_gib"].max()) / compression
    return OutageCatchUp(scope, outage_h, rpo_min, worst, typical, table, cache,
                         cache / (1.0 - CACHE_FREE_WARNING_PCT / 100.0))


def catch_up_by_scope(prepared: PreparedChurn, outage_h: float, capacity: queue.Capacity, rpo_min: float,
                      growth_pct: float = 0.0, compression: float = 1.0, step_h: float = 1.0
                      ) -> list[OutageCatchUp]:
    """The estate and every process server of `prepared` (each on its own link at `capacity`)."""
    return [catch_up(prepared, outage_h, capacity, rpo_min, growth_pct, compression, s, step_h)
            for s in [ESTATE, *prepared.scopes()]]
