"""Plan straight from the store in bounded memory: samples are read and profiled per block of whole VMs
(churnplan.core.sample_reader), then the rest of build_plan's stages run on the per-VM write series.

Peak memory is one block's samples plus the per-VM write series (8 bytes per VM and sample time), not
every sample of the estate; the figures are those of `build_plan` on the fully loaded samples.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from churnplan.analytics.config import PlanConfig
from churnplan.analytics.model import Plan
from churnplan.analytics.plan import build_plan, check, plan_from_profiles
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.analytics.stages.profiles import profile_blocks
from churnplan.core import sample_reader, store


def plan_from_store(con: duckdb.DuckDBPyConnection, config: PlanConfig, interval_s: int | None = None,
                    rows_per_block: int = sample_reader.DEFAULT_ROWS_PER_BLOCK, memory_limit: str = "512MB",
                    threads: int | None = None) -> Plan:
    """Plan the store on `con` (samples at `interval_s`, default the store's main interval) like build_plan
    on every sample loaded, holding about `rows_per_block` samples at a time; DuckDB capped at `memory_limit`."""
    check(config)
    vms, disks = store.load_vms(con), store.load_disks(con)
    interval = interval_s if interval_s is not None else store.default_interval(con)
    if interval is None:  # no samples at all: the in-memory path handles the empty plan
        return build_plan(vms, disks, store.load_samples_polars(con, interval_s, config.start, config.end), config)
    sample_reader.cap_memory(con, memory_limit, threads)
    reader = sample_reader.SampleReader(con, interval, config.start, config.end, rows_per_block)
    if reader.samples == 0:
        return build_plan(vms, disks, store.load_samples_polars(con, interval, config.start, config.end), config)

    def grids() -> Iterator[SampleGrid]:
        for b in reader.blocks():
            yield SampleGrid(b.keys, reader.times, reader.interval_s, b.write_kbps, b.write_iops, b.iops, b.rw_kbps)

    profiles = profile_blocks(vms, disks, grids(), len(reader.vm_keys()), reader.times, reader.interval_s, config)
    return plan_from_profiles(profiles, config)
