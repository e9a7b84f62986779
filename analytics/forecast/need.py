"""The exact queue model (analytics.queue, rpo, bandwidth) run over forecast traces: required bandwidth per
RPO and compliance goal, and compliance at a given bandwidth, one value per trace."""

from __future__ import annotations

import numpy as np

from churnplan.analytics import bandwidth, constant_rate, queue
from churnplan.core.units import BYTES_PER_MBPS


def required_mbps_100(times: np.ndarray, interval_s: float, bytes_2d: np.ndarray, rpo_s: float) -> np.ndarray:
    """bandwidth.required_mbps_100 for every trace (rows of `bytes_2d`): the compiled always-met scan
    (constant_rate) of each column of one arrival curve of all traces, the same floats as trace by trace."""
    if bytes_2d.shape[0] == 0:
        return np.zeros(0)
    if bytes_2d.shape[1] == 0:
        return np.zeros(bytes_2d.shape[0])
    curve = queue.arrival_curve(times, interval_s, bytes_2d.T)
    return constant_rate.required_bytes_per_s_100_each(curve, rpo_s) / BYTES_PER_MBPS


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
