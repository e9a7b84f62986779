"""Estate overview: what the store holds, estate churn over time and by hour of the week, and what to buy.

Everything but "What to buy" comes from cheap store aggregates and is drawn first; the plan behind "What to
buy" (the one expensive read, cached per store version and settings) fills its place at the top last."""

from __future__ import annotations

import streamlit as st

from churnplan.core.units import GIB_PER_TIB, SECONDS_PER_DAY, STORE_COLUMNS_IN_UNITS, gib_to_tib, kibps_to_gib_day
from churnplan.export import buy, charts
from churnplan.dashboard import context, data, display

ctx = context.current()
st.title("Estate overview")
info = data.overview(ctx.db, ctx.version)
counts = info["counts"]
if counts.samples == 0:
    st.warning("The store holds no samples yet. Run `churnplan collect` or `churnplan demo`.")
    st.stop()

vms, disks = (frame.rename(columns=STORE_COLUMNS_IN_UNITS) for frame in data.inventory(ctx.db, ctx.version))
if ctx.vcenters:   # every figure of the page is of the chosen vCenters
    vms, disks = (frame[frame["vcenter"].isin(ctx.vcenters)] for frame in (vms, disks))
    st.caption(f"The VMs of {', '.join(ctx.vcenters)} only (vCenters in the sidebar).")
interval = info["default_interval"]
series = data.estate_series(ctx.db, interval, ctx.version, ctx.vcenters).rename(columns=STORE_COLUMNS_IN_UNITS)
span_days = (series["ts"].max() - series["ts"].min()).total_seconds() / SECONDS_PER_DAY if len(series) else 0.0
churn_gib_day = kibps_to_gib_day(float(series["write_kibps"].mean()))

cols = st.columns(5)
cols[0].metric("VMs", f"{len(vms):,}")
cols[1].metric("Disks", f"{len(disks):,}")
cols[2].metric("Provisioned", f"{gib_to_tib(disks['capacity_gib'].sum()):,.1f} TiB")
cols[3].metric("Days profiled", f"{span_days:,.1f}")
cols[4].metric("Churn per day", f"{gib_to_tib(churn_gib_day):,.2f} TiB" if churn_gib_day >= GIB_PER_TIB
               else f"{churn_gib_day:,.0f} GiB", help="Mean write churn per day over the whole estate")

st.subheader("What to buy")
st.caption("The plan under the sidebar's settings on one page: read it top to bottom (see README, "
           "'Reading the What to buy page').")
what_to_buy = st.container()   # filled last: the figures below need no plan

st.plotly_chart(charts.churn_over_time(series, ctx.tz, f"Estate write churn ({interval} s samples)"))
st.plotly_chart(charts.churn_heatmap(series, ctx.tz))

st.subheader("Virtual machines")
per_vm = disks.groupby(["vcenter", "vm_id"]).agg(disks=("instance", "size"), capacity_gib=("capacity_gib", "sum"))
table = vms.merge(per_vm, on=["vcenter", "vm_id"], how="left")
display.table(table[["name", "vcenter", "cluster", "host", "guest_os", "firmware", "num_cpu", "memory_mib", "disks",
                      "capacity_gib", "power_state"]])

st.subheader("Sampling")
display.table(info["intervals"], ctx.tz)
if not info["runs"].empty:
    st.caption("Collection and import runs")
    display.table(info["runs"], ctx.tz)

with what_to_buy:
    plan = ctx.plan()
    st.table(buy.frame(buy.what_to_buy(plan)).set_index("what"))
    with st.expander("Units and assumptions"):
        st.table(buy.frame(buy.assumptions(plan, ctx.tz))[["what", "answer"]].set_index("what"))
