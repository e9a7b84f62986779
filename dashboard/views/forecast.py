"""Forecast: the churn, bandwidth and compliance ahead, learned from the measured past (analytics.forecast)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from churnplan.analytics import rpo
from churnplan.analytics.forecast import scope as fc
from churnplan.analytics.forecast.series import regular
from churnplan.dashboard import context, data, display
from churnplan.export import forecast as forecast_export

TRACES = 60


@st.cache_resource(show_spinner="Learning and simulating the horizon…", max_entries=8)
def _forecast(db: str, tz: str, config_key: str, scope: str, horizon_days: int, _prepared,
              version: tuple[float, int] | None = None) -> fc.ScopeForecast:
    """One scope's forecast (goal 100 % and 95 %), cached per store version, zone, settings, scope and horizon."""
    series = regular(_prepared, _prepared.columns(scope))
    return fc.forecast_series(series, scope, horizon_days, goals=(100.0, 95.0), n_traces=TRACES, goal_traces=16)


ctx = context.current()
st.title("Forecast")
plan = ctx.plan()
prepared = data.prepared(ctx.db, ctx.tz, ctx.config_key, plan, ctx.version)
st.caption("Learned from the measured churn of the plan's protected VMs: level, weekly and daily rhythm, trend "
           f"and bursts. {TRACES} simulated futures run through the same queue model as the plan; bands are "
           "80 % and 95 % intervals, P90 the bandwidth enough in 90 % of the futures. " + fc.UNSEEN_BURSTS)
left, right = st.columns(2)
scope = left.selectbox("Scope", [rpo.ESTATE] + prepared.scopes(), key="fc_scope")
horizon = right.select_slider("Horizon (days)", [7, 14, 30, 60, 90], value=30, key="fc_horizon")
forecast = _forecast(ctx.db, ctx.tz, ctx.config_key, scope, int(horizon), prepared, ctx.version)
if len(forecast.history) < forecast_export.MIN_DAYS:
    st.warning(f"A forecast needs at least {forecast_export.MIN_DAYS} whole days of samples; "
               f"the store holds {len(forecast.history)}.")
    st.stop()

g = forecast.growth
m = st.columns(3)
m[0].metric("Growth per month", f"{g.pct_per_month:+.1f} %", help=g.note())
m[1].metric("Growth interval (95 %)", f"{g.lo_pct:+.1f} .. {g.hi_pct:+.1f} %")
m[2].metric("Days learned", f"{g.days}")
st.plotly_chart(forecast_export.chart(forecast))

st.subheader("Required bandwidth across the horizon")
rpo_min = st.select_slider("RPO (min)", list(fc.RPOS_MIN), value=15.0, key="fc_rpo")
per_day = fc.daily_need(forecast, rpo_min)
fig = go.Figure([go.Scatter(x=per_day["date"], y=per_day["p95"], name="P95", line=dict(dash="dot")),
                 go.Scatter(x=per_day["date"], y=per_day["upper_80"], name="P90"),
                 go.Scatter(x=per_day["date"], y=per_day["median"], name="median")])
fig.update_layout(title=f"Mbps to keep RPO {rpo_min:g} min all day", yaxis_title="Mbps", template="plotly_white",
                  height=320, margin=dict(l=50, r=20, t=50, b=40))
st.plotly_chart(fig)
bw = forecast.bandwidth[forecast.bandwidth["rpo_min"] == rpo_min]
display.table(bw.rename(columns={"lower_80": "lower_80_mbps", "median": "median_mbps", "upper_80": "upper_80_mbps",
                                 "p90": "p90_mbps", "p95": "p95_mbps"}))

st.subheader("What-if on a future date")
dates = list(forecast.daily["date"])
a, b = st.columns(2)
day = a.selectbox("Date", dates, index=min(len(dates) - 1, 6), key="fc_day")
top = max(1, int(float(bw["p95"].max()) * 1.5) + 1)
mbps = b.slider("Bandwidth (Mbps)", 1, top, max(1, int(float(bw["median"].iloc[0]))), key="fc_mbps")
outcome = fc.compliance_on(forecast, pd.Timestamp(day), rpo_min, float(mbps), n=16)
st.metric(f"Expected time within RPO on {day}", f"{outcome['median']:.2f} %",
          help=f"80 % interval {outcome['lower_80']:.2f} – {outcome['upper_80']:.2f} %")
st.caption(f"80 % interval: {outcome['lower_80']:.2f} – {outcome['upper_80']:.2f} % of the day within RPO "
           f"{rpo_min:g} min at {mbps} Mbps.")
