"""Plotly figures shared by the HTML report and the dashboard, and the wall-clock times they display.

Inputs are the plan's frames (ts tz-aware UTC, churn in write_kibps); figures show local time. Churn is
shown in MiB/s (1024-based), bandwidth in Mbps (10^6 bit/s), as churnplan.core.units defines them.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from churnplan.analytics.vocabulary import Scope
from churnplan.core.units import kibps_to_mibps, mib_to_gib

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LAYOUT = dict(margin=dict(l=50, r=20, t=50, b=40), template="plotly_white", height=360)


def to_local(ts: pd.Series, tz: str) -> pd.Series:
    """UTC (tz-aware or naive-UTC) timestamps as wall-clock times in `tz`, without the zone attached."""
    ts = pd.to_datetime(ts, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None)


def churn_heatmap_frame(series: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Mean write MiB/s by weekday (rows Mon..Sun) and local hour (columns 0..23) from ts/write_kibps."""
    local = pd.to_datetime(series["ts"], utc=True).dt.tz_convert(tz)
    grid = (series.assign(weekday=local.dt.day_of_week.to_numpy(), hour=local.dt.hour.to_numpy(),
                          mibps=kibps_to_mibps(series["write_kibps"].to_numpy()))
            .pivot_table(index="weekday", columns="hour", values="mibps", aggfunc="mean"))
    return grid.reindex(index=range(7), columns=range(24))


def churn_heatmap(series: pd.DataFrame, tz: str, title: str = "Estate churn by hour and weekday") -> go.Figure:
    """The weekly rhythm: mean write MiB/s in each local hour of each weekday (see churn_heatmap_frame)."""
    grid = churn_heatmap_frame(series, tz)
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=list(range(24)), y=list(WEEKDAYS),
                               colorscale="YlOrRd", colorbar=dict(title="MiB/s"),
                               hovertemplate="%{y} %{x}:00<br>%{z:.1f} MiB/s<extra></extra>"))
    fig.update_layout(title=f"{title} ({tz})", xaxis_title="hour of day", **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return fig


def churn_over_time(series: pd.DataFrame, tz: str, title: str = "Estate write churn") -> go.Figure:
    """Write MiB/s against local time from a ts/write_kibps frame."""
    fig = go.Figure(go.Scattergl(x=to_local(series["ts"], tz), y=kibps_to_mibps(series["write_kibps"]),
                                 mode="lines", name="write MiB/s", line=dict(width=1)))
    fig.update_layout(title=title, xaxis_title=f"local time ({tz})", yaxis_title="MiB/s", **_LAYOUT)
    return fig


def lag_over_time(lag: pd.DataFrame, tz: str, rpo_min: float, title: str = "Replication lag") -> go.Figure:
    """Lag (and backlog on a second axis) from a ts/lag_min[/backlog_mib] frame, with the RPO target line."""
    x = to_local(lag["ts"], tz)
    fig = go.Figure(go.Scattergl(x=x, y=lag["lag_min"], mode="lines", name="lag (min)", line=dict(width=1)))
    if "backlog_mib" in lag:
        fig.add_trace(go.Scattergl(x=x, y=mib_to_gib(lag["backlog_mib"]), mode="lines", name="backlog (GiB)",
                                   yaxis="y2", line=dict(width=1, dash="dot")))
        fig.update_layout(yaxis2=dict(title="backlog GiB", overlaying="y", side="right", showgrid=False))
    fig.add_hline(y=rpo_min, line_dash="dash", line_color="red", annotation_text=f"RPO {rpo_min:g} min")
    fig.update_layout(title=title, xaxis_title=f"local time ({tz})", yaxis_title="lag (min)",
                      legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig


def compliance_curve(curve: pd.DataFrame, chosen_mbps: float | None = None,
                     title: str = "RPO compliance by bandwidth") -> go.Figure:
    """Compliance % against bandwidth from bandwidth_mbps/compliance_pct (one line per scope if present)."""
    fig = go.Figure()
    groups = curve.groupby("scope", sort=False) if "scope" in curve else [(Scope.ESTATE.value, curve)]
    for scope, part in groups:
        part = part.sort_values("bandwidth_mbps")
        fig.add_trace(go.Scatter(x=part["bandwidth_mbps"], y=part["compliance_pct"], mode="lines+markers",
                                 name=str(scope)))
    if chosen_mbps:
        fig.add_vline(x=chosen_mbps, line_dash="dash", line_color="gray",
                      annotation_text=f"{chosen_mbps:g} Mbps")
    fig.update_layout(title=title, xaxis_title="bandwidth (Mbps)", yaxis_title="time within RPO (%)",
                      yaxis_range=[0, 101], **_LAYOUT)
    return fig


def daily_peaks(daily: pd.DataFrame, rpo_min: float, title: str = "Peak lag and RPO violations per day") -> go.Figure:
    """Bars of violation minutes and a line of peak lag per day from date/peak_lag_min/violations_min."""
    fig = go.Figure(go.Bar(x=daily["date"], y=daily["violations_min"], name="violation minutes"))
    fig.add_trace(go.Scatter(x=daily["date"], y=daily["peak_lag_min"], name="peak lag (min)", yaxis="y2",
                             mode="lines+markers"))
    fig.update_layout(title=title, yaxis=dict(title="minutes over RPO", rangemode="tozero"),
                      yaxis2=dict(title="peak lag (min)", overlaying="y", side="right", showgrid=False,
                                  rangemode="tozero"),
                      legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig
