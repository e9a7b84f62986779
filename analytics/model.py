"""Typed inputs and outputs of the planning engine: what the CLI, the reports and the dashboard share.

Input frames follow churnplan.core.store (VM_COLUMNS, DISK_COLUMNS, SAMPLE_COLUMNS; sample ts tz-aware UTC,
end of interval; write_kbps etc. are KiB/s). Output frames are plain pandas with the columns listed on each
field, named with their units (churnplan.core.units).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from churnplan.analytics.config import PlanConfig, ThrottleSchedule
from churnplan.analytics.stages.bandwidth_table import BandwidthTable
from churnplan.analytics.stages.summary import PlanSummary
from churnplan.analytics.vocabulary import Scope

__all__ = ["BandwidthTable", "Plan", "PlanConfig", "PlanSummary", "ThrottleSchedule"]


@dataclass(frozen=True)
class Plan:
    """A finished plan. Every frame is safe to export as-is (after CSV neutralising at the edge)."""

    config: PlanConfig
    vms: pd.DataFrame                 # one row per VM: identity, churn profile, compatibility, process server
    disks: pd.DataFrame               # one row per disk: churn profile, target disk type, reasons, excluded
    process_servers: pd.DataFrame     # one row per server: role, vCPU, RAM, cache, VMs, churn/day
    bandwidth: BandwidthTable         # scope, rpo_min, compliance_goal_pct, required_mbps; .required(...)
    rpo: pd.DataFrame                 # scope, bandwidth_mbps, rpo_min, compliance_pct, max_lag_min
    summary: PlanSummary              # headline figures; summary.json
    estate_series: pd.DataFrame       # ts, write_kibps (estate total per sample time), for charts
    lag_series: pd.DataFrame = field(default_factory=pd.DataFrame)        # ts, scope, lag_min, backlog_mib
    daily_lag: pd.DataFrame = field(default_factory=pd.DataFrame)         # date, scope, peak_lag_min, violations_min
    initial_replication: pd.DataFrame = field(default_factory=pd.DataFrame)  # batch, vms, vm_names, size_gib, hours
    cost: pd.DataFrame = field(default_factory=pd.DataFrame)              # item, quantity, unit, unit_price, monthly
    compliance_curve: pd.DataFrame = field(default_factory=pd.DataFrame)  # scope, bandwidth_mbps, compliance_pct

    def required_mbps(self, goal_pct: float = 100.0, scope: str = Scope.ESTATE) -> float | None:
        """Least Mbps for `scope` to meet the plan's RPO `goal_pct` % of the time (None when not computed)."""
        return self.bandwidth.required(scope, self.config.rpo_min, goal_pct)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames exported as CSV recommendations, by file stem."""
        return {"vms": self.vms, "disks": self.disks, "process_servers": self.process_servers,
                "bandwidth": self.bandwidth.frame, "rpo": self.rpo}
