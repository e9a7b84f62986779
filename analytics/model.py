"""Typed inputs and outputs of the planning engine: what the CLI, the reports and the dashboard share.

Input frames follow churnplan.core.store (VM_COLUMNS, DISK_COLUMNS, SAMPLE_COLUMNS; sample ts tz-aware UTC,
end of interval). Output frames are plain pandas with the columns listed on each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import pandas as pd

from churnplan.analytics.facts import PLANNER_DEFAULTS as _D


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

    rpo_min: float = _D["rpo_min"]
    percentile: float = _D["percentile"]
    growth_pct: float = _D["growth_pct"]
    bandwidth_mbps: float | None = None          # available bandwidth for the what-if; None = none given
    compression: float = 1.0                     # bytes sent per byte written (0.5 = halves the traffic)
    throttle: ThrottleSchedule | None = None     # overrides bandwidth_mbps for the what-if when given
    timezone: str = "UTC"                        # local dates of daily figures when no throttle (whose zone wins)
    exclude_disks: tuple[str, ...] = ()          # globs matched against "vm_name/instance" and the disk label
    start: datetime | None = None
    end: datetime | None = None
    architecture: str = "classic"                # 'classic' (configuration + process servers) or 'modernized'
    ir_goal_hours: float = _D["ir_goal_hours"]
    prices: dict[str, Any] | None = None         # parsed price file; None = the shipped example
    rpo_targets_min: tuple[float, ...] = _D["rpo_targets_min"]
    compliance_goals_pct: tuple[float, ...] = (100.0, 99.0, 95.0, 90.0)
    growth_auto: bool = False                    # --growth auto: growth_pct is replaced by the fitted trend's


@dataclass
class Plan:
    """A finished plan. Every frame is safe to export as-is (after CSV neutralising at the edge)."""

    config: PlanConfig
    vms: pd.DataFrame                 # one row per VM: identity, churn profile, compatibility, process server
    disks: pd.DataFrame               # one row per disk: churn profile, target disk type, reasons, excluded
    process_servers: pd.DataFrame     # one row per server: role, vCPU, RAM, cache, VMs, churn/day
    bandwidth: pd.DataFrame           # scope, rpo_min, compliance_goal_pct, required_mbps
    rpo: pd.DataFrame                 # scope, bandwidth_mbps, rpo_min, compliance_pct, max_lag_min
    summary: dict[str, Any]           # JSON-able headline figures
    estate_series: pd.DataFrame       # ts, write_kbps (estate total per sample time), for charts
    lag_series: pd.DataFrame = field(default_factory=pd.DataFrame)        # ts, scope, lag_min, backlog_mb
    daily_lag: pd.DataFrame = field(default_factory=pd.DataFrame)         # date, scope, peak_lag_min, violations_min
    initial_replication: pd.DataFrame = field(default_factory=pd.DataFrame)  # batch, vms, size_gb, hours
    cost: pd.DataFrame = field(default_factory=pd.DataFrame)              # item, quantity, unit, unit_price, monthly
    compliance_curve: pd.DataFrame = field(default_factory=pd.DataFrame)  # scope, bandwidth_mbps, compliance_pct
