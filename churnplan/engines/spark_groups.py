"""The pandas functions Spark runs per group (`groupBy(...).applyInPandas`): a VM's profiles, a server's queue.

Each takes the rows of one group as a pandas frame and calls the same analytics functions the default
engine calls on its in-memory grid, so both engines give the same figures. Nothing here starts Spark: the
functions are tested as they are, and Spark only ships them to the executors.
"""

from __future__ import annotations

import pickle
from functools import cache
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import churn, rpo, sample_grid
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.bandwidth_table import ScopeBandwidth
from churnplan.analytics.stages.cache import ServerCache, server_cache
from churnplan.analytics.stages.links import links
from churnplan.analytics.stages.simulation import Simulation, simulate
from churnplan.engines.spark_layout import FILE_NS, TS_US, VALUE_COLUMNS

LEVEL = "level"                 # "disk" or "vm": which profile a row holds
VM_ORDER = "vm_order"           # a VM's row in the plan's VM table (its column in the estate's queue)
PAYLOAD = "payload"             # a server's outcome, pickled


def for_arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with text columns as plain object columns: PySpark 4's Arrow writer takes no pandas 3 str arrays."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)]
    return frame.astype({c: object for c in text}) if text else frame


def sample_frame(rows: pd.DataFrame) -> pl.DataFrame:
    """The group's samples as the store loads them (one per disk and end time: the earliest file's)."""
    frame = pl.from_pandas(rows[[*DISK_KEY, TS_US, "interval_s", *VALUE_COLUMNS, FILE_NS]])
    frame = frame.sort(FILE_NS, maintain_order=True).unique([*DISK_KEY, TS_US], keep="first", maintain_order=True)
    return frame.select(*(pl.col(k).cast(pl.String) for k in DISK_KEY),
                        pl.from_epoch(TS_US, time_unit="us").dt.replace_time_zone("UTC").alias("ts"),
                        pl.col("interval_s").cast(pl.Int64), *(pl.col(v).cast(pl.Float64) for v in VALUE_COLUMNS))


# --- profiles: one group per VM ---------------------------------------------------------------------------

@cache
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
    return for_arrow(out[[LEVEL] + DISK_KEY + [c for c, _ in profile_columns()]])


# --- queues: one group per process server -----------------------------------------------------------------

@dataclass(frozen=True)
class ServerJob:
    """What every server's group needs from the driver: the estate's time axis, the plan, the servers."""

    times: np.ndarray             # epoch seconds of the estate's sample times (the default engine's axis)
    timezone: str
    config: PlanConfig
    servers: pd.DataFrame         # the assignment's servers (each group takes its own row for its link)
    vms: pd.DataFrame             # protected VMs: vcenter, vm_id, name, process_server, VM_ORDER
    estate_gib_day: float
    keep_vm_bytes: bool = False   # send the per-VM matrix back (the estate's fair share needs every VM)


@dataclass(frozen=True)
class ServerOutcome:
    """One server's required Mbps, its simulation at every RPO, its cache, and its bytes per sample time."""

    server: str
    bandwidth: ScopeBandwidth     # without its arrival curve (only the estate's curve is charted)
    simulation: Simulation
    cache: ServerCache
    scope_bytes: np.ndarray       # bytes per estate sample time: the estate's queue is the sum of these
    vms: pd.DataFrame             # vcenter, vm_id, name, scope: the columns of vm_bytes
    vm_bytes: np.ndarray | None = None


def on_times(churn_of: rpo.PreparedChurn, times: np.ndarray) -> rpo.PreparedChurn:
    """`churn_of` on the estate's time axis `times` (a superset of its own): no bytes where it has no sample."""
    if np.array_equal(churn_of.times, times):
        return churn_of
    matrix = np.zeros((times.size, churn_of.vm_bytes.shape[1]))
    matrix[np.searchsorted(times, churn_of.times)] = churn_of.vm_bytes
    return rpo.PreparedChurn(times, churn_of.interval_s, churn_of.vms, matrix, churn_of.timezone)


def server_queue(server: str, rows: pd.DataFrame, job: ServerJob) -> ServerOutcome:
    """One process server: its VMs' per-sample sums, required Mbps, and its queue at every RPO on its link.

    `rows`: the server's samples (included disks of its VMs; none at all is allowed). The stages are the
    default engine's: bandwidth_table, links, simulation and cache, for one scope.
    """
    config = job.config
    vms = job.vms[job.vms["process_server"].astype(str) == server].sort_values(VM_ORDER)
    grid = sample_grid.from_frame(sample_frame(rows))
    mine = on_times(rpo.prepare(grid, assignment=vms.drop(columns=VM_ORDER), timezone=job.timezone), job.times)
    factor = (1.0 + config.growth_pct / 100.0) * config.compression
    needs = bw.scope_bandwidth(mine, server, bw.rpo_targets(config), config.compliance_goals_pct, factor)
    link = links(config, job.servers[job.servers["server"].astype(str) == server], bw.BandwidthTable.of([needs]),
                 job.estate_gib_day)[server]
    sim = simulate({server: mine}, {server: link}, bw.rpo_targets(config), config)
    cache = server_cache(mine, sim.outcomes[server], config.percentile, config.growth_pct)
    every = np.arange(len(mine.vms))
    return ServerOutcome(server, replace(needs, curve=None), sim, cache, mine.scope_bytes(every), mine.vms,
                         mine.vm_bytes if job.keep_vm_bytes else None)


def server_payload(rows: pd.DataFrame, job: ServerJob) -> pd.DataFrame:
    """`server_queue` as Spark returns it: one row, the server and its outcome pickled."""
    outcome = server_queue(str(rows["process_server"].iloc[0]), rows, job)
    return pd.DataFrame({"process_server": pd.Series([outcome.server], dtype=object),
                         PAYLOAD: pd.Series([pickle.dumps(outcome)], dtype=object)})
