"""The replication queue as piecewise-linear curves: arrivals A(t), capacity C(t), service S(t), lag and compliance.

Pinned model: each sample's bytes arrive at a constant rate over [ts - interval, ts); one FIFO queue is
drained at the capacity in force; S(t) = min over s <= t of (A(s) + C(t) - C(s)) with an empty queue at
the first sample start; lag(t) = t - inf{s : A(s) > S(t)} (0 when empty). Lag <= RPO exactly when
S(t) >= A(t - RPO), and both sides are piecewise linear, so compliance is exact, not sampled.
Times are epoch seconds (float), volumes bytes, rates bytes/s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import time, timedelta

import numpy as np
import pandas as pd

from churnplan.analytics.config import ThrottleSchedule
from churnplan.core.units import BYTES_PER_MBPS


@dataclass(frozen=True)
class Curve:
    """Cumulative arrivals `a` (1-D, or 2-D with one column per VM) at breakpoints `t`, linear between."""

    t: np.ndarray
    a: np.ndarray


def arrival_curve(times: np.ndarray, interval_s: float, bytes_per_sample: np.ndarray) -> Curve:
    """A(t) for samples ending at `times` (sorted, unique), each spreading its bytes over the interval before."""
    times = np.asarray(times, dtype=float)
    vol = np.asarray(bytes_per_sample, dtype=float)
    if times.size == 0:
        shape = (1,) + vol.shape[1:]
        return Curve(np.zeros(1), np.zeros(shape))
    starts = times - interval_s
    t = np.unique(np.concatenate([starts, times]))
    rate_step = np.zeros((t.size,) + vol.shape[1:])
    rate = vol / interval_s
    rate_step[np.searchsorted(t, starts)] += rate      # starts are unique, so fancy += is safe
    rate_step[np.searchsorted(t, times)] -= rate
    piece_rate = np.cumsum(rate_step, axis=0)[:-1]
    dt = np.diff(t).reshape((-1,) + (1,) * (vol.ndim - 1))
    a = np.concatenate([np.zeros((1,) + vol.shape[1:]), np.cumsum(piece_rate * dt, axis=0)])
    return Curve(t, a)


def extend(curve: Curve, until: float) -> Curve:
    """The same arrivals with a flat tail to `until` (no writes after the last sample)."""
    if until <= curve.t[-1]:
        return curve
    return Curve(np.append(curve.t, until), np.concatenate([curve.a, curve.a[-1:]], axis=0))


@dataclass(frozen=True)
class Capacity:
    """Drain rate: a constant, or a work-hours / off-hours throttle schedule in a time zone."""

    mbps: float | None = None
    throttle: ThrottleSchedule | None = None

    def __post_init__(self) -> None:
        if self.mbps is None and self.throttle is None:
            raise ValueError("give a bandwidth (Mbps) or a throttle schedule")
        if self.mbps is not None and self.mbps < 0:
            raise ValueError(f"bandwidth must be >= 0 Mbps, got {self.mbps}")

    def _windows(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Work-hour windows [start, end) in epoch seconds overlapping [t0, t1]."""
        th = self.throttle
        assert th is not None
        first = pd.Timestamp(t0, unit="s", tz="UTC").tz_convert(th.timezone).date() - timedelta(days=1)
        last = pd.Timestamp(t1, unit="s", tz="UTC").tz_convert(th.timezone).date() + timedelta(days=1)
        days = pd.date_range(first, last, freq="D")
        days = days[np.isin(days.day_of_week, th.workdays)]
        if len(days) == 0 or th.work_end <= th.work_start:
            return np.zeros(0), np.zeros(0)

        def at(clock: time) -> np.ndarray:
            local = days + pd.Timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second)
            utc = local.tz_localize(th.timezone, ambiguous="NaT", nonexistent="shift_forward")
            return np.where(utc.isna(), np.nan, to_epoch(pd.DatetimeIndex(utc.fillna(pd.Timestamp(0, tz="UTC")))))

        ws, we = at(th.work_start), at(th.work_end)
        ok = ~(np.isnan(ws) | np.isnan(we)) & (we > ws)
        return ws[ok], we[ok]

    def breakpoints(self, t0: float, t1: float) -> np.ndarray:
        """Times in [t0, t1] where the rate changes."""
        if self.throttle is None:
            return np.zeros(0)
        ws, we = self._windows(t0, t1)
        pts = np.concatenate([ws, we])
        return pts[(pts > t0) & (pts < t1)]

    def cumulative(self, t: np.ndarray, t0: float) -> np.ndarray:
        """C(t) - C(t0) in bytes."""
        t = np.asarray(t, dtype=float)
        th = self.throttle
        if th is None:
            mbps = float(self.mbps) if self.mbps is not None else 0.0   # __post_init__ requires one of the two
            return (t - t0) * mbps * BYTES_PER_MBPS
        off, work = th.offhours_mbps * BYTES_PER_MBPS, th.work_mbps * BYTES_PER_MBPS
        ws, we = self._windows(t0, float(t.max(initial=t0)))
        if ws.size == 0:
            return (t - t0) * off

        def work_time(x: np.ndarray) -> np.ndarray:
            dur = we - ws
            before = np.concatenate([[0.0], np.cumsum(dur)])
            k = np.searchsorted(ws, x, side="right")  # windows started at or before x
            partial = np.where(k > 0, np.clip(x - ws[np.maximum(k - 1, 0)], 0, dur[np.maximum(k - 1, 0)]), 0)
            return before[np.maximum(k - 1, 0)] * (k > 0) + partial

        wt = work_time(t) - work_time(np.array([t0]))
        served: np.ndarray = (t - t0) * off + wt * (work - off)
        return served


