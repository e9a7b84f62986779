"""Stage 8, summary: the plan's headline figures as one typed value, written as summary.json.

To add figures (e.g. what a figure covers), add fields here and set them in `summarise`: to_dict, to_json,
the workbook's summary sheet and the console read the fields, not a list of keys.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics import churn, queue
from churnplan.analytics.compatibility import UNKNOWN_WRITE_SIZE
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.facts import FACTS_VERSION, STORAGE_ACCOUNT_IOPS
from churnplan.analytics.rpo import PreparedChurn, WhatIf
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.stages.bandwidth_table import BandwidthTable
from churnplan.analytics.stages.seeding import Seeding
from churnplan.analytics.stages.azure_targets import AzureTargets
from churnplan.analytics.stages.coverage import Coverage
from churnplan.analytics.stages.estimates import Estimates
from churnplan.analytics.vocabulary import Compatibility, ServerRole, of_protected_vms, protected
from churnplan.core.units import SECONDS_PER_DAY, kibps_to_mibps


@dataclass(frozen=True)
class PlanSummary:
    """Headline figures of a plan; field names carry their units (summary.json keys are these names)."""

    generated_utc: str
    facts_version: str
    config: dict[str, Any]
    interval_s: float
    days_profiled: float
    first_sample_utc: str | None
    last_sample_utc: str | None
    vms: int
    disks: int
    excluded_disks: int
    compatible_vms: int
    compatible_with_premium_vms: int
    incompatible_vms: int
    protected_vms: int
    avg_disk_size_gib: float
    typical_churn_gib_day: float
    estate_peak_churn_mibps: float
    required_mbps_100pct: float
    required_mbps_90pct: float | None
    planned_mbps: float
    compliance_pct: float
    max_lag_min: float
    worst_day: str | None
    worst_day_peak_lag_min: float | None
    days_with_violations: int
    throttle_work_mbps_needed_by_goal_pct: dict[str, float | None] | None
    configuration_servers: int
    process_servers: int
    premium_disks: int
    storage_accounts: int
    azure_cores: int
    ir_hours: float | None
    ir_batches: int
    monthly_cost: float
    currency: str
    prices_date: str
    architecture: str = "modernized"
    replication_appliances: int = 0
    coverage: dict[str, Any] | None = None      # protected VMs and churn, left-out VMs, remediated bandwidth
    seed_gib: float | None = None
    ir_goal_hours: float | None = None
    ir_goal_met: bool | None = None
    ir_mbps_for_goal: float | None = None
    unknown_capacity_disks: int = 0
    unknown_write_size_disks: int = 0
    measured_peak_churn_mibps: float = 0.0      # the maximum of the measured estate series (no growth)
    planned_churn_label: str = ""               # e.g. "p95 with 30 % growth"
    throttle_schedule_compliance_pct: float | None = None   # the schedule's own compliance (a point of its own)
    azure_cores_by_family: dict[str, int] | None = None     # vCPUs per quota family for the target region
    cache_storage_accounts: int = 0
    blocked_vms: list[dict[str, str]] | None = None         # name and the limits it hit, per incompatible VM
    first_month_cost: float | None = None                   # licence free for 31 days
    prices_source: str = ""
    prices_are_example: bool = True
    unpriced_disks: int = 0                                 # replica disks of unknown size: not in the cost
    snapshot_gib: float = 0.0                               # recovery-point data held on average
    retention_h: float = 24.0
    telemetry: dict[str, Any] | None = None                 # coverage, gaps, counters; confidence 1-5 and reasons
    outage_catchup: list[dict[str, object]] | None = None   # per scope after --outage hours without link
    outage_note: str = ""
    needs_telemetry: list[str] | None = None   # churn-based figures a plan on inventory alone cannot give

    def to_dict(self) -> dict[str, Any]:
        """The fields as strict-JSON values (numpy scalars as Python ones, NaN and inf as None)."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    def to_json(self) -> str:
        """summary.json's text: keys sorted so runs diff cleanly."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def figures(self) -> list[tuple[str, Any]]:
        """(field, JSON value) in declaration order, without the settings: the rows of the summary sheet.

        A field holding a nested dataclass (a group of figures) appears as one row holding its dict.
        """
        return [(k, v) for k, v in self.to_dict().items() if k != "config"]


def _jsonable(value: Any) -> Any:
    """`value` with numpy scalars as Python ones and NaN/inf as None, so json.dumps writes strict JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def config_record(config: PlanConfig, timezone: str) -> dict[str, Any]:
    """The settings a plan was made with, as JSON-able values."""
    th = config.throttle
    return {"rpo_min": config.rpo_min, "percentile": config.percentile, "growth_pct": config.growth_pct,
            "compression": config.compression, "bandwidth_mbps": config.bandwidth_mbps,
            "architecture": str(config.architecture), "ir_goal_hours": config.ir_goal_hours,
            "exclude_disks": list(config.exclude_disks),
            "vcenters": list(config.vcenters),
            "throttle": None if th is None else {
                "work_start": th.work_start.isoformat(), "work_end": th.work_end.isoformat(),
                "work_mbps": th.work_mbps, "offhours_mbps": th.offhours_mbps, "timezone": th.timezone},
            "timezone": timezone}


