"""The pandas functions Spark runs per group (`groupBy(...).applyInPandas`): a VM's profiles, a server's queue.

Each takes the rows of one group as a pandas frame and calls the same analytics functions the default
engine calls on its in-memory grid, so both engines give the same figures. Nothing here starts Spark: the
functions are tested as they are, and Spark only ships them to the executors.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import bandwidth, churn, rpo, sample_grid
from churnplan.analytics.model import ThrottleSchedule
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid
from churnplan.engines.spark_layout import FILE_NS, TS_US, VALUE_COLUMNS

LEVEL = "level"                 # "disk" or "vm": which profile a row holds
VM_ORDER = "vm_order"           # a VM's row in the plan's VM table (its column in the estate's queue)
PAYLOAD = "payload"             # a server's outcome, pickled


def sample_frame(rows: pd.DataFrame) -> pl.DataFrame:
    """The group's samples as the store loads them (one per disk and end time: the earliest file's)."""
    rows = rows.sort_values(FILE_NS, kind="stable").drop_duplicates(DISK_KEY + [TS_US], keep="first")
    ts = pl.from_epoch(pl.Series(TS_US, rows[TS_US].to_numpy(dtype=np.int64)), time_unit="us")
    return pl.DataFrame({
        **{k: rows[k].astype(str).to_numpy() for k in DISK_KEY},
        "ts": ts.dt.replace_time_zone("UTC"),
        "interval_s": rows["interval_s"].to_numpy(dtype=np.int64),
        **{v: rows[v].to_numpy(dtype=float) for v in VALUE_COLUMNS},
    })


# --- profiles: one group per VM ---------------------------------------------------------------------------

def profile_columns() -> list[tuple[str, str]]:
    """(name, numpy kind) of the columns churn.profiles adds, found by profiling one sample."""
    one = pd.DataFrame({"vcenter": ["v"], "vm_id": ["m"], "instance": ["d"], TS_US: [0], "interval_s": [300],
                        **{v: [1.0] for v in VALUE_COLUMNS}, FILE_NS: [0]})
    prof = churn.profiles(sample_grid.from_frame(sample_frame(one)), 95.0, 0.0)
    return [(c, prof[c].dtype.kind) for c in prof.columns if c not in DISK_KEY]


def vm_profiles(rows: pd.DataFrame, percentile: float, growth_pct: float) -> pd.DataFrame:
    """Profiles of one VM's disks (own samples) and of the VM (per-sample sum over its included disks).

    `rows`: the VM's samples with an `excluded` flag per row (the disk is left out of the VM's sums).
    """
    grid = sample_grid.from_frame(sample_frame(rows))
    excluded = rows.loc[rows["excluded"].astype(bool), DISK_KEY].drop_duplicates()
    vm_grid = grid.without(excluded).by_vm()   # summed before the disk profiles reorder the grid
    disks = churn.profiles(grid, percentile, growth_pct, consume=True).assign(**{LEVEL: "disk"})
    vm = churn.profiles(vm_grid, percentile, growth_pct).assign(**{LEVEL: "vm", "instance": ""})
    out = pd.concat([disks, vm], ignore_index=True)
    return out[[LEVEL] + DISK_KEY + [c for c, _ in profile_columns()]]


# --- queues: one group per process server -----------------------------------------------------------------

@dataclass(frozen=True)
class ServerJob:
    """What every server's group needs from the driver: the estate's time axis and the plan's settings."""

    times: np.ndarray                   # epoch seconds of the estate's sample times (the default engine's axis)
    timezone: str
    rpos: list[float]
    goals: list[float]
    rpo_min: float
    percentile: float
    growth_pct: float
    compression: float
    links: dict[str, dict[str, Any]] = field(default_factory=dict)   # server -> bandwidth_mbps or throttle
    keep_vm_bytes: bool = False         # return the per-VM matrix (the estate's fair share needs every VM)

    @property
    def factor(self) -> float:
        return (1.0 + self.growth_pct / 100.0) * self.compression


