"""The self-contained HTML report: one file with Plotly inlined once, so it opens offline.

Rendered by jinja2 with autoescape on, so VM and disk names are always escaped.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from churnplan.analytics.model import Plan
from churnplan.analytics.vocabulary import protected
from churnplan import __version__
from churnplan.export import buy, charts, tables
from churnplan.export import forecast as forecast_export

TEMPLATE = "report.html.j2"
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("churnplan", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[dict[str, Any]]]


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    table: Table | None = None
    empty: str = "Nothing to show."


def table(frame: pd.DataFrame, limit: int | None = None) -> Table:
    """Rows of {text, num} cells; numbers formatted with thousands separators."""
    shown = frame if limit is None else frame.head(limit)
    rows = [[_cell(v) for v in record] for record in shown.itertuples(index=False, name=None)]
    return Table([tables.label(c) for c in frame.columns], rows)


def _cell(value: Any) -> dict[str, Any]:
    if tables.is_missing(value):
        return {"text": "", "num": False}
    if isinstance(value, (bool, np.bool_)):
        return {"text": "yes" if value else "no", "num": False}
    if isinstance(value, numbers.Integral):
        return {"text": f"{int(value):,}", "num": True}
    if isinstance(value, numbers.Real):
        value = float(value)
        return {"text": f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}", "num": True}
    if isinstance(value, pd.Timestamp):
        return {"text": value.strftime("%Y-%m-%d %H:%M"), "num": False}
    return {"text": str(value), "num": False}


def _figure(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


VM_COLUMNS = ("name", "compatibility", "reasons", "notes", "process_server", "fair_share_compliance_pct",
              "fair_share_max_lag_min", "guest_os", "disks", "size_gib", "churn_gib_day", "peak_churn_mibps",
              "max_write_kibps", "peak_iops")
HEADLINES = ("vms", "disks", "days_profiled", "compatible_vms", "compatible_with_premium_vms", "incompatible_vms",
             "typical_churn_gib_day", "required_mbps_100pct", "required_mbps_90pct", "planned_mbps", "compliance_pct",
             "max_lag_min", "process_servers", "ir_hours", "monthly_cost")


def _figures(plan: Plan) -> list[dict[str, str]]:
    """Headline figures from the plan's summary (the On-premises summary and Recommendations essentials)."""
    out = []
    for key in HEADLINES:
        value = getattr(plan.summary, key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        text = _cell(value)["text"]
        if key == "monthly_cost" and plan.summary.currency:
            text = f"{text} {plan.summary.currency}"
        out.append({"label": tables.label(key), "value": text})
    return out


def _first_scope(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the frame's first scope (the estate's) when it holds several."""
    if "scope" in frame and not frame.empty:
        return frame[frame["scope"] == frame["scope"].iloc[0]]
    return frame


def sections(plan: Plan, tz: str) -> list[Section]:
    """The report's sections after the summary figures: charts, notes and tables, times in `tz`."""
    cfg = plan.config
    series = plan.estate_series
    result = [
        Section("Churn by hour and weekday",
                [f"Mean estate write churn in each local hour ({tz}). {tables.UNITS_NOTE}"],
                [_figure(charts.churn_heatmap(series, tz))]),
        Section("Estate churn over time", charts=[_figure(charts.churn_over_time(series, tz))]),
    ]
    lag = _first_scope(plan.lag_series)
    mbps = tables.what_if_bandwidth(plan)
    if not lag.empty:
        daily = _first_scope(plan.daily_lag)
        title = f"Replication lag at {mbps:,.0f} Mbps" if mbps and cfg.throttle is None else "Replication lag"
        result.append(Section(title, [tables.what_if_caption(plan)],
                              [_figure(charts.lag_over_time(lag, tz, cfg.rpo_min)),
                               _figure(charts.daily_peaks(daily, cfg.rpo_min))],
                              table(tables.localise(daily, tz))))
    else:
        result.append(Section("Replication lag", [tables.what_if_caption(plan)]))
    schedule = (plan.summary.planned_mbps, plan.summary.compliance_pct) if cfg.throttle is not None else None
    curve = [_figure(charts.compliance_curve(plan.compliance_curve, mbps, schedule=schedule))] \
        if not plan.compliance_curve.empty else []
    result.append(Section("Bandwidth and RPO compliance",
                          [f"Bandwidth needed to meet each RPO target for a share of the time "
                           f"(replay of the churn with {cfg.growth_pct:g} % growth; compatibility at "
                           f"p{cfg.percentile:g}). "
                           f"{(plan.summary.coverage or {}).get('statement', '')}."] + _throttle_notes(plan),
                          curve, table(tables.recommendations(plan))))
    vms = tables.plain(plan.vms)
    vms = vms[[c for c in VM_COLUMNS if c in vms.columns]]
    ok = protected(plan.vms).to_numpy()
    result += [
        Section("Process servers" if cfg.architecture == "classic" else "Replication appliances",
                table=table(tables.plain(plan.process_servers))),
        Section("Incompatible VMs", ["Every column is in the workbook and vms.csv."], table=table(vms[~ok]),
                empty="Every VM is compatible."),
        Section("Compatible VMs", ["Yes* = a disk's workload needs a larger premium tier than its size gives."],
                table=table(vms[ok]), empty="No VM is compatible."),
        Section("Target disks", ["One row per source disk: its target managed disk and tier, the reasons it blocks "
                                 "and what could not be checked."], table=table(tables.plain(_disk_targets(plan)))),
        Section("Azure VM sizes", [f"vCPUs per quota family: {plan.summary.azure_cores_by_family or {}}."],
                table=table(tables.plain(plan.vm_sizes)), empty="No protected VM."),
        Section("Initial replication", [_ir_note(plan)], table=table(tables.plain(plan.initial_replication))),
        Section("Estimated monthly cost", table=table(tables.plain(plan.cost))),
    ]
    result += forecast_export.html_sections(plan, tz)
    return result


DISK_TARGET_COLUMNS = ("vm_name", "instance", "label", "capacity_gib", "is_os_disk", "excluded", "churn_gib_day",
                       "avg_write_io_kib", "size_tier", "target_type", "target_tier", "reasons", "warnings")


def _disk_targets(plan: Plan) -> pd.DataFrame:
    return plan.disks[[c for c in DISK_TARGET_COLUMNS if c in plan.disks.columns]]


def _throttle_notes(plan: Plan) -> list[str]:
    """The work-hours rate each goal needs at the schedule's off-hours rate, and the schedule's own compliance."""
    s = plan.summary
    if plan.config.throttle is None:
        return []
    needed = ", ".join(f"{g} %: {'not reachable' if m is None else f'{m:,.0f} Mbps'}"
                       for g, m in (s.throttle_work_mbps_needed_by_goal_pct or {}).items())
    return [f"Work-hours rate needed per goal: {needed}.",
            f"The schedule itself meets the RPO {s.compliance_pct:.1f} % of the time (the diamond), although its "
            f"weekly average is {s.planned_mbps:,.0f} Mbps."]


def _ir_note(plan: Plan) -> str:
    s = plan.summary
    if s.seed_gib is None:
        return "Initial replication unknown: replicated disk sizes are unknown."
    state = "met" if s.ir_goal_met else "MISSED"
    return (f"Goal {s.ir_goal_hours or 0:g} h: {state}. {s.ir_mbps_for_goal or 0:,.0f} Mbps seeds everything within "
            f"the goal beside delta replication. Compression {plan.config.compression:g} applies to the seed.")


def render_report(plan: Plan, tz: str = "UTC", store_path: str | Path | None = None,
                  title: str | None = None) -> str:
    """The report as one HTML string; the title names the vCenters planned when --vcenter chose some."""
    title = title or (Path(store_path).name if store_path else "churnplan store")
    if plan.config.vcenters:
        title += f" · vCenter {', '.join(plan.config.vcenters)} only"
    return _ENV.get_template(TEMPLATE).render(
        title=title,
        generated=datetime.now(UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
        tz=tz, version=__version__, plotly_js=get_plotlyjs(), figures=_figures(plan), sections=sections(plan, tz),
        buy=buy.what_to_buy(plan), assumptions=buy.assumptions(plan, tz))


def write_report(plan: Plan, path: str | Path, tz: str = "UTC", store_path: str | Path | None = None) -> Path:
    """The report written to `path` as UTF-8; returns the path."""
    path = Path(path)
    path.write_text(render_report(plan, tz, store_path), encoding="utf-8")
    return path