@dataclass(frozen=True)
class Service:
    """Arrivals and FIFO service on a common refined grid: A and S are linear between breakpoints."""

    t: np.ndarray
    a: np.ndarray
    s: np.ndarray
    c: np.ndarray  # cumulative capacity

    @property
    def backlog(self) -> np.ndarray:
        """Bytes written but not yet sent, at each breakpoint."""
        backlog: np.ndarray = self.a - self.s
        return backlog


def sorted_union(*parts: np.ndarray) -> np.ndarray:
    """np.unique of the concatenation, in linear time when the parts are sorted (timsort merges runs)."""
    u = np.sort(np.concatenate(parts), kind="stable")
    return u[np.concatenate([[True], u[1:] != u[:-1]])] if u.size else u


@dataclass(frozen=True)
class FifoStart:
    """Where serving `source` until `until` at any constant rate starts: the extended curve, its breakpoints
    and A there (worked out once when many rates are tried on one curve, as a bandwidth search does)."""

    source: Curve
    until: float
    arr: Curve
    t: np.ndarray
    a: np.ndarray


def fifo_start(arrivals: Curve, until: float) -> FifoStart:
    """serve_fifo's first steps for a constant rate (no capacity breakpoints), computed as it computes them."""
    arr = extend(arrivals, until)
    t = sorted_union(arr.t, np.zeros(0))
    return FifoStart(arrivals, until, arr, t, np.interp(t, arr.t, arr.a))


def serve_fifo(arrivals: Curve, capacity: Capacity, until: float, start: FifoStart | None = None) -> Service:
    """Serve 1-D arrivals FIFO until `until`; the grid gains the capacity breakpoints and every instant the
    queue empties. `start`: fifo_start(arrivals, until), reused for a constant rate."""
    if start is not None and start.source is arrivals and start.until == until and capacity.throttle is None:
        arr, t, a = start.arr, start.t, start.a
        t0 = float(arr.t[0])
    else:
        arr = extend(arrivals, until)
        t0 = float(arr.t[0])
        t = sorted_union(arr.t, capacity.breakpoints(t0, until))
        a = np.interp(t, arr.t, arr.a)
    c = capacity.cumulative(t, t0)
    d = a - c
    m = np.minimum.accumulate(d)
    q = d - m
    # A piece whose queue reaches empty inside it: add that instant so S stays linear between breakpoints.
    k = np.nonzero((q[:-1] > 0) & (d[1:] < m[:-1]))[0]
    if k.size:
        frac = q[k] / (d[k] - d[k + 1])
        extra = t[k] + frac * (t[k + 1] - t[k])
        t = sorted_union(t, extra)
        a = np.interp(t, arr.t, arr.a)
        c = capacity.cumulative(t, t0)
        d = a - c
        m = np.minimum.accumulate(d)
    s = np.minimum(c + m, a)
    return Service(t, a, s, c)


