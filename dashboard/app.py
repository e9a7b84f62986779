"""The churnplan dashboard: `streamlit run dashboard/app.py -- --db churnplan.duckdb` (or `churnplan dashboard`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import streamlit as st

from churnplan.core import store
from churnplan.dashboard import auth, context, data

PAGES = [
    ("views/estate.py", "Estate overview", "estate", ":material/dns:"),
    ("views/churn.py", "Churn explorer", "churn", ":material/show_chart:"),
    ("views/whatif.py", "RPO what-if", "what-if", ":material/tune:"),
    ("views/servers.py", "Process servers", "process-servers", ":material/memory:"),
    ("views/cost.py", "Storage and cost", "storage-cost", ":material/savings:"),
    ("views/compatibility.py", "Compatibility", "compatibility", ":material/rule:"),
    ("views/forecast.py", "Forecast", "forecast", ":material/trending_up:"),
    ("views/downloads.py", "Downloads", "downloads", ":material/download:"),
]
BUSY_RETRY_S = 2.0

st.set_page_config(page_title="churnplan", page_icon=":material/cloud_sync:", layout="wide")
auth.require_login()  # before anything of the estate is drawn
db = context.db_from_args(sys.argv[1:])
navigation = st.navigation([st.Page(path, title=title, url_path=url, icon=icon, default=(i == 0))
                            for i, (path, title, url, icon) in enumerate(PAGES)])
context.sidebar(db)

if not Path(db).exists():
    st.error(f"No churnplan store at `{db}`. Create one with `churnplan demo` or `churnplan collect`.")
    st.stop()

try:
    navigation.run()
except data.StoreBusy:
    st.info("Store busy: a collection is writing to it. Retrying in a moment…", icon=":material/hourglass_top:")
    time.sleep(BUSY_RETRY_S)
    st.rerun()
except store.StoreError as exc:
    st.error(str(exc))
