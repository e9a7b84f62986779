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

from churnplan.analytics import churn, rpo, sample_grid, telemetry_statistics
from churnplan.analytics.queue import Curve
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import DISK_KEY
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.bandwidth_table import ScopeBandwidth
from churnplan.analytics.stages.cache import ServerCache, server_cache
from churnplan.analytics.stages.links import links
from churnplan.analytics.stages.simulation import Simulation, simulate
from churnplan.core.units import KIB
from churnplan.engines.spark_layout import FILE_NS, TS_US, VALUE_COLUMNS, seconds

LEVEL = "level"                 # "disk" or "vm": which profile a row holds
VM_ORDER = "vm_order"           # a VM's row among the protected VMs (its column in the estate's queue)
DISK_NO = "disk_no"             # a disk's rank by instance name (within its VM: the order its sums add)
SERVER_NO = "server_no"         # a process server's row in the assignment's servers
PAYLOAD = "payload"             # a server's outcome, pickled
TELEMETRY = "telemetry_"        # prefix of a disk row's telemetry statistics (telemetry_statistics.STAT_COLUMNS)
TELEMETRY_COLUMNS = [c for c in telemetry_statistics.STAT_COLUMNS if c not in DISK_KEY]   # all integers
_NO_CURVE = Curve(np.zeros(0), np.zeros(0))   # a server's arrival curve stays on its executor


def for_arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with text columns as plain object columns: PySpark 4's Arrow writer takes no pandas 3 str arrays."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)]
    return frame.astype({c: object for c in text}) if text else frame


def sample_frame(rows: pd.DataFrame) -> pl.DataFrame:
    """The group's samples as the store loads them (one per disk and end time: the earliest file's); a value
    column the group was not sent (the queues read only write_kbps) is 0."""
    rows = rows.assign(**{v: 0.0 for v in VALUE_COLUMNS if v not in rows.columns})
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


def vm_profiles(rows: pd.DataFrame, percentile: float, growth_pct: float, interval_s: float,
                t0_us: int) -> pd.DataFrame:
    """Profiles of one VM's disks (own samples) and of the VM (per-sample sum over its included disks); beside
    each disk its telemetry statistics (telemetry_statistics.from_samples, slots counted from the whole
    selection's earliest sample end `t0_us`), so the assessment needs no pass of its own over the samples.

    `rows`: the VM's samples with an `excluded` flag per row (the disk is left out of the VM's sums).
    """
    frame = sample_frame(rows)
    stats = telemetry_statistics.from_samples(frame, interval_s, t0_us).disks
    grid = sample_grid.from_frame(frame)
    excluded = sample_grid.marked_excluded(rows)[DISK_KEY].drop_duplicates()
    vm_grid = grid.without(excluded).by_vm()
    disks = churn.profiles(grid, percentile, growth_pct).assign(**{LEVEL: "disk"})
    stats = stats.astype({k: str for k in DISK_KEY}).rename(columns={c: TELEMETRY + c for c in TELEMETRY_COLUMNS})
    disks = disks.astype({k: str for k in DISK_KEY}).merge(stats, on=DISK_KEY, how="left")
    vm = churn.profiles(vm_grid, percentile, growth_pct).assign(**{LEVEL: "vm", "instance": ""})
    out = pd.concat([disks, vm], ignore_index=True)
    telemetry = [TELEMETRY + c for c in TELEMETRY_COLUMNS]
    out[telemetry] = out[telemetry].fillna(0).astype(np.int64)   # a VM row has none
    return for_arrow(out[[LEVEL] + DISK_KEY + [c for c, _ in profile_columns()] + telemetry])


# --- queues: one group per process server -----------------------------------------------------------------

