"""Data access for the dashboard: short read-only visits to the store, results cached as frames.

A collector may be writing the store, so no connection outlives one read: each loader opens the store
read-only (with retries), copies what it needs into pandas and closes. Cache keys carry the store
file's modification stamp so new data shows on the next rerun.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable

import duckdb
import pandas as pd
import polars as pl
import streamlit as st

from churnplan.core import store, units

T = TypeVar("T")
OPEN_RETRIES = 4
OPEN_WAIT_S = 0.25
READ_MEMORY_LIMIT = "512MB"   # a constant (SET takes no parameters): each visit's DuckDB cache, not the store's size


StoreBusy = store.StoreBusy  # the store is locked by a writer (a running collection); try again shortly


def stamp(db: str) -> tuple[float, int]:
    """Changes whenever the store file does: the cache key for everything read from it."""
    stat = Path(db).stat()
    return stat.st_mtime, stat.st_size


def read(db: str, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run `fn` on a fresh read-only connection and close it; StoreBusy while a writer holds the lock."""
    con = store.connect(db, read_only=True, retries=OPEN_RETRIES, retry_wait_s=OPEN_WAIT_S)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{READ_MEMORY_LIMIT}'")  # DuckDB caches scanned pages up to its limit
        return fn(con)
    finally:
        con.close()


@st.cache_data(show_spinner=False, max_entries=4)
def inventory(db: str, version: tuple[float, int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """VMs and disks as stored."""
    return read(db, lambda con: (store.load_vms(con), store.load_disks(con)))


@st.cache_data(show_spinner=False, max_entries=4)
def overview(db: str, version: tuple[float, int] | None = None) -> dict[str, Any]:
    """Counts, sampling intervals and collection runs."""
    def _read(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        runs = store.recent_runs(con, 20)
        return {"counts": store.counts(con), "intervals": store.sample_intervals(con),
                "default_interval": store.default_interval(con), "runs": runs,
                "estate_timezone": store.estate_timezone(con)}
    return read(db, _read)


@st.cache_data(show_spinner=False, max_entries=8)
def estate_series(db: str, interval_s: int, version: tuple[float, int] | None = None) -> pd.DataFrame:
    """Estate total write and read KB/s and write IOPS per sample time at one interval (ts UTC)."""
    return read(db, lambda con: store.estate_series(con, interval_s))


@st.cache_data(show_spinner=False, max_entries=8)
def top_churners(db: str, interval_s: int, limit: int = 15,
                 version: tuple[float, int] | None = None) -> pd.DataFrame:
    """Disks ranked by mean write churn, measured (no growth): mean and maximum MiB/s, GiB/day and peak write IOPS,
    by the plan's arithmetic (a NULL value counts as a sample of 0, as in analytics.churn.profiles)."""
    df = read(db, lambda con: store.disk_write_stats(con, interval_s, limit))
    return pd.DataFrame({
        **{c: df[c] for c in ("vm", "vcenter", "vm_id", "instance", "label")},
        "capacity_gib": df["capacity_gb"],
        "mean_write_mibps": units.kibps_to_mibps(df["mean_write_kbps"]),
        "max_write_mibps": units.kibps_to_mibps(df["peak_write_kbps"]),
        "churn_gib_day": units.kibps_to_gib_day(df["mean_write_kbps"]),
        "max_write_iops": df["peak_write_iops"]})


@st.cache_data(show_spinner=False, max_entries=16)
def disk_series(db: str, vcenter: str, vm_id: str, interval_s: int,
                version: tuple[float, int] | None = None) -> pd.DataFrame:
    """Per-disk write/read KB/s and IOPS of one VM at one interval (ts UTC)."""
    return read(db, lambda con: store.disk_series(con, vcenter, vm_id, interval_s))


@st.cache_data(show_spinner=False, max_entries=2)
def samples(db: str, interval_s: int | None, version: tuple[float, int] | None = None) -> pl.DataFrame:
    """All samples at one interval, for planning (the compact polars form build_plan and prepare take)."""
    return read(db, lambda con: store.load_samples_polars(con, interval_s))


@st.cache_resource(show_spinner="Building the plan…", max_entries=4)
def plan(db: str, config_key: str, _config: Any, version: tuple[float, int] | None = None) -> Any:
    """The plan for the store under `_config` (keyed by its repr), built once per store version; samples are
    read a block of VMs at a time (churnplan.engines.store), so a large store plans in bounded memory."""
    from churnplan.engines.store import plan_from_store

    return read(db, lambda con: plan_from_store(con, _config))


@st.cache_resource(show_spinner="Preparing churn for the what-if…", max_entries=4)
def prepared(db: str, tz: str, config_key: str, _plan: Any, version: tuple[float, int] | None = None) -> Any:
    """analytics.rpo.prepare over the plan's protected VMs (by process server) and included disks, kept for
    fast what-if reruns."""
    from churnplan.analytics.vocabulary import protected
    from churnplan.engines.store import prepared_from_store

    vms = _plan.vms[protected(_plan.vms)]
    excluded = _plan.disks[["vcenter", "vm_id", "instance", "excluded"]]
    assignment = vms[["vcenter", "vm_id", "name", "process_server"]]
    return read(db, lambda con: prepared_from_store(con, assignment, excluded, tz))


@st.cache_data(show_spinner=False, max_entries=4)
def workbook_bytes(db: str, config_key: str, _plan: Any, tz: str, version: tuple[float, int] | None = None) -> bytes:
    """The Excel workbook for the plan, built once per store version, settings and zone."""
    from churnplan.export import excel

    buffer = io.BytesIO()
    excel.write_workbook(_plan, buffer, tz=tz)
    return buffer.getvalue()


@st.cache_data(show_spinner=False, max_entries=4)
def html_report(db: str, config_key: str, _plan: Any, tz: str, version: tuple[float, int] | None = None) -> str:
    """The offline HTML report for the plan, built once per store version, settings and zone."""
    from churnplan.export import html

    return html.render_report(_plan, tz=tz, store_path=db)