def _tolerance(a: np.ndarray) -> float:
    """Bytes below which two cumulative volumes count as equal: relative to the largest, for rounding, and never
    under one byte (a fraction of a byte is no data to send; below it float noise decided compliance)."""
    return max(1e-9 * float(np.max(a, initial=0.0)), 1.0)


def lag_at(svc: Service, x: np.ndarray) -> np.ndarray:
    """Lag in seconds at times `x`: age of the oldest byte written but not yet sent."""
    x = np.asarray(x, dtype=float)
    sx = np.interp(x, svc.t, svc.s)
    ax = np.interp(x, svc.t, svc.a)
    eps = _tolerance(svc.a)
    j = np.searchsorted(svc.a, sx + eps, side="right")  # first breakpoint with A above S(x)
    inside = (j > 0) & (j < svc.a.size) & (ax - sx > eps)
    jj = np.clip(j, 1, svc.a.size - 1)
    a0, a1 = svc.a[jj - 1], svc.a[jj]
    t0, t1 = svc.t[jj - 1], svc.t[jj]
    tau = t0 + np.divide(sx - a0, a1 - a0, out=np.zeros_like(sx), where=a1 > a0) * (t1 - t0)
    return np.where(inside, np.maximum(x - tau, 0.0), 0.0)


def departure_lags(svc: Service) -> tuple[np.ndarray, np.ndarray]:
    """(time, lag) just before each arrival kink's bytes leave: where lag peaks (sup of the piecewise-linear lag)."""
    a, s, t = svc.a, svc.s, svc.t
    eps = _tolerance(a)
    k = np.nonzero(np.diff(a) > eps)[0] + 1
    level = a[k]
    i = np.searchsorted(s, level - eps, side="left")
    done = i < s.size
    ii = np.clip(i, 1, s.size - 1)
    s0, s1 = s[ii - 1], s[ii]
    dep = t[ii - 1] + np.divide(level - s0, s1 - s0, out=np.zeros_like(level), where=s1 > s0) * (t[ii] - t[ii - 1])
    dep = np.where(i == 0, t[0], dep)
    dep = np.where(done, dep, t[-1])
    return dep, np.maximum(dep - t[k], 0.0)


@dataclass(frozen=True)
class Compliance:
    """Share of a window with lag <= RPO, the largest lag, and per-piece figures for daily roll-ups."""

    pct: float
    max_lag_s: float
    piece_start: np.ndarray    # evaluation pieces (for per-day roll-ups)
    piece_bad_s: np.ndarray    # seconds of each piece with lag > RPO
    peak_t: np.ndarray         # times at which lag candidates were evaluated
    peak_lag_s: np.ndarray


def compliance(svc: Service, rpo_s: float, window: tuple[float, float], edges: np.ndarray | None = None,
               lags: bool = True) -> Compliance:
    """Share of `window` with lag <= rpo_s, exact for piecewise-linear A and S (pieces split at t and t + rpo).

    `edges` (e.g. midnights) are added as extra breakpoints so per-piece figures roll up per day exactly.
    """
    lo, hi = window
    parts = [svc.t, svc.t + rpo_s, np.array([lo, hi])] + ([np.sort(edges)] if edges is not None else [])
    u = sorted_union(*(p[(p >= lo) & (p <= hi)] for p in parts))
    g = np.interp(u, svc.t, svc.s) - np.interp(u - rpo_s, svc.t, svc.a, left=0.0)
    eps = _tolerance(svc.a)
    ok = g >= -eps
    g0, g1, ok0, ok1 = g[:-1], g[1:], ok[:-1], ok[1:]
    du = np.diff(u)
    cross = np.divide(g0 + eps, g0 - g1, out=np.zeros_like(g0), where=(g0 != g1))
    cross = np.clip(cross, 0.0, 1.0)
    good = np.where(ok0 & ok1, 1.0, np.where(~ok0 & ~ok1, 0.0, np.where(ok0, cross, 1.0 - cross)))
    bad = (1.0 - good) * du
    total = hi - lo
    pct = 100.0 if total <= 0 else 100.0 * (1.0 - bad.sum() / total)
    if lags:
        dep_t, dep_lag = departure_lags(svc)
        keep = (dep_t >= lo) & (dep_t <= hi)
        peak_t = np.concatenate([u, dep_t[keep]])
        peak_lag = np.concatenate([lag_at(svc, u), dep_lag[keep]])
        max_lag = float(peak_lag.max(initial=0.0))
    else:
        peak_t = peak_lag = np.zeros(0)
        max_lag = float("nan")
    return Compliance(float(np.clip(pct, 0.0, 100.0)), max_lag, u[:-1], bad, peak_t, peak_lag)


