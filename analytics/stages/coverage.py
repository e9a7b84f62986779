"""What the headline figures cover: the protected VMs and their churn, and beside them the figures if the
incompatible VMs were remediated (their churn counted), with the list of VMs left out and the limit each hit.

Raising --percentile can turn VMs "No" and so drop their churn from every figure; this stage says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from churnplan.analytics import rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.vocabulary import Scope, protected


@dataclass(frozen=True)
class LeftOut:
    """One VM ASR cannot protect: its churn and the limits it hit."""

    name: str
    churn_gib_day: float
    reasons: str


@dataclass(frozen=True)
class Coverage:
    """Who the figures cover, and the bandwidth if every VM were protected (at the plan's RPO)."""

    protected_vms: int
    protected_churn_gib_day: float
    all_vms: int
    all_churn_gib_day: float
    left_out: tuple[LeftOut, ...]
    required_mbps_if_remediated_by_goal_pct: dict[str, float]

    @property
    def complete(self) -> bool:
        """True when every VM is protected (the figures cover the whole estate)."""
        return not self.left_out

    def statement(self) -> str:
        """One line saying what the figures cover and what they leave out."""
        text = f"covers {self.protected_vms} of {self.all_vms} VMs ({self.protected_churn_gib_day:,.1f} of " \
               f"{self.all_churn_gib_day:,.1f} GiB/day of churn)"
        if self.left_out:
            text += f"; excludes {len(self.left_out)} incompatible VM(s) writing " \
                    f"{self.all_churn_gib_day - self.protected_churn_gib_day:,.1f} GiB/day"
        return text


def coverage_of(every: rpo.PreparedChurn | None, placed: Assignment, config: PlanConfig, factor: float,
                protected_table: bw.BandwidthTable, goals: Sequence[float]) -> Coverage:
    """The plan's coverage from `every` VM's churn (in any columns: its estate sum is what is replayed; None is
    allowed when every VM is protected, as the protected estate's table then holds the figures)."""
    v = placed.vms
    keep = protected(v)
    left = v[~keep].sort_values("churn_gib_day", ascending=False)
    if left.empty:
        remediated = {f"{g:g}": protected_table.required(Scope.ESTATE, config.rpo_min, g) or 0.0 for g in goals}
    elif every is None:
        raise ValueError("coverage: VMs are left out, so every VM's churn is needed for the remediated link")
    else:
        row = bw.scope_bandwidth(every, Scope.ESTATE, [config.rpo_min], goals, factor)
        remediated = {f"{g:g}": m for _, g, m in row.required_mbps}
    return Coverage(
        protected_vms=int(keep.sum()), protected_churn_gib_day=float(v.loc[keep, "churn_gib_day"].sum()),
        all_vms=int(len(v)), all_churn_gib_day=float(v["churn_gib_day"].sum()),
        left_out=tuple(LeftOut(str(n), float(c), str(r)) for n, c, r in
                       zip(left["name"], left["churn_gib_day"], left["reasons"], strict=True)),
        required_mbps_if_remediated_by_goal_pct=remediated)
