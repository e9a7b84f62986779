"""RPO what-if: replay the measured churn through a link of a chosen size and see lag, backlog and misses.

The sliders run the queue model on the churn summed per process server (data.scope_churn, read once), so a
move answers in well under a second on a large estate; the per-VM fair-share table needs every VM's series
and one queue per VM, so it is computed only when asked for (and kept for the same settings)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import time

import streamlit as st

from churnplan.analytics import outage, queue, rpo
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.model import ThrottleSchedule
from churnplan.core.units import STORE_COLUMNS_IN_UNITS, kibps_to_mbps, mib_to_gib
from churnplan.export import charts
from churnplan.dashboard import context, data, display

RPO_CHOICES = (5, 10, 15, 30, 60, 120, 240)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
GOALS_PCT = (100.0, 99.0, 95.0, 90.0)


def _hours(h: float) -> str:
    return f"{h:,.1f} h" if math.isfinite(h) else "not within the profile"


ctx = context.current()
st.title("RPO what-if")
info = data.overview(ctx.db, ctx.version)
if info["default_interval"] is None:
    st.warning("The store holds no samples yet.")
    st.stop()
series = data.estate_series(ctx.db, info["default_interval"], ctx.version).rename(columns=STORE_COLUMNS_IN_UNITS)
plan = ctx.plan()
prepared = data.scope_churn(ctx.db, ctx.tz, ctx.config_key, plan, ctx.version)
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
    outage_h = st.slider("Link outage to recover from (h)", 0, 24, 0, key="wi_outage",
                         help="0 = none. After this many hours without link: when is the lag back within the RPO, "
                              "and what cache does the backlog need?")

throttle = None
if throttled:
    a, b, c = st.columns(3)
    work_mbps = a.slider("Work-hours Mbps", 1, top, max(1, bandwidth // 2), key="wi_work_mbps")
    off_mbps = b.slider("Off-hours Mbps", 1, top, bandwidth, key="wi_off_mbps")
    hours = c.slider("Work hours (local)", 0, 23, (9, 18), key="wi_hours")
    days = st.multiselect("Workdays", WEEKDAYS, WEEKDAYS[:5], key="wi_workdays",
                          help="Days the work-hours rate applies; other days are off-hours all day.")
    throttle = ThrottleSchedule(work_start=time(hours[0]), work_end=time(hours[1]),
                                work_mbps=float(work_mbps), offhours_mbps=float(off_mbps), timezone=ctx.tz,
                                workdays=tuple(WEEKDAYS.index(d) for d in days))

asked = data.WhatIfAsk(float(bandwidth), throttle, float(rpo_min), float(growth), float(compression), scope)
result = rpo.what_if(prepared, bandwidth_mbps=asked.bandwidth_mbps, throttle=throttle, rpo_min=asked.rpo_min,
                     growth_pct=asked.growth_pct, compression=asked.compression, scope=scope, per_vm=False)

m = st.columns(4)
m[0].metric("Time within RPO", f"{result.compliance_pct:.2f} %")
m[1].metric("Worst lag", f"{result.max_lag_min:,.1f} min")
m[2].metric("Peak backlog", f"{mib_to_gib(result.max_backlog_mib):,.2f} GiB")
m[3].metric("Days with violations", f"{int((result.daily['violations_min'] > 0).sum())} / {len(result.daily)}")

if throttle is not None:
    goals = replace(ctx.config, throttle=throttle, rpo_min=float(rpo_min), growth_pct=float(growth),
                    compression=float(compression), compliance_goals_pct=GOALS_PCT)
    needed_by_goal = bw.throttle_needed(prepared.for_scope(scope), goals) or {}
    st.caption(f"This schedule meets the RPO {result.compliance_pct:.1f} % of the time. Work-hours rate needed at "
               f"{off_mbps} Mbps off hours: " + ", ".join(
                   f"{g} %: {'not reachable' if r is None else f'{r:,.0f} Mbps'}" for g, r in needed_by_goal.items()))
    cols = st.columns(len(needed_by_goal) or 1)
    for col, (g, rate) in zip(cols, needed_by_goal.items(), strict=False):
        col.metric(f"Work-hours Mbps for {g} %", "not reachable" if rate is None else f"{rate:,.0f}")

if outage_h:
    capacity = queue.Capacity(None if throttle is not None else float(bandwidth), throttle)
    try:
        run = outage.catch_up(prepared, float(outage_h), capacity, float(rpo_min), float(growth), float(compression),
                              scope, step_h=max(1.0, float(outage_h)))
        o = st.columns(3)
        o[0].metric("Back within RPO (worst start)", _hours(run.worst.catchup_h))
        o[1].metric("Back within RPO (typical start)", _hours(run.typical.catchup_h))
        o[2].metric("Cache for the backlog", f"{run.cache_gib:,.1f} GiB")
    except ValueError as exc:
        st.warning(str(exc))

st.plotly_chart(charts.lag_over_time(result.lag, ctx.tz, float(rpo_min), "Lag and backlog over time"))
st.plotly_chart(charts.daily_peaks(result.daily, float(rpo_min)))
st.subheader("VMs missing the RPO")
st.caption("Each VM's share when the VMs in scope share the link equally: one queue per VM over every VM's "
           "series, so it is computed on request (a second or two per hundred VMs) and kept for these settings.")
in_scope = data.replicated(plan)
vm_count = len(in_scope) if scope == rpo.ESTATE else int((in_scope["process_server"].astype(str) == scope).sum())
if st.session_state.get("wi_per_vm_for") != asked.key():
    if not st.button(f"Compute the per-VM table ({vm_count:,} VMs in scope)", key="wi_per_vm",
                     icon=":material/table_view:"):
        st.stop()
    st.session_state["wi_per_vm_for"] = asked.key()
every_vm = data.prepared(ctx.db, ctx.tz, ctx.config_key, plan, ctx.version)
table = data.vm_misses(ctx.db, ctx.tz, ctx.config_key, asked.key(), every_vm, asked, ctx.version)
misses = table[table["compliance_pct"] < 100.0]
if misses.empty:
    st.success("Every VM stays within the RPO at this bandwidth.")
else:
    st.caption(f"{len(misses):,} of {len(table):,} VMs miss the RPO some of the time.")
    display.table(misses.sort_values("compliance_pct"))
