"""RPO what-if: replay the measured churn through a link of a chosen size and see lag, backlog and misses."""

from __future__ import annotations

import math
from datetime import time

import streamlit as st

from churnplan.analytics import rpo
from churnplan.analytics.model import ThrottleSchedule
from churnplan.core.units import STORE_COLUMNS_IN_UNITS, kibps_to_mbps, mib_to_gib
from churnplan.export import charts
from churnplan.dashboard import context, data, display

RPO_CHOICES = (5, 10, 15, 30, 60, 120, 240)
ctx = context.current()
st.title("RPO what-if")
info = data.overview(ctx.db, ctx.version)
if info["default_interval"] is None:
    st.warning("The store holds no samples yet.")
    st.stop()
series = data.estate_series(ctx.db, info["default_interval"], ctx.version).rename(columns=STORE_COLUMNS_IN_UNITS)
plan = ctx.plan()
prepared = data.prepared(ctx.db, ctx.tz, ctx.config_key, plan, ctx.version)
needed = plan.summary.required_mbps_100pct
peak_mbps = float(kibps_to_mbps(series["write_kibps"].max()))
top = max(10, int(math.ceil(max(peak_mbps, needed) * 1.5 / 10) * 10))
st.caption(f"The measured churn of the plan's protected VMs (included disks) replayed through a link of your "
           f"choosing. The plan needs {needed:,.0f} Mbps to meet RPO {ctx.config.rpo_min:g} min all of the time "
           f"with {ctx.config.growth_pct:g} % growth. Daily figures use the display time zone.")

left, right = st.columns(2)
with left:
    bandwidth = st.slider("Bandwidth (Mbps)", 1, top, min(top, max(1, int(math.ceil(needed)))),
                          key="wi_bandwidth", disabled=bool(st.session_state.get("wi_throttle")),
                          help="Link capacity available to replication (a throttle schedule replaces it).")
    rpo_min = st.select_slider("RPO target (min)", RPO_CHOICES, key="wi_rpo", help="Defaults to the plan's RPO.",
                               value=min(RPO_CHOICES, key=lambda m: abs(m - ctx.config.rpo_min)))
    scope = st.selectbox("Scope", [rpo.ESTATE] + prepared.scopes(), key="wi_scope",
                         help="The whole estate on one link, or the VMs of one process server.")
with right:
    growth = st.slider("Churn growth (%)", 0, 200, min(200, int(round(ctx.config.growth_pct))), key="wi_growth",
                       help="Defaults to the plan's growth factor.")
    compression = st.slider("Bytes sent per byte written", 0.2, 1.0, 1.0, step=0.05, key="wi_compression",
                            help="1.0 = no compression; 0.5 halves the traffic.")
    throttled = st.toggle("Throttle schedule (work / off-hours)", key="wi_throttle")

throttle = None
if throttled:
    a, b, c = st.columns(3)
    work_mbps = a.slider("Work-hours Mbps", 1, top, max(1, bandwidth // 2), key="wi_work_mbps")
    off_mbps = b.slider("Off-hours Mbps", 1, top, bandwidth, key="wi_off_mbps")
    hours = c.slider("Work hours (local)", 0, 23, (9, 18), key="wi_hours")
    throttle = ThrottleSchedule(work_start=time(hours[0]), work_end=time(hours[1]),
                                work_mbps=float(work_mbps), offhours_mbps=float(off_mbps), timezone=ctx.tz)

result = rpo.what_if(prepared, bandwidth_mbps=float(bandwidth), throttle=throttle, rpo_min=float(rpo_min),
                     growth_pct=float(growth), compression=float(compression), scope=scope)

m = st.columns(4)
m[0].metric("Time within RPO", f"{result.compliance_pct:.2f} %")
m[1].metric("Worst lag", f"{result.max_lag_min:,.1f} min")
m[2].metric("Peak backlog", f"{mib_to_gib(result.max_backlog_mib):,.2f} GiB")
m[3].metric("Days with violations", f"{int((result.daily['violations_min'] > 0).sum())} / {len(result.daily)}")

st.plotly_chart(charts.lag_over_time(result.lag, ctx.tz, float(rpo_min), "Lag and backlog over time"))
st.plotly_chart(charts.daily_peaks(result.daily, float(rpo_min)))
st.subheader("VMs missing the RPO")
st.caption("Each VM's share when the VMs in scope share the link equally.")
misses = result.vm_misses[result.vm_misses["compliance_pct"] < 100.0]
if misses.empty:
    st.success("Every VM stays within the RPO at this bandwidth.")
else:
    display.table(misses.sort_values("compliance_pct"))