def fair_share(arrivals: Curve, fifo: Service) -> tuple[np.ndarray, np.ndarray]:
    """(S, A): per-VM cumulative service and arrivals on fifo.t when VMs with backlog share each piece's
    capacity equally (water-filling).

    `arrivals.a` is 2-D (one column per VM). Each grid piece's writes join the queues, then the piece's
    capacity is water-filled across them; the total sent per piece equals FIFO's, so both hold the same
    total backlog at every breakpoint. It loops over pieces because each piece's split depends on the
    queues the previous one left (min(queue, level) is not a running sum, so no cumsum gives it); the
    loop visits only pieces inside busy periods (FIFO backlog > 0), each vectorised over VMs.
    """
    a = np.stack([np.interp(fifo.t, arrivals.t, arrivals.a[:, i]) for i in range(arrivals.a.shape[1])], axis=1) \
        if arrivals.a.ndim == 2 else arrivals.a[:, None]
    served_total = np.diff(fifo.s)
    arrive = np.diff(a, axis=0)
    eps = _tolerance(fifo.a)
    busy = fifo.backlog[1:] > eps
    sent = arrive.copy()  # outside busy periods every VM's queue is emptied by the piece end
    q = np.zeros(a.shape[1])
    after_busy = np.concatenate([[False], busy[:-1]])
    for k in np.nonzero(busy | after_busy)[0]:  # steps only through busy periods, VMs vectorised
        q = q + arrive[k]
        cap = served_total[k]
        if not busy[k] or cap >= q.sum() - eps:
            sent[k] = q
            q = np.zeros_like(q)
            continue
        srt = np.sort(q)
        n = srt.size
        below = np.concatenate([[0.0], np.cumsum(srt)[:-1]])
        served_if = below + srt * (n - np.arange(n))
        m = int(np.searchsorted(served_if, cap, side="left"))
        level = (cap - below[m]) / (n - m)
        out = np.minimum(q, level)
        sent[k] = out
        q = q - out
    return np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(sent, axis=0)]), a


def to_epoch(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC epoch seconds of tz-aware (or naive UTC) timestamps."""
    idx = pd.DatetimeIndex(ts)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    seconds: np.ndarray = idx.to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9
    return seconds


def from_epoch(x: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps of epoch seconds (the inverse of to_epoch)."""
    return pd.to_datetime(np.asarray(x) * 1e9, unit="ns", utc=True) if len(x) else pd.DatetimeIndex([], tz="UTC")


@functools.lru_cache(maxsize=1024)
def day_edges(t0: float, t1: float, tz: str) -> np.ndarray:
    """Local midnights in (t0, t1) as epoch seconds (read-only: worked out once per window and zone, as every
    scope and RPO of a plan asks for the same few)."""
    first = pd.Timestamp(t0, unit="s", tz="UTC").tz_convert(tz).normalize()
    last = pd.Timestamp(t1, unit="s", tz="UTC").tz_convert(tz).normalize() + pd.Timedelta(days=1)
    mids = pd.date_range(first.tz_localize(None), last.tz_localize(None), freq="D")
    mids = mids.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dropna()
    e = to_epoch(mids)
    inside: np.ndarray = e[(e > t0) & (e < t1)]
    inside.setflags(write=False)
    return inside


def local_days(x: np.ndarray, tz: str) -> np.ndarray:
    """Local calendar day of each epoch second in `x`, as datetime64[D] (quick to group by)."""
    days: np.ndarray = from_epoch(x).tz_convert(tz).tz_localize(None).to_numpy().astype("datetime64[D]")
    return days