@dataclass(frozen=True)
class ServerJob:
    """What every server's group needs from the driver: the estate's time axis, the plan, the servers."""

    times: np.ndarray             # epoch seconds of the estate's sample times (the default engine's axis)
    interval_s: float
    timezone: str
    config: PlanConfig
    servers: pd.DataFrame         # the assignment's servers (each group takes its own row for its link)
    vms: pd.DataFrame             # protected VMs: vcenter, vm_id, name, process_server, VM_ORDER, SERVER_NO
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


def server_churn(server: str, rows: pd.DataFrame, job: ServerJob) -> rpo.PreparedChurn:
    """Bytes per estate sample time and VM of one server, summed over each VM's disks in the order the default
    engine sums them (rpo.prepare on the VM grid), so the figures are the same to the last bit.

    `rows`: VM_ORDER, DISK_NO, TS_US, write_kbps, FILE_NS; integer codes, so a server of 225 VMs x 3 disks
    x 129,600 samples travels as 32 bytes a row rather than as strings.
    """
    vms = job.vms[job.vms["process_server"].astype(str) == server].sort_values(VM_ORDER)
    frame = pl.from_pandas(rows[[VM_ORDER, DISK_NO, TS_US, "write_kbps", FILE_NS]])
    frame = frame.sort(FILE_NS, maintain_order=True).unique([VM_ORDER, DISK_NO, TS_US], keep="first")
    col = np.searchsorted(vms[VM_ORDER].to_numpy(), frame[VM_ORDER].to_numpy())
    at = np.searchsorted(job.times, seconds(frame[TS_US].to_numpy()))
    value = np.nan_to_num(frame["write_kbps"].cast(pl.Float64).to_numpy(), nan=0.0)  # NULL/NaN: a sample of 0
    slot = frame[DISK_NO].to_numpy()
    kbps = np.zeros((len(vms), job.times.size))
    for k in np.unique(slot):   # one pass per disk, in instance order: ((0 + d0) + d1) + d2 as by_vm adds
        mine = slot == k
        kbps[col[mine], at[mine]] += value[mine]
    kbps *= float(KIB) * job.interval_s
    names = vms.assign(scope=vms["process_server"].astype(str))[["vcenter", "vm_id", "name", "scope"]]
    return rpo.PreparedChurn(job.times, job.interval_s, names.reset_index(drop=True), np.ascontiguousarray(kbps.T),
                             job.timezone)


def server_queue(server: str, rows: pd.DataFrame, job: ServerJob) -> ServerOutcome:
    """One process server: its VMs' per-sample sums, required Mbps, and its queue at every RPO on its link.

    `rows`: the server's samples as `server_churn` takes them (none at all is allowed). The stages are the
    default engine's: bandwidth_table, links, simulation and cache, for one scope.
    """
    config = job.config
    mine = server_churn(server, rows, job)
    needs = bw.scope_bandwidth(mine, server, bw.rpo_targets(config), config.compliance_goals_pct,
                               bw.write_factor(config))
    link = links(config, job.servers[job.servers["server"].astype(str) == server], bw.BandwidthTable.of([needs]),
                 job.estate_gib_day)[server]
    sim = simulate({server: mine}, {server: link}, bw.rpo_targets(config), config)
    cache = server_cache(mine, sim.outcomes[server], config.percentile, config.growth_pct)
    every = np.arange(len(mine.vms))
    return ServerOutcome(server, replace(needs, curve=_NO_CURVE), sim, cache, mine.scope_bytes(every), mine.vms,
                         mine.vm_bytes if job.keep_vm_bytes else None)


def server_payload(rows: pd.DataFrame, job: ServerJob) -> pd.DataFrame:
    """`server_queue` as Spark returns it: one row, the server's number and its outcome pickled."""
    number = int(rows[SERVER_NO].iloc[0])
    server = str(job.vms.loc[job.vms[SERVER_NO] == number, "process_server"].iloc[0])
    outcome = server_queue(server, rows, job)
    return pd.DataFrame({SERVER_NO: [number], PAYLOAD: pd.Series([pickle.dumps(outcome)], dtype=object)})
