"""Least bandwidth meeting an RPO for a share of the time, and the least work-hours throttle meeting a goal."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Callable

import numpy as np

from churnplan.analytics import constant_rate, queue
from churnplan.analytics.facts import THROTTLE_MAX_MBPS, THROTTLE_MIN_MBPS
from churnplan.analytics.config import ThrottleSchedule
from churnplan.analytics.rpo import PreparedChurn, run, run_start, scope_curve
from churnplan.core.units import BYTES_PER_MBPS

_GOAL_SLACK_PCT = 1e-7


def required_mbps_100(curve: queue.Curve, rpo_s: float) -> float:
    """Least constant Mbps with lag <= RPO all the time: max over i < j of (A_j - A_i) / (t_j - t_i + RPO).

    Exact for piecewise-linear A (the ratio is monotone along each piece, so breakpoints suffice). Pairs
    up to K breakpoints apart are scanned exactly; pairs further apart cannot beat the largest average rate
    over spans of K+1 .. 2K+1 breakpoints (any longer span splits into such spans), so K doubles only while
    that bound exceeds the best ratio found. Compiled (constant_rate), off the GIL; rows of pairs whose largest
    volume over a round's span cannot beat the best so far are skipped (the same maximum, bit for bit).
    """
    return constant_rate.required_bytes_per_s_100(curve, rpo_s) / BYTES_PER_MBPS


def peak_mbps(curve: queue.Curve) -> float:
    """Highest write rate of any piece: at this bandwidth no backlog ever forms."""
    rates = np.diff(curve.a) / np.diff(curve.t) if curve.t.size > 1 else np.zeros(1)
    return float(rates.max(initial=0.0)) / BYTES_PER_MBPS


def _compliance(curve: queue.Curve, cap: queue.Capacity, rpo_min: float, start: queue.FifoStart | None = None
                ) -> float:
    """Simulated compliance % of `curve` drained at `cap` (lags not needed, so not computed); a constant rate
    takes the compiled replay (the same figure)."""
    if cap.throttle is None and cap.mbps is not None:
        return constant_rate.compliance_pct(curve, cap.mbps, rpo_min, start)
    return run(curve, cap, rpo_min, lags=False, start=start)[1].pct


def _reaches(pct: float, goal_pct: float) -> bool:
    """Compliance `pct` meets the goal, allowing for rounding in the exact compliance sum."""
    return pct >= goal_pct - _GOAL_SLACK_PCT


def least_mbps(prepared: PreparedChurn, cols: np.ndarray, rpo_min: float, goal_pct: float, factor: float,
               rel_tol: float = 1e-4, hi_mbps: float | None = None, curve: queue.Curve | None = None,
               memo: dict[float, float] | None = None) -> float:
    """Least constant Mbps whose simulated compliance reaches `goal_pct`, by bisection below `hi_mbps`
    (a bandwidth known to reach it; default the peak write rate, at which no backlog ever forms).

    `memo` (Mbps -> compliance %) may be shared by searches of one curve and RPO for several goals: their
    bisections start alike, so the shared steps are simulated once.
    """
    curve = scope_curve(prepared, cols, factor) if curve is None else curve
    hi = peak_mbps(curve) if hi_mbps is None else hi_mbps
    if hi <= 0:
        return 0.0
    memo = {} if memo is None else memo
    start: list[queue.FifoStart] = []   # the rates share the curve's first steps, worked out at the first miss

    def ok(mbps: float) -> bool:
        if mbps not in memo:
            start[:] = start or [run_start(curve, rpo_min)]
            memo[mbps] = _compliance(curve, queue.Capacity(mbps), rpo_min, start[0])
        return _reaches(memo[mbps], goal_pct)

    return _bisect(ok, hi, rel_tol)


def _bisect(ok: Callable[[float], bool], hi: float, rel_tol: float) -> float:
    """Least x in (0, hi] with ok(x), to within rel_tol x hi, for ok monotone and true at hi."""
    lo = 0.0
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def least_work_mbps(prepared: PreparedChurn, cols: np.ndarray, schedule: ThrottleSchedule, rpo_min: float,
                    goal_pct: float, factor: float, rel_tol: float = 1e-3) -> float | None:
    """Least work-hours Mbps meeting `goal_pct` given the schedule's off-hours Mbps; None if even 1,023 Mbps fails.

    0 when the off-hours bandwidth alone suffices; otherwise at least 512 Kbps, the least a throttle can be set to.
    """
    curve = scope_curve(prepared, cols, factor)

    def ok(work: float) -> bool:
        cap = queue.Capacity(throttle=replace(schedule, work_mbps=work))
        return _reaches(_compliance(curve, cap, rpo_min), goal_pct)

    if ok(0.0):
        return 0.0
    if not ok(THROTTLE_MAX_MBPS):
        return None
    return max(_bisect(ok, THROTTLE_MAX_MBPS, rel_tol), THROTTLE_MIN_MBPS)
