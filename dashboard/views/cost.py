"""Storage and cost: target disk types, initial replication batches and the monthly estimate."""

from __future__ import annotations

import streamlit as st

from churnplan.export import tables
from dashboard import context

ctx = context.current()
st.title("Storage and cost")
plan = ctx.plan()
disks = tables.plain(plan.disks)

st.subheader("Target disks")
if {"target_tier", "capacity_gb"} <= set(disks.columns):
    by_tier = (disks.groupby("target_tier", dropna=False)
               .agg(disks=("instance", "size"), capacity_gb=("capacity_gb", "sum"))
               .reset_index().sort_values("capacity_gb", ascending=False))
    st.dataframe(by_tier, hide_index=True)
st.dataframe(disks, hide_index=True)

st.subheader("Initial replication")
st.caption(f"Goal: finish within {ctx.config.ir_goal_hours:g} h.")
st.dataframe(tables.plain(plan.initial_replication), hide_index=True)

st.subheader("Estimated monthly cost")
cost = tables.plain(plan.cost)
if "monthly" in cost:
    currency = plan.summary.get("currency", "")
    st.metric("Monthly total", f"{cost['monthly'].sum():,.2f} {currency}".strip())
    if plan.summary.get("prices_date"):
        st.caption(f"Prices of {plan.summary['prices_date']}; check them against your agreement.")
st.dataframe(cost, hide_index=True)