@dataclass
class ServerOutcome:
    """One server's bandwidth rows, what-ifs per RPO, peak churn and byte series (for the estate's sum)."""

    server: str
    bandwidth_rows: list[dict[str, Any]]
    what_ifs: dict[float, rpo.WhatIf]
    capacity: dict[str, Any]
    peak_churn_mbps: float
    scope_bytes: np.ndarray
    vms: pd.DataFrame
    vm_bytes: np.ndarray | None = None


def on_times(prepared: rpo.PreparedChurn, times: np.ndarray) -> rpo.PreparedChurn:
    """`prepared` on the estate's time axis `times` (a superset of its own): no bytes where it has no sample."""
    if np.array_equal(prepared.times, times):
        return prepared
    matrix = np.zeros((times.size, prepared.vm_bytes.shape[1]))
    matrix[np.searchsorted(times, prepared.times)] = prepared.vm_bytes
    return rpo.PreparedChurn(times, prepared.interval_s, prepared.vms, matrix, prepared.timezone)


def scope_bandwidth(prepared: rpo.PreparedChurn, scope: str, job: ServerJob) -> list[dict[str, Any]]:
    """Required Mbps of one scope for each RPO and goal (100 % in closed form, lower goals by bisection)."""
    cols = prepared.columns(scope)
    curve = rpo.scope_curve(prepared, cols, job.factor)
    rows = []
    for r in job.rpos:
        always = bandwidth.required_mbps_100(curve, r * 60.0)
        memo: dict[float, float] = {}
        for goal in job.goals:
            need = always if goal >= 100 else bandwidth.least_mbps(
                prepared, cols, r, goal, job.factor, rel_tol=1e-3, hi_mbps=always, curve=curve, memo=memo)
            rows.append({"scope": scope, "rpo_min": r, "compliance_goal_pct": goal, "required_mbps": need})
    return rows


def server_queue(rows: pd.DataFrame, job: ServerJob) -> ServerOutcome:
    """One process server: its VMs' per-sample sums, required Mbps, and its queue at every RPO on its link.

    `rows`: the server's samples (included disks of protected VMs) with process_server, name and VM_ORDER.
    """
    server = str(rows["process_server"].iloc[0])
    vms = rows[VM_KEY + ["name", "process_server", VM_ORDER]].drop_duplicates(VM_KEY).sort_values(VM_ORDER)
    grid: SampleGrid = sample_grid.from_frame(sample_frame(rows))
    prepared = on_times(rpo.prepare(grid, assignment=vms.drop(columns=VM_ORDER), timezone=job.timezone), job.times)
    bw_rows = scope_bandwidth(prepared, server, job)
    at_rpo = [r["required_mbps"] for r in bw_rows if r["rpo_min"] == job.rpo_min and r["compliance_goal_pct"] == 100.0]
    capacity = job.links.get(server) or {"bandwidth_mbps": at_rpo[0] if at_rpo else 0.0}
    what_ifs = {r: rpo.what_if(prepared, rpo_min=r, growth_pct=job.growth_pct, compression=job.compression,
                               scope=server, per_vm=False, **capacity) for r in job.rpos}
    cols = np.arange(len(prepared.vms))
    write_kbps = prepared.scope_bytes(cols) / prepared.interval_s / 1024.0
    peak = churn.series_profile(write_kbps, job.percentile, job.growth_pct)["peak_write_kbps"] / 1024.0
    return ServerOutcome(server, bw_rows, what_ifs, capacity, peak, prepared.scope_bytes(cols),
                         vms.reset_index(drop=True), prepared.vm_bytes if job.keep_vm_bytes else None)


def server_payload(rows: pd.DataFrame, job: ServerJob) -> pd.DataFrame:
    """`server_queue` as Spark returns it: one row, the server and its outcome pickled."""
    outcome = server_queue(rows, job)
    return pd.DataFrame({"process_server": [outcome.server], PAYLOAD: [pickle.dumps(outcome)]})


def throttle_of(link: dict[str, Any]) -> ThrottleSchedule | None:
    return link.get("throttle")