def _sample_time(times: np.ndarray, at: int) -> str | None:
    return str(queue.from_epoch(times[at:at + 1] if at >= 0 else times[at:])[0]) if times.size else None


def _daily(estate: WhatIf) -> tuple[str | None, float | None, int]:
    """(worst day, its peak lag, days with violations) of the estate's daily figures."""
    d = estate.daily
    if d.empty:
        return None, None, 0
    return str(d["date"].iloc[int(d["peak_lag_min"].to_numpy().argmax())]), float(d["peak_lag_min"].max()), \
        int((d["violations_min"] > 0).sum())


def summarise(config: PlanConfig, timezone: str, times: np.ndarray, estate_churn: PreparedChurn,
              assignment: Assignment, table: BandwidthTable, planned_mbps: float, estate: WhatIf,
              throttle_needed: dict[str, float | None] | None, seeding: Seeding,
              cover: Coverage | None = None, azure: AzureTargets | None = None,
              est: Estimates | None = None) -> PlanSummary:
    """The headline figures from the stages' results."""
    v, d, servers = assignment.vms, assignment.disks, assignment.servers
    protect = protected(v)
    status = v["compatibility"].value_counts()
    t = estate_churn.times
    span_s = t[-1] - t[0] + estate_churn.interval_s if t.size else 0.0
    series = seeding.estate_series["write_kibps"].to_numpy()
    peak = churn.series_profile(series, config.percentile, config.growth_pct)["peak_write_kibps"]
    worst_day, worst_lag, bad_days = _daily(estate)
    rpo_min = config.rpo_min
    return PlanSummary(
        generated_utc=datetime.now(UTC).isoformat(timespec="seconds"), facts_version=FACTS_VERSION,
        config=config_record(config, timezone), interval_s=estate_churn.interval_s,
        days_profiled=round(float(span_s) / SECONDS_PER_DAY, 2),
        first_sample_utc=_sample_time(times, 0), last_sample_utc=_sample_time(times, -1),
        vms=int(len(v)), disks=int(len(d)), excluded_disks=int(d["excluded"].sum()),
        compatible_vms=int(status.get(Compatibility.YES, 0)),
        compatible_with_premium_vms=int(status.get(Compatibility.YES_PREMIUM, 0)),
        incompatible_vms=int(status.get(Compatibility.NO, 0)), protected_vms=int(protect.sum()),
        avg_disk_size_gib=float(d["capacity_gib"].mean()) if len(d) else 0.0,
        typical_churn_gib_day=float(v.loc[protect, "churn_gib_day"].sum()),
        estate_peak_churn_mibps=kibps_to_mibps(peak),
        required_mbps_100pct=table.required(rpo_min=rpo_min, goal_pct=100.0) or 0.0,
        required_mbps_90pct=table.required(rpo_min=rpo_min, goal_pct=90.0)
        if 90.0 in config.compliance_goals_pct else None,
        planned_mbps=planned_mbps, compliance_pct=estate.compliance_pct, max_lag_min=estate.max_lag_min,
        worst_day=worst_day, worst_day_peak_lag_min=worst_lag, days_with_violations=bad_days,
        throttle_work_mbps_needed_by_goal_pct=throttle_needed or None,
        configuration_servers=_count(servers, ServerRole.CONFIGURATION_SERVER),
        process_servers=int(len(servers)), premium_disks=_premium_disks(d[of_protected_vms(d, v)]),
        storage_accounts=max(1, math.ceil(float(v.loc[protect, "peak_iops"].sum()) / STORAGE_ACCOUNT_IOPS)),
        azure_cores=int(v.loc[protect, "num_cpu"].fillna(0).sum()) if "num_cpu" in v.columns else 0,
        ir_hours=seeding.ir_hours, ir_batches=int(len(seeding.initial_replication)),
        **_rough_cost(seeding, est), **_trust_figures(config, assignment, seeding, series, cover),
        **_azure_figures(config, assignment, estate, azure), **_estimate_figures(config, est))


