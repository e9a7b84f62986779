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
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.facts import FACTS_VERSION, STORAGE_ACCOUNT_IOPS
from churnplan.analytics.rpo import PreparedChurn, WhatIf
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.stages.bandwidth_table import BandwidthTable
from churnplan.analytics.stages.seeding import Seeding
from churnplan.analytics.vocabulary import Compatibility, ServerRole, protected
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
    return str(d.loc[d["peak_lag_min"].idxmax(), "date"]), float(d["peak_lag_min"].max()), \
        int((d["violations_min"] > 0).sum())


def summarise(config: PlanConfig, timezone: str, times: np.ndarray, estate_churn: PreparedChurn,
              assignment: Assignment, table: BandwidthTable, planned_mbps: float, estate: WhatIf,
              throttle_needed: dict[str, float | None] | None, seeding: Seeding) -> PlanSummary:
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
        configuration_servers=int((servers["role"] == ServerRole.CONFIGURATION_SERVER).sum()) if len(servers) else 0,
        process_servers=int(len(servers)), premium_disks=_premium_disks(d),
        storage_accounts=max(1, math.ceil(float(v.loc[protect, "peak_iops"].sum()) / STORAGE_ACCOUNT_IOPS)),
        azure_cores=int(v.loc[protect, "num_cpu"].fillna(0).sum()) if "num_cpu" in v.columns else 0,
        ir_hours=seeding.ir_hours, ir_batches=int(len(seeding.initial_replication)),
        monthly_cost=float(seeding.cost["monthly"].sum()), currency=str(seeding.prices["currency"]),
        prices_date=str(seeding.prices["date"]))


def _premium_disks(disks: pd.DataFrame) -> int:
    """Included disks whose target is a premium tier."""
    return int((disks.loc[~disks["excluded"], "target_tier"] != "Standard").sum())

