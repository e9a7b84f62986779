"""Process servers: how many, how big, and which VMs each one carries."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from churnplan.export import tables
from churnplan.dashboard import context, display

ctx = context.current()
st.title("Process servers")
plan = ctx.plan()
servers = tables.plain(plan.process_servers)
st.caption(f"Architecture: {ctx.config.architecture}. Sized from the published configuration / process server "
           "tables (churn per day and machines per server); cache grown to hold the largest simulated backlog.")
cols = st.columns(3)
cols[0].metric("Servers", len(servers))
cols[1].metric("Protected VMs", int(servers["vms"].sum()) if "vms" in servers else 0)
churn_to_carry = f"{servers['churn_gib_day'].sum():,.0f} GiB/day" if "churn_gib_day" in servers else "–"
cols[2].metric("Churn to carry", churn_to_carry)
display.table(servers)
if {"server", "churn_gib_day"} <= set(servers.columns) and len(servers):
    fig = px.bar(servers, x="server", y="churn_gib_day", color="role" if "role" in servers else None,
                 labels={"churn_gib_day": "churn GiB/day", "server": ""}, template="plotly_white", height=320)
    st.plotly_chart(fig)
if "process_server" in plan.vms:
    st.subheader("VMs per server")
    vms = tables.plain(plan.vms)
    choices = sorted(s for s in vms["process_server"].dropna().astype(str).unique() if s)
    server = st.selectbox("Server", choices, key="ps_server")
    display.table(vms[vms["process_server"].astype(str) == server], ctx.tz,
                  column_order=[c for c in ("name", "vcenter", "vm_id", "churn_gib_day", "peak_churn_mibps", "size_gib",
                                           "disks", "compatibility") if c in vms])