def _estimate_figures(config: PlanConfig, est: Estimates | None) -> dict[str, Any]:
    """The billed cost (replacing the rough one), telemetry confidence and outage catch-up (#13)."""
    if est is None:
        return {}
    c = est.cost
    return {"monthly_cost": c.monthly, "first_month_cost": c.first_month, "currency": c.currency,
            "prices_date": c.prices_date, "prices_source": c.prices_source, "prices_are_example": c.prices_example,
            "unpriced_disks": c.unpriced_disks, "snapshot_gib": est.snapshot_gib, "retention_h": config.retention_h,
            "telemetry": est.quality, "outage_catchup": est.outage, "outage_note": est.outage_note}


def _azure_figures(config: PlanConfig, assignment: Assignment, estate: WhatIf,
                   azure: AzureTargets | None) -> dict[str, Any]:
    """The schedule's own compliance, vCPUs per quota family, cache accounts and the blocked VMs (#9)."""
    v = assignment.vms
    blocked = v[~protected(v)]
    cores = {} if azure is None else {str(f): int(n) for f, n in azure.cores_by_family.groupby("quota_family")[
        "vcpus"].sum().items()} if len(azure.cores_by_family) else {}
    return {"throttle_schedule_compliance_pct": estate.compliance_pct if config.throttle is not None else None,
            "azure_cores_by_family": cores,
            "cache_storage_accounts": 0 if azure is None else int(len(azure.accounts)),
            "blocked_vms": [{"name": str(n), "limits": str(r)} for n, r in zip(blocked["name"], blocked["reasons"],
                                                                                strict=True)]}


def _rough_cost(seeding: Seeding, est: Estimates | None) -> dict[str, Any]:
    """The rough cost's figures, when no billed estimate was made."""
    if est is not None:
        return {}   # _estimate_figures gives the billed cost
    return {"monthly_cost": float(seeding.cost["monthly"].sum()), "currency": str(seeding.prices["currency"]),
            "prices_date": str(seeding.prices["date"])}


NEEDS_TELEMETRY = ["churn per day", "bandwidth and RPO compliance", "churn limits", "premium tiers for churn",
                   "initial-replication time", "recovery-point storage", "cache", "outage catch-up"]


def _count(servers: pd.DataFrame, role: ServerRole) -> int:
    return int((servers["role"] == role).sum()) if len(servers) else 0


def planned_label(config: PlanConfig) -> str:
    """How planned churn figures were made: "p95 with 30 % growth" (measured figures carry no label)."""
    return f"p{config.percentile:g} with {config.growth_pct:g} % growth"


def _trust_figures(config: PlanConfig, assignment: Assignment, seeding: Seeding, series: np.ndarray,
                   cover: Coverage | None) -> dict[str, Any]:
    """Coverage, the initial-replication goal check, unknown sizes and the measured peak (#9)."""
    d = assignment.disks[~assignment.disks["excluded"]]
    return {"architecture": str(config.architecture),
            "replication_appliances": _count(assignment.servers, ServerRole.REPLICATION_APPLIANCE),
            "coverage": None if cover is None else {**asdict(cover), "statement": cover.statement()},
            "seed_gib": seeding.seed_gib, "ir_goal_hours": config.ir_goal_hours, "ir_goal_met": seeding.ir_goal_met,
            "ir_mbps_for_goal": seeding.ir_mbps_for_goal,
            "unknown_capacity_disks": int(d["capacity_gib"].isna().sum()),
            "unknown_write_size_disks": int(d["warnings"].astype(str).str.contains(UNKNOWN_WRITE_SIZE,
                                                                                  regex=False).sum())
            if "warnings" in d.columns else 0,
            "measured_peak_churn_mibps": kibps_to_mibps(float(series.max())) if series.size else 0.0,
            "needs_telemetry": None if series.size else NEEDS_TELEMETRY,
            "planned_churn_label": planned_label(config)}


def _premium_disks(disks: pd.DataFrame) -> int:
    """Included disks whose target is a premium tier."""
    return int((disks.loc[~disks["excluded"], "target_tier"] != "Standard").sum())

