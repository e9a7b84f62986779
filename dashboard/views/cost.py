"""Storage and cost: target disk types, initial replication batches and the monthly estimate."""

from __future__ import annotations

import streamlit as st

from churnplan.analytics.vocabulary import of_protected_vms
from churnplan.export import tables
from churnplan.dashboard import context, display

ctx = context.current()
st.title("Storage and cost")
plan = ctx.plan()
disks = tables.plain(plan.disks)

st.subheader("Target disks")
replicas = disks[~disks["excluded"].astype(bool) & of_protected_vms(disks, plan.vms)]
by_tier = (replicas.groupby("target_tier", dropna=False)
           .agg(disks=("instance", "size"), capacity_gib=("capacity_gib", "sum"))
           .reset_index().sort_values("capacity_gib", ascending=False))
st.caption(f"The replica disks ASR creates: the {len(replicas):,} included disks of protected VMs "
           f"(of {len(disks):,} disks in the estate, all listed below with their target).")
display.table(by_tier)
display.table(disks, ctx.tz)

st.subheader("Initial replication")
st.caption(f"Goal: finish within {ctx.config.ir_goal_hours:g} h.")
display.table(tables.plain(plan.initial_replication), ctx.tz)

st.subheader("Estimated monthly cost")
cost = tables.plain(plan.cost)
if "monthly" in cost:
    currency = plan.summary.currency
    st.metric("Monthly total", f"{cost['monthly'].sum():,.2f} {currency}".strip())
    if plan.summary.prices_date:
        st.caption(f"Prices of {plan.summary.prices_date}; check them against your agreement.")
display.table(cost)
