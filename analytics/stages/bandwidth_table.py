"""Stage 4, bandwidth table: the least Mbps meeting each RPO target for each compliance goal, per scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from churnplan.analytics import bandwidth, queue, rpo
from churnplan.analytics.config import PlanConfig, ThrottleSchedule

from churnplan.analytics.vocabulary import Scope

COLUMNS = ["scope", "rpo_min", "compliance_goal_pct", "required_mbps"]


@dataclass(frozen=True)
class ScopeBandwidth:
    """One scope's arrival curve (writes x growth x compression) and its required Mbps per RPO and goal."""

    scope: str
    curve: queue.Curve
    required_mbps: tuple[tuple[float, float, float], ...]   # (rpo_min, compliance_goal_pct, required_mbps)


@dataclass(frozen=True)
class BandwidthTable:
    """Required Mbps by scope, RPO and compliance goal; `required` is the one lookup every face uses."""

    frame: pd.DataFrame   # scope, rpo_min, compliance_goal_pct, required_mbps

    @cached_property
    def _index(self) -> dict[tuple[str, float, float], float]:
        keys = zip(self.frame["scope"].astype(str), self.frame["rpo_min"], self.frame["compliance_goal_pct"])
        return {(s, float(r), float(g)): float(m) for (s, r, g), m in zip(keys, self.frame["required_mbps"])}

    def required(self, scope: str = Scope.ESTATE, rpo_min: float = 15.0, goal_pct: float = 100.0) -> float | None:
        """Least Mbps for `scope` to meet `rpo_min` `goal_pct` % of the time; None when not computed."""
        return self._index.get((str(scope), float(rpo_min), float(goal_pct)))

    @classmethod
    def of(cls, scopes: Iterable[ScopeBandwidth]) -> BandwidthTable:
        """The table of several scopes' results, in their order."""
        rows = [(s.scope, r, g, m) for s in scopes for r, g, m in s.required_mbps]
        return cls(pd.DataFrame(rows, columns=COLUMNS))


def rpo_targets(config: PlanConfig) -> list[float]:
    """The RPOs the table holds: the targets and the desired RPO, ascending."""
    return sorted(set(config.rpo_targets_min) | {config.rpo_min})


def scope_bandwidth(churn: rpo.PreparedChurn, scope: str, rpos: Sequence[float], goals: Sequence[float],
                    factor: float) -> ScopeBandwidth:
    """Required Mbps of one scope (its VMs' churn only) for each RPO and goal; writes scaled by `factor`.

    100 % is exact in closed form; lower goals bisect below it, sharing simulated steps between goals.
    """
    cols = churn.columns(scope)
    curve = rpo.scope_curve(churn, cols, factor)
    rows = []
    for r in rpos:
        always = bandwidth.required_mbps_100(curve, r * 60.0)
        memo: dict[float, float] = {}
        for goal in goals:
            need = always if goal >= 100 else bandwidth.least_mbps(
                churn, cols, r, goal, factor, rel_tol=1e-3, hi_mbps=always, curve=curve, memo=memo)
            rows.append((float(r), float(goal), float(need)))
    return ScopeBandwidth(scope, curve, tuple(rows))


def throttle_needed(estate: rpo.PreparedChurn, throttle: ThrottleSchedule | None, rpo_min: float,
                    goals: Sequence[float], factor: float) -> dict[str, float | None] | None:
    """Least work-hours Mbps per goal at the schedule's off-hours Mbps (None without a schedule)."""
    if throttle is None:
        return None
    cols = estate.columns(Scope.ESTATE)
    return {f"{goal:g}": bandwidth.least_work_mbps(estate, cols, throttle, rpo_min, goal, factor) for goal in goals}
