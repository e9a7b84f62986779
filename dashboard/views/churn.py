"""Churn explorer: top churning disks, and one VM's per-disk series and weekly rhythm."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from churnplan.core.units import STORE_COLUMNS_IN_UNITS
from churnplan.export import charts, tables
from churnplan.dashboard import context, data, display

ctx = context.current()
st.title("Churn explorer")
info = data.overview(ctx.db, ctx.version)
intervals = [int(i) for i in info["intervals"]["interval_s"]]
if not intervals:
    st.warning("The store holds no samples yet.")
    st.stop()
interval = st.selectbox("Sample interval (s)", intervals, index=intervals.index(info["default_interval"]),
                        key="churn_interval")

st.subheader("Top churning disks")
limit = st.slider("How many", 5, 50, 15, key="churn_top_n")
top = data.top_churners(ctx.db, interval, limit, ctx.version)
top_chart = top.assign(disk=top["vm"] + " / " + top["instance"])
fig = px.bar(top_chart, x="mean_write_mibps", y="disk", orientation="h", hover_data=["label", "churn_gib_day"],
             labels={c: tables.label(c) for c in ("mean_write_mibps", "label", "churn_gib_day")} | {"disk": ""})
fig.update_layout(yaxis=dict(autorange="reversed", dtick=1), height=max(300, 24 * len(top)), template="plotly_white")
st.plotly_chart(fig)
display.table(top)

st.subheader("One VM")
vms, _ = data.inventory(ctx.db, ctx.version)
labels = vms["name"] + "  (" + vms["vcenter"] + " / " + vms["vm_id"] + ")"
first = f"{top['vm'].iloc[0]}  ({top['vcenter'].iloc[0]} / {top['vm_id'].iloc[0]})" if len(top) else None
default = labels.tolist().index(first) if first in labels.tolist() else 0
choice = st.selectbox("VM", range(len(vms)), index=default, format_func=lambda i: labels.iloc[i], key="churn_vm")
vm = vms.iloc[choice]
series = data.disk_series(ctx.db, vm["vcenter"], vm["vm_id"], interval, ctx.version).rename(
    columns=STORE_COLUMNS_IN_UNITS)
if series.empty:
    st.info("No samples for this VM at this interval.")
    st.stop()
metric = st.radio("Series", ["write_kibps", "read_kibps", "write_iops", "read_iops"], horizontal=True,
                  format_func=tables.label, key="churn_metric")
local = series.assign(ts=charts.to_local(series["ts"], ctx.tz))
fig = px.line(local, x="ts", y=metric, color="instance",
              labels={"ts": f"local time ({ctx.tz})", metric: tables.label(metric), "instance": "disk"})
fig.update_traces(line=dict(width=1))
fig.update_layout(template="plotly_white", height=380)
st.plotly_chart(fig)
total = series.groupby("ts", as_index=False)["write_kibps"].sum()
st.plotly_chart(charts.churn_heatmap(total, ctx.tz, "This VM's churn by hour and weekday"))
