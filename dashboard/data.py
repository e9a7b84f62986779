"""Data access for the dashboard: short read-only visits to the store, results cached as frames.

A collector may be writing the store, so no connection outlives one read: each loader opens the store
read-only (with retries), copies what it needs into pandas and closes. Cache keys carry the store
file's modification stamp so new data shows on the next rerun.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable

import duckdb
import numpy as np
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
def sample_times(db: str, version: tuple[float, int] | None = None) -> pd.DataFrame:
    """Per interval and sample end: sample count and estate write KiB/s (store.sample_times, one scan)."""
    return read(db, store.sample_times)


@st.cache_data(show_spinner=False, max_entries=4)
def overview(db: str, version: tuple[float, int] | None = None) -> dict[str, Any]:
    """Counts, sampling intervals (as store.sample_intervals has them) and collection runs, from one scan of the
    samples (sample_times) and the small tables: the first page's figures without the plan."""
    def _read(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        return {"counts": store.counts(con), "vms": store.vms_by_interval(con), "runs": store.recent_runs(con, 20),
                "estate_timezone": store.estate_timezone(con)}
    info = read(db, _read)
    times = sample_times(db, version)
    intervals = (times.groupby("interval_s", as_index=False)
                 .agg(samples=("samples", "sum"), first_ts=("ts", "min"), last_ts=("ts", "max")))
    intervals = intervals.merge(info.pop("vms"), on="interval_s", how="left")
    intervals["vms"] = intervals["vms"].astype("Int64")   # <NA>: samples without watermarks (not written by churnplan)
    span = (intervals["last_ts"] - intervals["first_ts"]).rename("span")
    main = intervals.assign(span=span).sort_values(["span", "interval_s"], ascending=[False, True])
    return info | {"intervals": intervals, "default_interval": int(main["interval_s"].iloc[0]) if len(main) else None}


@st.cache_data(show_spinner=False, max_entries=8)
def estate_series(db: str, interval_s: int, version: tuple[float, int] | None = None,
                  vcenters: tuple[str, ...] = ()) -> pd.DataFrame:
    """Estate total write KiB/s per sample time at one interval (ts UTC): from sample_times, or for the chosen
    `vcenters` (all when empty) from a scan of theirs."""
    if vcenters:
        frame = read(db, lambda con: store.estate_series(con, interval_s, vcenters))
        return frame[["ts", "write_kbps"]]
    times = sample_times(db, version)
    at = times[times["interval_s"] == interval_s]
    return pd.DataFrame({"ts": pd.to_datetime(at["ts"]).dt.tz_localize("UTC"),
                         "write_kbps": at["write_kbps"]}).reset_index(drop=True)


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
    """The plan for the store under `_config` (keyed by its repr; its `vcenters`, when set, the only ones planned),
    built once per store version and settings; samples are read a block of VMs at a time
    (churnplan.engines.store), so a large store plans in bounded memory."""
    from churnplan.engines.store import plan_from_store

    return read(db, lambda con: plan_from_store(con, _config))


def replicated(plan: Any) -> pd.DataFrame:
    """The plan's VMs that replicate, as analytics.rpo.prepare keeps them: protected and given a process server
    (vcenter, vm_id, name, process_server)."""
    from churnplan.analytics.vocabulary import protected

    vms = plan.vms[protected(plan.vms)]
    vms = vms[vms["process_server"].fillna("").astype(str) != ""]
    return vms[["vcenter", "vm_id", "name", "process_server"]].reset_index(drop=True)


@st.cache_resource(show_spinner="Preparing churn for the per-VM table…", max_entries=2)
def prepared(db: str, tz: str, config_key: str, _plan: Any, version: tuple[float, int] | None = None) -> Any:
    """analytics.rpo.prepare over the plan's protected VMs (by process server) and included disks: the time x VM
    matrix the per-VM fair-share table and the forecast need, read once per store version and settings."""
    from churnplan.engines.store import prepared_from_store

    excluded = _plan.disks[["vcenter", "vm_id", "instance", "excluded"]]
    vcenters = _plan.config.vcenters or None   # the plan's vCenters alone, as the plan read them
    return read(db, lambda con: prepared_from_store(con, replicated(_plan), excluded, tz, vcenters=vcenters))


@st.cache_resource(show_spinner="Summing the churn per process server…", max_entries=4)
def scope_churn(db: str, tz: str, config_key: str, _plan: Any, version: tuple[float, int] | None = None) -> Any:
    """The churn the what-if replays, per scope: what `prepared` holds summed over each process server's VMs
    (one column per server, in one scan of the store), so a slider move runs only the queue model."""
    vms = replicated(_plan)
    gone = _plan.disks[_plan.disks["excluded"].astype(bool)][["vcenter", "vm_id", "instance"]]
    scopes = vms.assign(scope=vms["process_server"].astype(str))
    vcenters = _plan.config.vcenters or None   # the plan's vCenters: their samples alone make the time axis

    interval: int = overview(db, version)["default_interval"] if vcenters is None else \
        read(db, lambda con: store.default_interval(con, vcenters)) or 0   # a plan implies samples
    frame = read(db, lambda con: store.scope_write_series(con, interval, scopes, gone, vcenters))
    return scope_matrix(frame, float(interval), tz)


def scope_matrix(frame: Any, interval_s: float, tz: str) -> Any:
    """A PreparedChurn with one column per scope from scope, ts_us, write_kbps rows (store.scope_write_series):
    bytes per sample end as analytics.rpo.prepare counts them (KiB/s x 1024 x interval)."""
    from churnplan.analytics import rpo
    from churnplan.core.units import KIB

    ts_us = np.unique(frame["ts_us"].to_numpy(np.int64))
    names = sorted(frame["scope"].dropna().astype(str).unique())
    matrix = np.zeros((ts_us.size, len(names)))
    if names:
        known = frame[frame["scope"].notna()]
        col = pd.Index(names).get_indexer(known["scope"].astype(str))
        row = np.searchsorted(ts_us, known["ts_us"].to_numpy(np.int64))
        matrix[row, col] = known["write_kbps"].to_numpy(float) * (float(KIB) * interval_s)
    times = ts_us * 1_000 / 1e9   # epoch s, as the sample reader codes them
    return rpo.PreparedChurn(times, interval_s, rpo.scope_frame(names), matrix, tz)


@dataclass(frozen=True)
class WhatIfAsk:
    """One what-if's settings (a throttle schedule, when given, wins over the bandwidth)."""

    bandwidth_mbps: float
    throttle: Any
    rpo_min: float
    growth_pct: float
    compression: float
    scope: str

    def key(self) -> str:
        """Equal for equal settings: what a result computed for them is kept under."""
        return repr(self)


@st.cache_data(show_spinner="Sharing the link among the VMs…", max_entries=8)
def vm_misses(db: str, tz: str, config_key: str, ask_key: str, _prepared: Any, _ask: WhatIfAsk,
              version: tuple[float, int] | None = None) -> pd.DataFrame:
    """Each VM's compliance and worst lag when the VMs in scope share the link equally (analytics.rpo's
    fair-share mode on every VM's series), with its vCenter; kept per store version, settings and ask."""
    from dataclasses import replace

    from churnplan.analytics import rpo

    vms = _prepared.vms
    # VMs told apart by position (a vm_id may repeat across vCenters); the copy starts with empty caches
    tagged = replace(_prepared, vms=vms.assign(vm_id=[f"\x1f{i}" for i in range(len(vms))]))
    result = rpo.what_if(tagged, bandwidth_mbps=_ask.bandwidth_mbps, throttle=_ask.throttle, rpo_min=_ask.rpo_min,
                         growth_pct=_ask.growth_pct, compression=_ask.compression, scope=_ask.scope, per_vm=True)
    at = result.vm_misses["vm_id"].str.slice(1).astype(int).to_numpy()
    return pd.DataFrame({"vcenter": vms["vcenter"].to_numpy()[at], "vm_id": vms["vm_id"].to_numpy()[at],
                         "name": vms["name"].to_numpy()[at],
                         "compliance_pct": result.vm_misses["compliance_pct"].to_numpy(),
                         "max_lag_min": result.vm_misses["max_lag_min"].to_numpy()})


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
