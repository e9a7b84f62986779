"""Plan straight from the store in bounded memory: samples are read and profiled per block of whole VMs
(churnplan.core.sample_reader), then the rest of build_plan's stages run on the per-VM write series.

Peak memory is one block's samples plus the per-VM write series (8 bytes per VM and sample time), not
every sample of the estate; the figures are those of `build_plan` on the fully loaded samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from churnplan.analytics import rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.model import Plan
from churnplan.analytics.plan import build_plan, check, plan_from_profiles
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid, marked_excluded
from churnplan.analytics.stages.profiles import profile_blocks
from churnplan.core import memory_cap, sample_reader, store
from churnplan.engines.store_telemetry import statistics_from_counts, statistics_from_store


DEFAULT_SERIES_BUDGET_BYTES = 512 * 2**20   # per-VM write series kept from the first read (5,000 VMs x 30 days: 345 MB)


class NoSamples(ValueError):
    """The store holds no samples at the interval and within the window asked for."""


def plan_from_store(con: duckdb.DuckDBPyConnection, config: PlanConfig, interval_s: int | None = None,
                    rows_per_block: int = sample_reader.DEFAULT_ROWS_PER_BLOCK, memory_limit: str = "256MB",
                    threads: int | None = None, empty_ok: bool = True,
                    series_budget_bytes: int = DEFAULT_SERIES_BUDGET_BYTES) -> Plan:
    """Plan the store on `con` (samples at `interval_s`, default the store's main interval) like build_plan
    on every sample loaded, holding about `rows_per_block` samples at a time; DuckDB capped at `memory_limit`.

    The per-VM write series (8 bytes per VM and sample time) are kept from the profiles' read when they fit in
    `series_budget_bytes` or a given link is shared among the VMs (its fair-share table); otherwise the blocks
    are read a second time once the VMs have their servers and summed per server as they come, so memory holds
    a block and the servers' sums, whatever the estate. With no sample to plan from: NoSamples unless
    `empty_ok`, else build_plan's plan of no samples.
    """
    check(config)
    vcenters = config.vcenters or None   # --vcenter: only these vCenters' inventory and samples are read
    vms, disks = store.load_vms(con, vcenters), store.load_disks(con, vcenters)
    memory_cap.cap_memory(con, memory_limit, threads)
    memory_cap.reuse_freed_memory()   # each block's arrays reuse the previous block's memory
    reader = sample_reader.SampleReader(con, interval_s, config.start, config.end, rows_per_block, vcenters)
    if reader.samples == 0:
        if not empty_ok:
            raise NoSamples("no samples to plan from")
        return build_plan(vms, disks, store.load_samples_polars(con, interval_s, config.start, config.end, vcenters),
                          config)
    n_vms = len(reader.vm_keys())
    keep = config.link_given or n_vms * reader.times.size * 8 <= series_budget_bytes
    profiles = [profile_blocks(vms, disks, _grids(reader), n_vms, reader.times, reader.interval_s, config, keep)]
    counts = reader.telemetry_counts()   # gathered while reading the blocks, when they were read by rowid alone
    telemetry = (statistics_from_store(con, reader.interval_s, config.start, config.end, vcenters) if counts is None
                 else statistics_from_counts(con, counts, reader.interval_s, config.start, config.end, vcenters))
    return plan_from_profiles(profiles.pop(), config, telemetry=telemetry,   # no reference kept: the stages free it
                              blocks=None if keep else lambda: _grids(reader, write_only=True))


def _grids(reader: sample_reader.SampleReader, write_only: bool = False) -> Iterator[SampleGrid]:
    """The reader's blocks as analytics grids (`write_only`: SampleReader.blocks')."""
    for b in reader.blocks(write_only):
        yield SampleGrid(b.keys, reader.times, reader.interval_s, b.write_kbps, b.write_iops, b.iops, b.rw_kbps,
                         counts=b.counts)


def churn_by_process_server(con: duckdb.DuckDBPyConnection, config: PlanConfig,
                            interval_s: int | None = None) -> rpo.PreparedChurn:
    """Each protected VM's write series grouped by the process server the default plan gives it (excluded
    disks left out), as the forecast learns them: planned and read a block of VMs at a time. NoSamples when
    the store holds none in the window."""
    plan = plan_from_store(con, config, interval_s, empty_ok=False)
    return prepared_from_store(con, plan.vms, plan.disks[["vcenter", "vm_id", "instance", "excluded"]],
                               config.timezone, interval_s, start=config.start, end=config.end,
                               vcenters=config.vcenters or None)   # rpo.prepare keeps the protected VMs


def prepared_from_store(con: duckdb.DuckDBPyConnection, assignment: pd.DataFrame, excluded: pd.DataFrame,
                        timezone: str = "UTC", interval_s: int | None = None,
                        rows_per_block: int = sample_reader.DEFAULT_ROWS_PER_BLOCK,
                        memory_limit: str = "256MB", start: datetime | None = None, end: datetime | None = None,
                        vcenters: Sequence[str] | None = None) -> rpo.PreparedChurn:
    """rpo.prepare(every sample, assignment, excluded, timezone), reading the samples a block of VMs at a time:
    only the per-VM write series of the included disks are kept (the what-if's time x VM matrix). `start`,
    `end` and `vcenters` select samples as plan_from_store does."""
    memory_cap.cap_memory(con, memory_limit)
    memory_cap.reuse_freed_memory()
    reader = sample_reader.SampleReader(con, interval_s, start, end, rows_per_block, vcenters)
    if reader.samples == 0:
        return rpo.prepare(store.load_samples_polars(con, interval_s, start, end, vcenters), assignment, excluded,
                           timezone)
    gone = marked_excluded(excluded)
    write = np.empty((len(reader.vm_keys()), reader.times.size))   # every row written below; the rest cut off
    keys, rows = [], 0
    for grid in _grids(reader, write_only=True):   # the write column alone: all the what-if replays
        per_vm = grid.without(gone).by_vm(write_only=True, into=write[rows:])   # summed in place
        rows += len(per_vm.keys)
        keys.append(per_vm.keys)
    nan = np.broadcast_to(np.float64(np.nan), (rows, reader.times.size))
    vm_keys = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame(columns=VM_KEY)
    grid = SampleGrid(vm_keys, reader.times, reader.interval_s, write[:rows], nan, nan, nan)
    return rpo.prepare(grid, assignment=assignment, timezone=timezone)
