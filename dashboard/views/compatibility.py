"""Compatibility: which VMs ASR can protect (Yes / Yes*) and why the others cannot."""

from __future__ import annotations

import streamlit as st

from churnplan.analytics.vocabulary import Compatibility, protected
from churnplan.export import tables
from churnplan.dashboard import context, display

ctx = context.current()
st.title("Compatibility")
plan = ctx.plan()
vms = tables.plain(plan.vms)
ok = protected(plan.vms).to_numpy()
first = [c for c in ("name", "vcenter", "compatibility", "reasons", "notes", "process_server") if c in vms]
order = first + [c for c in vms.columns if c not in first]
cols = st.columns(3)
cols[0].metric("Compatible", int(ok.sum()))
cols[1].metric("of which Yes*", int((plan.vms["compatibility"] == Compatibility.YES_PREMIUM).sum()))
cols[2].metric("Incompatible", int((~ok).sum()))

st.subheader("Incompatible VMs")
if (~ok).any():
    display.table(vms[~ok], ctx.tz, column_order=order)
    disks = tables.plain(plan.disks)
    if "reasons" in disks:
        blocked = disks[disks["reasons"].astype(str) != ""]
        st.caption("Disks with a blocking reason")
        shown = ("vm_name", "vcenter", "instance", "label", "capacity_gib", "reasons")
        display.table(blocked, ctx.tz, column_order=[c for c in shown if c in disks])
else:
    st.success("Every VM can be protected.")

st.subheader("Compatible VMs")
st.caption("Yes* = a disk's workload needs a larger premium tier than its size gives.")
display.table(vms[ok], ctx.tz, column_order=order)
