"""Downloads: the plan as CSV files, the Excel workbook and the self-contained HTML report."""

from __future__ import annotations

import streamlit as st

from churnplan.export import csv as csv_export
from churnplan.dashboard import context, data

ctx = context.current()
st.title("Downloads")
plan = ctx.plan()
st.caption(f"Plan for RPO {ctx.config.rpo_min:g} min at the {ctx.config.percentile:g}th percentile, "
           f"{ctx.config.growth_pct:g} % growth; times in {ctx.tz}.")

st.subheader("Reports")
st.download_button("Excel workbook (.xlsx)", data.workbook_bytes(ctx.db, ctx.config_key, plan, ctx.tz, ctx.version),
                   file_name="churnplan-report.xlsx", key="dl_xlsx", icon=":material/table_view:",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
st.download_button("HTML report", data.html_report(ctx.db, ctx.config_key, plan, ctx.tz, ctx.version),
                   file_name="churnplan-report.html", mime="text/html", key="dl_html", icon=":material/description:")

st.subheader("CSV recommendations")
for name, frame in plan.tables().items():
    st.download_button(f"{name}.csv ({len(frame):,} rows)",
                       csv_export.to_csv_text(frame).encode("utf-8"),
                       file_name=f"{name}.csv", mime="text/csv", key=f"dl_csv_{name}")
