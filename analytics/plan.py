"""build_plan: from inventory and samples to a finished Plan (churn, compatibility, disks, servers, bandwidth, RPO, cost)."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, UTC

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import (bandwidth, churn, compatibility, cost, disk_types, initial_replication, process_servers, queue,
                       rpo, sample_grid)
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid
from churnplan.analytics.facts import CACHE_FREE_WARNING_PCT, FACTS_VERSION, GB, STORAGE_ACCOUNT_IOPS
from churnplan.analytics.model import Plan, PlanConfig

_CURVE_POINTS = 16
_CACHE_STEP_GB = 50.0       # cache disks are recommended in whole steps of this size
_HOURS_PER_WEEK = 168.0
_WORKERS = min(8, os.cpu_count() or 1)


def _epoch(x: datetime | None) -> float | None:
    """Epoch seconds of a --start/--end time (naive means UTC)."""
    if x is None:
        return None
    ts = pd.Timestamp(x)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.value / 1e9


def _check(config: PlanConfig) -> None:
    """Refuse a config no plan can honour, naming the option."""
    if not 0 < config.percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {config.percentile}")
    if config.rpo_min <= 0:
        raise ValueError(f"rpo must be > 0 minutes, got {config.rpo_min}")
    if config.growth_pct < 0:
        raise ValueError(f"growth must be >= 0 %, got {config.growth_pct}")
    if config.compression <= 0:
        raise ValueError(f"compression must be > 0, got {config.compression}")
    if config.bandwidth_mbps is not None and config.bandwidth_mbps <= 0:
        raise ValueError(f"bandwidth must be > 0 Mbps, got {config.bandwidth_mbps}")


def build_plan(vms: pd.DataFrame, disks: pd.DataFrame, samples: pd.DataFrame | pl.DataFrame | SampleGrid,
               config: PlanConfig) -> Plan:
    """Plan ASR replication of `vms`/`disks` from `samples` (pandas or polars frames as churnplan.core.store loads them)."""
    _check(config)
    grid = sample_grid.from_frame(samples).window(_epoch(config.start), _epoch(config.end))
    growth = config.growth_pct
    factor = (1.0 + growth / 100.0) * config.compression

    # Excluded disks leave every sum; VM series are summed before the disk profiles reorder the grid.
    disks = disks.copy()
    disks["excluded"] = churn.excluded_disks(disks, vms, config.exclude_disks).to_numpy()
    g_vm = grid.without(disks[disks["excluded"]]).by_vm()

    # Disks: own profile from all their samples (a grid made here is not read again, so it is sorted in place).
    d_prof = churn.profiles(grid, config.percentile, growth, consume=not isinstance(samples, SampleGrid))
    d = disks.merge(d_prof, on=DISK_KEY, how="left")
    prof_cols = [c for c in d_prof.columns if c not in DISK_KEY]
    d[prof_cols] = d[prof_cols].fillna(0.0)
    d = d.merge(vms[VM_KEY + ["name", "firmware"]].rename(columns={"name": "vm_name"}), on=VM_KEY, how="left")
    d = disk_types.target_disks(d)
    d["reasons"] = compatibility.disk_reasons(d).to_numpy()
    inc = d[~d["excluded"]]

    # VMs: profile of the per-sample sum over included disks, compatibility, process server.
    v_prof = churn.profiles(g_vm, config.percentile, growth)
    v = vms.merge(v_prof, on=VM_KEY, how="left")
    vprof_cols = [c for c in v_prof.columns if c not in VM_KEY]
    v[vprof_cols] = v[vprof_cols].fillna(0.0)
    compat = compatibility.vm_compatibility(v, inc)
    v = v.merge(compat, on=VM_KEY, how="left")
    v["compatibility"] = v["compatibility"].fillna("Yes")
    v["reasons"] = v["reasons"].fillna("")
    counts = d.groupby(VM_KEY).agg(disks=("instance", "size"), excluded_disks=("excluded", "sum")).reset_index()
    v = v.merge(counts, on=VM_KEY, how="left")
    v[["disks", "excluded_disks"]] = v[["disks", "excluded_disks"]].fillna(0).astype(int)
    protect = v["compatibility"] != "No"
    server_of, servers = process_servers.assign(v[protect], config.architecture)
    v["process_server"] = ""
    v.loc[protect, "process_server"] = server_of
    d = d.merge(v[VM_KEY + ["process_server"]], on=VM_KEY, how="left")

    # Queues: one per process server and one for the estate on one link, protected VMs only.
    tz = config.throttle.timezone if config.throttle is not None else config.timezone
    prepared = rpo.prepare(g_vm, assignment=v.loc[protect, VM_KEY + ["name", "process_server"]], timezone=tz)
    scopes = [rpo.ESTATE] + list(servers["server"]) if len(servers) else [rpo.ESTATE]
    rpos = sorted(set(config.rpo_targets_min) | {config.rpo_min})
    def scope_bandwidth(scope: str) -> tuple[queue.Curve, list[dict]]:
        cols = prepared.columns(scope)
        curve = rpo.scope_curve(prepared, cols, factor)
        rows = []
        for r in rpos:
            always = bandwidth.required_mbps_100(curve, r * 60.0)
            memo: dict[float, float] = {}
            for goal in config.compliance_goals_pct:
                need = always if goal >= 100 else bandwidth.least_mbps(
                    prepared, cols, r, goal, factor, rel_tol=1e-3, hi_mbps=always, curve=curve, memo=memo)
                rows.append({"scope": scope, "rpo_min": r, "compliance_goal_pct": goal, "required_mbps": need})
        return curve, rows

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # scopes are independent; numpy releases the GIL
        per_scope = list(pool.map(scope_bandwidth, scopes))
    curves = {scope: curve for scope, (curve, _) in zip(scopes, per_scope)}
    bw_rows = [row for _, rows in per_scope for row in rows]
    bw = pd.DataFrame(bw_rows, columns=["scope", "rpo_min", "compliance_goal_pct", "required_mbps"])

    def required(scope: str, goal: float = 100.0) -> float:
        hit = bw[(bw["scope"] == scope) & (bw["rpo_min"] == config.rpo_min) & (bw["compliance_goal_pct"] == goal)]
        return float(hit["required_mbps"].iloc[0]) if len(hit) else 0.0

    given = config.bandwidth_mbps is not None or config.throttle is not None
    planned = config.bandwidth_mbps if config.bandwidth_mbps is not None else required(rpo.ESTATE)
    if config.throttle is not None:  # the schedule's weekly average carries initial replication
        th = config.throttle
        work_h = (datetime.combine(datetime.min, th.work_end) - datetime.combine(datetime.min, th.work_start)) \
            .total_seconds() / 3600.0 * len(th.workdays)
        planned = (th.work_mbps * work_h + th.offhours_mbps * (_HOURS_PER_WEEK - work_h)) / _HOURS_PER_WEEK
    estate_gb_day = float(v.loc[protect, "churn_gb_day"].sum())
    share = {s: (float(servers.loc[servers["server"] == s, "churn_gb_day"].iloc[0]) / estate_gb_day
                 if estate_gb_day > 0 else 1.0 / max(len(servers), 1)) for s in servers["server"]}

    def capacity_for(scope: str) -> dict:
        k = 1.0 if scope == rpo.ESTATE else share[scope]
        if config.throttle is not None:
            th = config.throttle
            return {"throttle": replace(th, work_mbps=th.work_mbps * k, offhours_mbps=th.offhours_mbps * k)}
        if config.bandwidth_mbps is not None:
            return {"bandwidth_mbps": config.bandwidth_mbps * k}
        return {"bandwidth_mbps": required(scope)}

    def scope_what_if(scope: str, r: float) -> rpo.WhatIf:
        return rpo.what_if(prepared, rpo_min=r, growth_pct=growth, compression=config.compression, scope=scope,
                           per_vm=given and r == config.rpo_min and scope == rpo.ESTATE, **capacity_for(scope))

    cases = [(scope, r) for scope in scopes for r in rpos]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        results = list(pool.map(lambda case: scope_what_if(*case), cases))
    rpo_rows, lag_frames, daily_frames, outcomes = [], [], [], {}
    for (scope, r), w in zip(cases, results):
        rpo_rows.append({"scope": scope, "bandwidth_mbps": capacity_for(scope).get("bandwidth_mbps", float("nan")),
                         "rpo_min": r, "compliance_pct": w.compliance_pct, "max_lag_min": w.max_lag_min})
        if r == config.rpo_min:
            outcomes[scope] = w
            lag_frames.append(w.lag.assign(scope=scope))
            daily_frames.append(w.daily.assign(scope=scope))
    rpo_frame = pd.DataFrame(rpo_rows, columns=["scope", "bandwidth_mbps", "rpo_min", "compliance_pct", "max_lag_min"])

    estate = outcomes[rpo.ESTATE]
    throttle_needed: dict[str, float | None] = {}
    if config.throttle is not None:  # least work-hours bandwidth per goal at the schedule's off-hours bandwidth
        for goal in config.compliance_goals_pct:
            throttle_needed[f"{goal:g}"] = bandwidth.least_work_mbps(
                prepared, prepared.columns(rpo.ESTATE), config.throttle, config.rpo_min, goal, factor)
    if given and len(estate.vm_misses):
        fs = estate.vm_misses.rename(columns={"compliance_pct": "fair_share_compliance_pct",
                                              "max_lag_min": "fair_share_max_lag_min"}).drop(columns="name")
        v = v.merge(fs, on="vm_id", how="left")

    # Process-server cache from the largest simulated backlog, keeping the free-cache warning threshold clear.
    if len(servers):
        peak_gb = np.array([outcomes[s].max_backlog_mb / 1024.0 for s in servers["server"]])
        need = peak_gb / (1.0 - CACHE_FREE_WARNING_PCT / 100.0)
        servers["max_backlog_gb"] = peak_gb
        servers["cache_gb"] = np.maximum(servers["cache_gb"], np.ceil(need / _CACHE_STEP_GB) * _CACHE_STEP_GB)
        servers["required_mbps"] = [required(s) for s in servers["server"]]
        servers["peak_churn_mbps"] = [churn.series_profile(
            prepared.scope_bytes(prepared.columns(s)) / prepared.interval_s / 1024.0,
            config.percentile, growth)["peak_write_kbps"] / 1024.0 for s in servers["server"]]

    # Compliance against bandwidth for the estate (what-if curve), up to the 100 % bandwidth.
    top = max(required(rpo.ESTATE), 1e-6)
    curve_rows = []
    for mbps in np.linspace(top / _CURVE_POINTS, top, _CURVE_POINTS):
        _, comp, _ = rpo.run(curves[rpo.ESTATE], queue.Capacity(float(mbps)), config.rpo_min, lags=False)
        curve_rows.append({"scope": rpo.ESTATE, "bandwidth_mbps": float(mbps), "compliance_pct": comp.pct})

    # Estate write series (all VMs, included disks), initial replication and cost.
    present = g_vm.present_times()
    written = g_vm.write_kbps if present.all() else g_vm.write_kbps[:, present]
    series = pd.DataFrame({"ts": queue.from_epoch(g_vm.times[present]),
                           "write_kbps": written.sum(axis=0) if g_vm.dense else np.nansum(written, axis=0)})
    span_s = prepared.times[-1] - prepared.times[0] + prepared.interval_s if prepared.times.size else 0.0
    days = float(span_s) / churn.SECONDS_PER_DAY
    delta_mbps = estate_gb_day * GB / churn.SECONDS_PER_DAY * config.compression / queue.BYTES_PER_MBPS
    inc_p = d[~d["excluded"] & (d["process_server"].fillna("") != "")]
    used = inc_p["used_gb"].where(inc_p["used_gb"].notna() & (inc_p["used_gb"] > 0), inc_p["capacity_gb"]) \
        if "used_gb" in inc_p.columns else inc_p["capacity_gb"]
    seed = inc_p.assign(seed_gb=used).groupby(VM_KEY)["seed_gb"].sum().reset_index()
    seed = seed.merge(v[VM_KEY + ["name"]], on=VM_KEY).rename(columns={"seed_gb": "size_gb"})
    ir = initial_replication.batches(seed, planned, delta_mbps, config.ir_goal_hours)
    if config.prices is not None:  # a dict handed in may come from anywhere; load_prices checks what it reads
        cost.check_prices(config.prices)
    prices = config.prices if config.prices is not None else cost.load_prices()
    cost_frame = cost.monthly_cost(inc_p, int(protect.sum()), estate_gb_day, prices)

    vm_cols = [c for c in ["vcenter", "vm_id", "name", "host", "cluster", "guest_os", "firmware", "power_state",
                           "num_cpu", "memory_mb", "disks", "data_disks", "excluded_disks", "size_gb",
                           "peak_churn_mbps", "max_write_kbps", "avg_write_kbps", "churn_gb_day",
                           "avg_write_io_kb", "peak_iops", "peak_write_iops", "compatibility", "reasons", "notes",
                           "process_server", "fair_share_compliance_pct", "fair_share_max_lag_min"] if c in v.columns]
    disk_cols = ["vcenter", "vm_id", "vm_name", "instance", "label", "capacity_gb", "used_gb", "is_os_disk",
                 "excluded", "peak_churn_mbps", "max_write_kbps", "avg_write_kbps", "churn_gb_day",
                 "avg_write_io_kb", "peak_iops", "peak_write_iops", "avg_write_iops", "size_tier", "target_type",
                 "target_tier", "bumped", "needs_premium", "tier_issue", "reasons", "process_server"]
    d.loc[d["excluded"], ["target_type", "target_tier", "reasons"]] = ["excluded", "", ""]
    d.loc[d["excluded"], ["bumped", "needs_premium"]] = False
    status = v["compatibility"].value_counts()
    summary = {
        "generated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "facts_version": FACTS_VERSION,
        "config": {"rpo_min": config.rpo_min, "percentile": config.percentile, "growth_pct": growth,
                   "compression": config.compression, "bandwidth_mbps": config.bandwidth_mbps,
                   "architecture": config.architecture, "ir_goal_hours": config.ir_goal_hours,
                   "exclude_disks": list(config.exclude_disks),
                   "throttle": None if config.throttle is None else {
                       "work_start": config.throttle.work_start.isoformat(), "work_end": config.throttle.work_end.isoformat(),
                       "work_mbps": config.throttle.work_mbps, "offhours_mbps": config.throttle.offhours_mbps,
                       "timezone": config.throttle.timezone},
                   "timezone": tz},
        "interval_s": prepared.interval_s, "days_profiled": round(days, 2),
        "first_sample_utc": str(queue.from_epoch(grid.times[:1])[0]) if grid.times.size else None,
        "last_sample_utc": str(queue.from_epoch(grid.times[-1:])[0]) if grid.times.size else None,
        "vms": int(len(v)), "disks": int(len(d)), "excluded_disks": int(d["excluded"].sum()),
        "compatible_vms": int(status.get("Yes", 0)), "compatible_with_premium_vms": int(status.get("Yes*", 0)),
        "incompatible_vms": int(status.get("No", 0)), "protected_vms": int(protect.sum()),
        "avg_disk_size_gb": float(d["capacity_gb"].mean()) if len(d) else 0.0,
        "typical_churn_gb_day": estate_gb_day,
        "estate_peak_churn_mbps": churn.series_profile(series["write_kbps"].to_numpy() if len(series) else [],
                                                       config.percentile, growth)["peak_write_kbps"] / 1024.0,
        "required_mbps_100pct": required(rpo.ESTATE, 100.0),
        "required_mbps_90pct": required(rpo.ESTATE, 90.0) if 90.0 in config.compliance_goals_pct else None,
        "planned_mbps": planned,
        "compliance_pct": estate.compliance_pct, "max_lag_min": estate.max_lag_min,
        "worst_day": None if estate.daily.empty else str(estate.daily.loc[estate.daily["peak_lag_min"].idxmax(), "date"]),
        "worst_day_peak_lag_min": None if estate.daily.empty else float(estate.daily["peak_lag_min"].max()),
        "days_with_violations": int((estate.daily["violations_min"] > 0).sum()) if len(estate.daily) else 0,
        "throttle_work_mbps_needed_by_goal_pct": throttle_needed or None,
        "configuration_servers": int((servers["role"] == process_servers.ROLE_CS).sum()) if len(servers) else 0,
        "process_servers": int(len(servers)),
        "premium_disks": int((inc["target_tier"] != "Standard").sum()),
        "storage_accounts": max(1, math.ceil(float(v.loc[protect, "peak_iops"].sum()) / STORAGE_ACCOUNT_IOPS)),
        "azure_cores": int(v.loc[protect, "num_cpu"].fillna(0).sum()) if "num_cpu" in v.columns else 0,
        "ir_hours": initial_replication.seed_hours(float(seed["size_gb"].sum()), planned, delta_mbps),
        "ir_batches": int(len(ir)),
        "monthly_cost": float(cost_frame["monthly"].sum()), "currency": prices["currency"],
        "prices_date": prices["date"],
    }
    if not math.isfinite(summary["ir_hours"]):
        summary["ir_hours"] = None
    return Plan(config=config, vms=v[vm_cols].reset_index(drop=True), disks=d[disk_cols].reset_index(drop=True),
                process_servers=servers, bandwidth=bw, rpo=rpo_frame, summary=summary, estate_series=series,
                lag_series=pd.concat(lag_frames, ignore_index=True)[["ts", "scope", "lag_min", "backlog_mb"]],
                daily_lag=pd.concat(daily_frames, ignore_index=True)[["date", "scope", "peak_lag_min", "violations_min"]],
                initial_replication=ir, cost=cost_frame, compliance_curve=pd.DataFrame(curve_rows))
