"""The plan's frames shaped for people: the workbook's sheets and the HTML report's tables share these.

Pure reshaping of what the planning engine produced (no planning here): picks, orders and labels
columns, pivots the bandwidth table the way the ASR Deployment Planner shows it, moves times to a local zone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics.model import Plan
from churnplan.analytics.vocabulary import Scope, protected
from churnplan.export import buy

UNITS_NOTE = "Churn in KiB/s or MiB/s and sizes in GiB (1024-based); link rates in Mbps (10^6 bit/s)."

_UNITS = {  # the unit suffixes of column names (churnplan.core.units); store names (_gb, _kbps) are 1024-based too
    "mbps": "Mbps", "min": "min", "pct": "%", "iops": "IOPS", "hours": "h", "s": "s", "utc": "UTC",
    "kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB", "kibps": "KiB/s", "mibps": "MiB/s",
    "kb": "KiB", "mb": "MiB", "gb": "GiB", "tb": "TiB", "kbps": "KiB/s", "mbs": "MiB/s",
}
_LABELS = {
    "required_mbps_100pct": "Bandwidth for RPO met 100 % of the time (Mbps)",
    "required_mbps_90pct": "Bandwidth for RPO met 90 % of the time (Mbps)",
    "planned_mbps": "Planned bandwidth (Mbps)", "compatible_with_premium_vms": "Compatible VMs needing premium (Yes*)",
    "ir_hours": "Initial replication (h)", "ir_batches": "Initial replication batches",
    "avg_disk_size_gib": "Average disk size (GiB)", "compliance_pct": "Time within RPO (%)",
    "max_lag_min": "Worst lag (min)", "estate_peak_churn_mibps": "Estate peak churn (MiB/s)",
    "typical_churn_gib_day": "Typical churn (GiB/day)", "violations_min": "RPO violations (min)",
    "peak_churn_mibps": "Peak churn (MiB/s)", "num_cpu": "vCPUs", "first_ts": "First sample",
    "last_ts": "Last sample",
}
_WORDS = {"vm": "VM", "vms": "VMs", "id": "ID", "os": "OS", "rpo": "RPO", "ir": "IR", "cpu": "CPU",
          "ram": "RAM", "ps": "PS", "asr": "ASR", "uuid": "UUID", "nics": "NICs", "vcpu": "vCPU", "vcenter": "vCenter",
          "iops": "IOPS", "io": "I/O", "rw": "read+write"}


def label(column: Any) -> str:
    """A readable header for a snake_case column: 'required_mbps' -> 'Required (Mbps)'."""
    text = str(column)
    if text in _LABELS:
        return _LABELS[text]
    if not text or text != text.lower():
        return text  # already written for people
    parts = text.split("_")
    unit = None
    if len(parts) > 3 and parts[-2] == "per" and parts[-3] in _UNITS:  # churn_gb_per_day
        unit, parts = f"{_UNITS[parts[-3]]}/{parts[-1]}", parts[:-3]
    elif len(parts) > 2 and parts[-1] in ("day", "month", "h") and parts[-2] in _UNITS:  # churn_gib_day
        unit, parts = f"{_UNITS[parts[-2]]}/{parts[-1]}", parts[:-2]
    elif len(parts) > 1 and parts[-1] in _UNITS:
        unit, parts = _UNITS[parts[-1]], parts[:-1]
    words = [_WORDS.get(p, p) for p in parts]
    if words and words[0] == parts[0]:
        words[0] = words[0][:1].upper() + words[0][1:]
    head = " ".join(words)
    return f"{head} ({unit})" if unit else head


def is_missing(value: Any) -> bool:
    """An empty cell: None, NaN, NaT or pd.NA (written as nothing in the workbook and the report)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def localise(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """tz-aware datetime columns as naive wall-clock times in `tz` (Excel and HTML cannot hold zones)."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert(tz).dt.tz_localize(None)
    return out


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding lists or dicts (e.g. several reasons) as readable text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(_cell)
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return value


@dataclass
class SheetTable:
    """One sheet: a title and notes above a main table, optional extra tables below, optional chart."""

    frame: pd.DataFrame
    title: str = ""
    notes: tuple[str, ...] = ()
    extra: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    freeze_cols: int = 0
    chart: tuple[str, tuple[str, ...]] | None = None
    chart_title: str = ""
    chart_rows: int | None = None     # chart only the first rows (the estate's), default all


def summary_table(plan: Plan) -> pd.DataFrame:
    """The plan's headline figures and settings as item/value rows."""
    rows = [(label(k), _summary_value(v)) for k, v in plan.summary.figures()]
    cfg = plan.config
    rows += [("Desired RPO (min)", cfg.rpo_min), ("Churn percentile", cfg.percentile),
             ("Growth factor (%)", cfg.growth_pct),
             ("Available bandwidth (Mbps)", cfg.bandwidth_mbps if cfg.bandwidth_mbps is not None else "not given"),
             ("Compression (bytes sent per byte written)", cfg.compression),
             ("Excluded disks (globs)", ", ".join(cfg.exclude_disks) or "none"),
             ("vCenters planned", ", ".join(cfg.vcenters) + " only" if cfg.vcenters else "all in the store"),
             ("Architecture", cfg.architecture), ("Initial replication goal (h)", cfg.ir_goal_hours)]
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": object})


def _summary_value(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return value


def recommendations(plan: Plan) -> pd.DataFrame:
    """Required bandwidth per scope and RPO target (rows) for each compliance goal (columns)."""
    bw = plan.bandwidth.frame
    if bw.empty:
        return pd.DataFrame(columns=["scope", "rpo_min"])
    wide = bw.pivot_table(index=["scope", "rpo_min"], columns="compliance_goal_pct", values="required_mbps",
                          aggfunc="first", sort=False)
    wide = wide[sorted(wide.columns, reverse=True)]
    wide.columns = [f"Mbps for RPO met {g:g} % of the time" for g in wide.columns]
    return wide.reset_index()


def workbook_tables(plan: Plan, tz: str) -> dict[str, SheetTable]:
    """Each workbook sheet's tables, notes and chart, by sheet name (times in `tz`)."""
    vms = plain(localise(plan.vms, tz))
    disks = plain(localise(plan.disks, tz))
    ok = protected(plan.vms).to_numpy()
    daily = localise(plan.daily_lag, tz)
    cfg = plan.config
    what_if_note = what_if_caption(plan)
    estate_days = int((daily["scope"] == Scope.ESTATE).sum()) if "scope" in daily else None
    rpo_table = localise(plan.rpo, tz)
    return {
        "What to buy": SheetTable(buy.frame(buy.what_to_buy(plan)), "What to buy",
                                  ("Read top to bottom: what to order and configure, and what it covers.",),
                                  extra=[("Units and assumptions", buy.frame(buy.assumptions(plan, tz)))]),
        "On-premises summary": SheetTable(summary_table(plan), "On-premises summary",
                                          (f"Times in {tz}. {UNITS_NOTE}",)),
        "Recommendations": SheetTable(
            recommendations(plan), "Required bandwidth",
            (f"Churn at the {cfg.percentile:g}th percentile with {cfg.growth_pct:g} % growth.",),
            extra=[("Achieved RPO at the available bandwidth", rpo_table)] if not rpo_table.empty else []),
        "What-if": SheetTable(daily, "RPO what-if: peak lag and violations per day", (what_if_note,),
                              chart=_daily_chart(daily), chart_title="Estate RPO violation minutes per day",
                              chart_rows=estate_days),
        "VM-disk placement": SheetTable(disks, "Target disk per source disk", freeze_cols=2),
        "Compatible VMs": SheetTable(vms[ok].reset_index(drop=True), "Compatible VMs",
                                     ("Yes* = the disk's workload needs a larger premium tier than its size gives.",),
                                     freeze_cols=2),
        "Incompatible VMs": SheetTable(vms[~ok].reset_index(drop=True), "Incompatible VMs", freeze_cols=2),
        "Process servers": SheetTable(plain(plan.process_servers), "Process servers"),
        "Initial replication": SheetTable(plain(plan.initial_replication), "Initial replication batches",
                                          (f"Goal: finish within {cfg.ir_goal_hours:g} h.",)),
        "Cost": SheetTable(plain(plan.cost), "Estimated monthly cost"),
        "Azure VM sizes": SheetTable(plain(plan.vm_sizes), "Azure VM size per protected VM",
                                     extra=[("vCPUs per family", plan.cores_by_family),
                                            ("Cache storage accounts", plain(plan.storage_accounts))]),
    }


def what_if_bandwidth(plan: Plan) -> float | None:
    """The bandwidth the plan's lag replay used: the one given, else the plan's own (100 %) figure."""
    return plan.config.bandwidth_mbps or plan.summary.planned_mbps


def what_if_caption(plan: Plan) -> str:
    """One sentence saying what link (bandwidth or throttle) and RPO the plan's lag replay used."""
    cfg = plan.config
    if cfg.throttle is not None:
        th = cfg.throttle
        days = ",".join(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d] for d in th.workdays)
        return (f"Replay of the measured churn with {cfg.growth_pct:g} % growth through a throttle of "
                f"{th.work_mbps:g} Mbps in work hours ({th.work_start:%H:%M}-{th.work_end:%H:%M} {days}, "
                f"{th.timezone}) and {th.offhours_mbps:g} Mbps off-hours, RPO {cfg.rpo_min:g} min.")
    mbps = what_if_bandwidth(plan)
    if not mbps:
        return "No lag replay in this plan."
    given = "" if cfg.bandwidth_mbps else " (no --bandwidth given: the bandwidth for RPO met 100 % of the time)"
    return (f"Replay of the measured churn with {cfg.growth_pct:g} % growth through {mbps:,.0f} Mbps{given} "
            f"at RPO {cfg.rpo_min:g} min.")


def _daily_chart(daily: pd.DataFrame) -> tuple[str, tuple[str, ...]] | None:
    if daily.empty or "date" not in daily:
        return None
    return ("date", ("violations_min",)) if "violations_min" in daily else None
