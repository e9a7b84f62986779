"""Stage 4, bandwidth table: the least Mbps meeting each RPO target for each compliance goal, per scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from churnplan.analytics import bandwidth, queue, rpo
from churnplan.analytics.config import PlanConfig

from churnplan.analytics.workers import WORKERS
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
        f = self.frame
        rows = zip(f["scope"].astype(str), f["rpo_min"], f["compliance_goal_pct"], f["required_mbps"], strict=True)
        return {(s, float(r), float(g)): float(m) for s, r, g, m in rows}

    def required(self, scope: str = Scope.ESTATE, rpo_min: float = 15.0, goal_pct: float = 100.0) -> float | None:
        """Least Mbps for `scope` to meet `rpo_min` `goal_pct` % of the time; None when not computed."""
        return self._index.get((str(scope), float(rpo_min), float(goal_pct)))

    @classmethod
    def of(cls, scopes: Iterable[ScopeBandwidth]) -> BandwidthTable:
        """The table of several scopes' results, in their order."""
        rows = [(s.scope, r, g, m) for s in scopes for r, g, m in s.required_mbps]
        return cls(pd.DataFrame(rows, columns=COLUMNS))


@dataclass(frozen=True)
class Bandwidths:
    """The stage's result: the table, and each scope's arrival curve (for the compliance-by-bandwidth curve)."""

    table: BandwidthTable
    curves: Mapping[str, queue.Curve]


def write_factor(config: PlanConfig) -> float:
    """Bytes sent per byte measured: growth, then compression."""
    return (1.0 + config.growth_pct / 100.0) * config.compression


def bandwidth_table(churns: Mapping[str, rpo.PreparedChurn], config: PlanConfig) -> Bandwidths:
    """Every scope's required Mbps for each RPO target and compliance goal (scopes in parallel)."""
    rpos, factor = rpo_targets(config), write_factor(config)

    def one(scope: str) -> ScopeBandwidth:
        return scope_bandwidth(churns[scope], scope, rpos, config.compliance_goals_pct, factor)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        per_scope = list(pool.map(one, churns))
    return Bandwidths(BandwidthTable.of(per_scope), {s.scope: s.curve for s in per_scope})


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


def throttle_needed(estate: rpo.PreparedChurn, config: PlanConfig) -> dict[str, float | None] | None:
    """Least work-hours Mbps per goal at the schedule's off-hours Mbps (None without a schedule)."""
    if config.throttle is None:
        return None
    cols, factor = estate.columns(Scope.ESTATE), write_factor(config)
    return {f"{goal:g}": bandwidth.least_work_mbps(estate, cols, config.throttle, config.rpo_min, goal, factor)
            for goal in config.compliance_goals_pct}
