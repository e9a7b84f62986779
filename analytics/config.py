"""What a plan depends on besides the data: the planner's settings and a work-hours throttle schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from churnplan.analytics.facts import PLANNER_DEFAULTS as _D
from churnplan.analytics.pricing import PriceBook
from churnplan.analytics.vocabulary import Architecture


@dataclass(frozen=True)
class ThrottleSchedule:
    """Work-hours / off-hours bandwidth, as Set-OBMachineSetting sets it on a process server."""

    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_mbps: float = 0.0
    offhours_mbps: float = 0.0
    timezone: str = "UTC"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0 .. Friday=4; other days are off-hours all day


@dataclass(frozen=True)
class PlanConfig:
    """Everything a plan depends on besides the data. Defaults are the ASR Deployment Planner's."""

    rpo_min: float = _D.rpo_min
    percentile: float = _D.percentile
    growth_pct: float = _D.growth_pct
    bandwidth_mbps: float | None = None          # available bandwidth for the what-if; None = none given
    compression: float = 1.0                     # bytes sent per byte written (0.5 = halves the traffic)
    throttle: ThrottleSchedule | None = None     # overrides bandwidth_mbps for the what-if when given
    timezone: str = "UTC"                        # local dates of daily figures when no throttle (whose zone wins)
    exclude_disks: tuple[str, ...] = ()          # globs matched against "vm_name/instance" and the disk label
    start: datetime | None = None
    end: datetime | None = None
    architecture: Architecture = Architecture.MODERNIZED  # replication appliances (new VMware deployments), or classic
    ir_goal_hours: float = _D.ir_goal_hours
    prices: dict[str, Any] | None = None         # parsed price file; None = the shipped example
    rpo_targets_min: tuple[float, ...] = _D.rpo_targets_min
    compliance_goals_pct: tuple[float, ...] = (100.0, 99.0, 95.0, 90.0)
    outage_h: float | None = None                # link outage to recover from (--outage); None = not asked
    retention_h: float = 24.0                    # recovery-point retention (--retention)
    app_consistent_h: float | None = None        # app-consistent snapshot frequency (--app-consistent-hours)
    standard_disks: str = "standard_hdd"         # replica family of standard targets: standard_hdd or standard_ssd
    price_book: PriceBook | None = None          # billed prices (own JSON or Retail Prices export); None = example
    growth_auto: bool = False                    # --growth auto: growth_pct is replaced by the fitted trend's
    vcenters: tuple[str, ...] = ()               # --vcenter: plan only these vCenters' VMs (the loaders select them)

    @property
    def link_given(self) -> bool:
        """A bandwidth or throttle schedule was given: the estate's VMs share it (the per-VM fair-share table)."""
        return self.bandwidth_mbps is not None or self.throttle is not None
