"""The exact queue model (analytics.queue, rpo, bandwidth) run over forecast traces: required bandwidth per
RPO and compliance goal, and compliance at a given bandwidth, one value per trace."""

from __future__ import annotations

import numpy as np

from churnplan.analytics import bandwidth, constant_rate, queue
from churnplan.core.units import BYTES_PER_MBPS

_START_OFFSETS = 8


_CHUNK = 16               # traces per pass: keeps each pass's arrays in cache (memory-bound otherwise)


def required_mbps_100(times: np.ndarray, interval_s: float, bytes_2d: np.ndarray, rpo_s: float) -> np.ndarray:
    """bandwidth.required_mbps_100 for every trace (rows of `bytes_2d`), in chunks of traces."""
    return np.concatenate([_required_mbps_100(times, interval_s, bytes_2d[i:i + _CHUNK], rpo_s)
                           for i in range(0, bytes_2d.shape[0], _CHUNK)]) if bytes_2d.shape[0] \
        else np.zeros(0)


def _required_mbps_100(times: np.ndarray, interval_s: float, bytes_2d: np.ndarray, rpo_s: float) -> np.ndarray:
    """bandwidth.required_mbps_100 for every trace (rows of `bytes_2d`) at once: the least constant Mbps with
    lag <= RPO all the time, max over breakpoint pairs of (A_j - A_i) / (t_j - t_i + RPO).

    The same exact scan, vectorised over traces: offsets up to K exactly, K doubling while the average-rate
    bound over spans K+1 .. 2K+1 exceeds any trace's best (see bandwidth.required_mbps_100).
    """
    if bytes_2d.shape[1] == 0:
        return np.zeros(bytes_2d.shape[0])
    curve = queue.arrival_curve(times, interval_s, bytes_2d.T)
    t, a = curve.t, curve.a
    n = t.size
    best = np.zeros(a.shape[1])
    done, k = 0, _START_OFFSETS
    while True:
        k = min(k, n - 1)
        for off in range(done + 1, k + 1):  # offsets, each vectorised over all pairs and traces
            best = np.maximum(best, ((a[off:] - a[:-off]) / (t[off:] - t[:-off] + rpo_s)[:, None]).max(axis=0))
        done = k
        if k >= n - 1:
            break
        bound = np.zeros_like(best)
        for off in range(k + 1, min(2 * k + 1, n - 1) + 1):
            bound = np.maximum(bound, ((a[off:] - a[:-off]) / (t[off:] - t[:-off])[:, None]).max(axis=0))
        if np.all(bound <= best):
            break
        k *= 2
    return np.asarray(best / BYTES_PER_MBPS, dtype=float)


def trace_curve(times: np.ndarray, interval_s: float, trace_bytes: np.ndarray) -> queue.Curve:
    """Cumulative arrivals of one trace."""
    return queue.arrival_curve(times, interval_s, trace_bytes)


def least_mbps(times: np.ndarray, interval_s: float, bytes_2d: np.ndarray, rpo_min: float,
               goals_pct: tuple[float, ...], hi_mbps: np.ndarray, rel_tol: float = 1e-2) -> dict[float, np.ndarray]:
    """bandwidth.least_mbps (bisection on the simulated compliance) for each trace and goal below 100 %.

    Per trace the goals are searched from the highest down, each below the need of the one before (a lower
    goal never needs more) and sharing the simulations already run (one memo per trace)."""
    goals = sorted((g for g in goals_pct if g < 100), reverse=True)
    out = {g: np.zeros(bytes_2d.shape[0]) for g in goals}
    for i in range(bytes_2d.shape[0]):  # traces; each search runs the exact FIFO simulation
        curve = trace_curve(times, interval_s, bytes_2d[i])
        memo: dict[float, float] = {}
        hi = float(hi_mbps[i])
        for g in goals:
            hi = bandwidth.least_mbps(None, None, rpo_min, g, 1.0, rel_tol=rel_tol,  # type: ignore[arg-type]
                                      hi_mbps=hi, curve=curve, memo=memo)
            out[g][i] = hi
    return out


def compliance_pct(times: np.ndarray, interval_s: float, bytes_2d: np.ndarray, rpo_min: float,
                   mbps: float) -> np.ndarray:
    """Exact compliance % of each trace drained at `mbps` (the compiled replay, rpo.run's figure)."""
    return np.array([constant_rate.compliance_pct(trace_curve(times, interval_s, row), mbps, rpo_min)
                     for row in bytes_2d])  # traces; each replay compiled
