"""The forecast in the reports: the estate's daily churn ahead with its bands and the bandwidth each RPO will
need, as an HTML report section and a workbook sheet (each called from one line in html.py and excel.py)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from churnplan.analytics import queue
from churnplan.analytics.forecast import scope as fc
from churnplan.analytics.forecast.series import regular_times, whole_days
from churnplan.analytics.model import Plan

HORIZON_DAYS = 30
MIN_DAYS = 7               # fewer whole days learned and the reports show no forecast
REPORT_TRACES = 60
REPORT_GOALS = (100.0, 95.0)
SHEET = "Forecast"


_Memo = dict[tuple[str, float, int, int], fc.ScopeForecast | None]
_MEMO: dict[int, tuple[weakref.ref[Plan], _Memo]] = {}


def estate_forecast(plan: Plan, tz: str = "UTC", horizon_days: float = HORIZON_DAYS,
                    n_traces: int = REPORT_TRACES, seed: int = 0) -> fc.ScopeForecast | None:
    """Forecast of the plan's estate series (all VMs, included disks); None with under MIN_DAYS whole days.
    Made once per plan and settings while the plan lives: the workbook and the HTML report share it."""
    key = (tz, float(horizon_days), int(n_traces), int(seed))
    ref, memo = _MEMO.get(id(plan), (None, {}))
    if ref is None or ref() is not plan:
        plan_id = id(plan)
        memo = {}
        _MEMO[plan_id] = (weakref.ref(plan, lambda _: _MEMO.pop(plan_id, None)), memo)
    if key not in memo:
        memo[key] = _estate_forecast(plan, *key)
    return memo[key]


def _estate_forecast(plan: Plan, tz: str, horizon_days: float, n_traces: int, seed: int) -> fc.ScopeForecast | None:
    """estate_forecast, made."""
    series = plan.estate_series
    if series.empty:
        return None
    interval = float(plan.summary.interval_s or 300.0)
    s = regular_times(queue.to_epoch(series["ts"]), interval,
                      series["write_kibps"].fillna(0.0).to_numpy() * 1024.0 * interval, tz)
    if whole_days(s).day.size < MIN_DAYS:
        return None
    return fc.forecast_series(s, "estate", horizon_days, goals=REPORT_GOALS, n_traces=n_traces, seed=seed,
                              goal_traces=16)


def chart(forecast: fc.ScopeForecast) -> go.Figure:
    """Measured GiB/day, then the forecast median with its 80 % and 95 % bands."""
    d, h = forecast.daily, forecast.history
    fig = go.Figure()
    x = list(d["date"]) + list(d["date"])[::-1]
    fig.add_trace(go.Scatter(x=x, y=list(d["upper_95"]) + list(d["lower_95"])[::-1], fill="toself",
                             fillcolor="rgba(31,119,180,0.12)", line=dict(width=0), name="95 % interval"))
    fig.add_trace(go.Scatter(x=x, y=list(d["upper_80"]) + list(d["lower_80"])[::-1], fill="toself",
                             fillcolor="rgba(31,119,180,0.25)", line=dict(width=0), name="80 % interval"))
    fig.add_trace(go.Scatter(x=d["date"], y=d["median"], name="forecast (median)", line=dict(color="#1f77b4")))
    fig.add_trace(go.Scatter(x=h["date"], y=h["gib"], name="measured", line=dict(color="#333333")))
    fig.update_layout(title="Estate churn per day: measured and forecast", yaxis_title="GiB/day",
                      margin=dict(l=50, r=20, t=50, b=40), template="plotly_white", height=360)
    return fig


def bandwidth_table(forecast: fc.ScopeForecast) -> pd.DataFrame:
    """Required Mbps over the horizon per RPO and goal: median and upper bounds."""
    b = forecast.bandwidth
    return pd.DataFrame({"RPO (min)": b["rpo_min"], "Goal (% of the time)": b["compliance_goal_pct"],
                         "Median Mbps": b["median"], "P90 Mbps": b["p90"], "P95 Mbps": b["p95"]})


def churn_table(forecast: fc.ScopeForecast) -> pd.DataFrame:
    """Forecast GiB/day per date with its intervals."""
    d = forecast.daily
    return pd.DataFrame({"Date": d["date"].astype(str), "Median GiB/day": d["median"],
                         "80 % low": d["lower_80"], "80 % high": d["upper_80"], "95 % low": d["lower_95"],
                         "95 % high": d["upper_95"]})


def notes(forecast: fc.ScopeForecast, horizon_days: float = HORIZON_DAYS) -> list[str]:
    """What the forecast rests on, in plain words."""
    return [f"Learned from {len(forecast.history)} whole days: level, weekly and daily rhythm, trend and bursts; "
            f"{forecast.traces.bytes.shape[0]} simulated futures of {horizon_days:g} days run through the same "
            "queue model as the plan. P90/P95: bandwidth that meets the RPO goal in 90/95 % of those futures.",
            fc.UNSEEN_BURSTS,
            f"Growth: {forecast.growth.note()}."]


def html_sections(plan: Plan, tz: str) -> list[Any]:
    """The report's forecast section (html.Section), or a note when the history is too short."""
    from churnplan.export import html

    forecast = estate_forecast(plan, tz)
    if forecast is None:
        return [html.Section("Forecast", [f"A forecast needs at least {MIN_DAYS} whole days of samples."])]
    return [html.Section("Forecast", notes(forecast), [html._figure(chart(forecast))],
                         html.table(bandwidth_table(forecast)))]


def write_sheet(book: Any, plan: Plan, fmt: Any, tz: str = "UTC") -> None:
    """A 'Forecast' sheet (bandwidth per RPO and goal, then GiB/day ahead) when the history allows one."""
    from churnplan.export import excel

    forecast = estate_forecast(plan, tz)
    if forecast is None:
        return
    ws = book.add_worksheet(SHEET)
    ws.write_string(0, 0, "Forecast: required bandwidth over the next "
                          f"{HORIZON_DAYS} days and churn per day", fmt.title)
    for i, note in enumerate(notes(forecast)):
        ws.write_string(1 + i, 0, note, fmt.note)
    header = 4
    last = excel._write_table(ws, bandwidth_table(forecast).astype({"RPO (min)": float}), header, fmt)
    ws.freeze_panes(header + 1, 0)
    ws.autofilter(header, 0, max(last, header), 4)
    ws.write_string(last + 2, 0, "Churn per day ahead", fmt.title)
    excel._write_table(ws, churn_table(forecast).replace([np.inf, -np.inf], np.nan), last + 3, fmt)
