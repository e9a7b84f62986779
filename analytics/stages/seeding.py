"""Stage 7, initial replication and cost: the estate's write series, the seed batches on the planned link,
and the monthly cost of what is protected."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics import cost, initial_replication, queue
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.vocabulary import of_protected_vms, protected
from churnplan.core.units import BYTES_PER_MBPS, GIB, SECONDS_PER_DAY, SECONDS_PER_HOUR


@dataclass(frozen=True)
class Seeding:
    """The estate's write series, initial-replication batches and hours, and the monthly cost lines."""

    estate_series: pd.DataFrame          # ts, write_kibps (all VMs, included disks)
    initial_replication: pd.DataFrame    # batch, vms, vm_names, size_gib, hours
    ir_hours: float | None               # None when the link leaves nothing for seeding
    cost: pd.DataFrame                   # item, quantity, unit, unit_price, monthly, currency
    prices: dict[str, Any]
    seed_gib: float | None = None        # data to copy (None when a replicated disk's size is unknown)
    ir_goal_met: bool | None = None      # None when the seed size is unknown
    ir_mbps_for_goal: float | None = None  # the link that seeds everything within the goal beside delta replication


def estate_series(vm_grid: SampleGrid) -> pd.DataFrame:
    """Estate write KiB/s per sample time, summed over every VM's included disks."""
    present = vm_grid.present_times()
    written = vm_grid.write_kbps if present.all() else vm_grid.write_kbps[:, present]
    return pd.DataFrame({"ts": queue.from_epoch(vm_grid.times[present]),
                         "write_kibps": written.sum(axis=0) if vm_grid.dense else np.nansum(written, axis=0)})


def replicated_disks(assignment: Assignment) -> pd.DataFrame:
    """The disks ASR replicates: the included disks of protected VMs."""
    disks = assignment.disks
    return disks[~disks["excluded"] & of_protected_vms(disks, assignment.vms)]


def seed_sizes(disks: pd.DataFrame, vms: pd.DataFrame) -> pd.DataFrame:
    """GiB to copy per VM (name, size_gib): used space where known, else the capacity."""
    used = disks["used_gib"].where(disks["used_gib"].notna() & (disks["used_gib"] > 0), disks["capacity_gib"]) \
        if "used_gib" in disks.columns else disks["capacity_gib"]
    seed = disks.assign(seed_gib=used).groupby(VM_KEY)["seed_gib"].sum().reset_index()
    return seed.merge(vms[VM_KEY + ["name"]], on=VM_KEY).rename(columns={"seed_gib": "size_gib"})


def seed_and_cost(vm_grid: SampleGrid, assignment: Assignment, planned_mbps: float, config: PlanConfig,
                  estate_gib_day: float) -> Seeding:
    """Seed batches within the IR goal on what delta replication leaves of the planned link; monthly cost.

    Compression applies to the seed as to the churn: seed and delta are in bytes written, on the link divided by
    the compression (bytes sent per byte written).
    """
    c = config.compression
    delta_mbps = estate_gib_day * GIB / SECONDS_PER_DAY / BYTES_PER_MBPS   # bytes written; x c on the wire
    replicas = replicated_disks(assignment)
    seed = seed_sizes(replicas, assignment.vms)
    ir = initial_replication.batches(seed, planned_mbps / c, delta_mbps, config.ir_goal_hours)
    seed_gib = float(seed["size_gib"].sum())
    hours = initial_replication.seed_hours(seed_gib, planned_mbps / c, delta_mbps)
    known = not bool(replicas["capacity_gib"].isna().any())
    goal_mbps = (seed_gib * GIB / (config.ir_goal_hours * SECONDS_PER_HOUR) / BYTES_PER_MBPS + delta_mbps) * c
    if config.prices is not None:  # a dict handed in may come from anywhere; load_prices checks what it reads
        cost.check_prices(config.prices)
    prices = config.prices if config.prices is not None else cost.load_prices()
    n_protected = int(protected(assignment.vms).sum())
    in_store_units = replicas.rename(columns={"capacity_gib": "capacity_gb"})  # cost.monthly_cost's names
    lines = cost.monthly_cost(in_store_units, n_protected, estate_gib_day, prices)
    return Seeding(estate_series(vm_grid), ir, hours if math.isfinite(hours) and known else None, lines, prices,
                   seed_gib=seed_gib if known else None,
                   ir_goal_met=(math.isfinite(hours) and hours <= config.ir_goal_hours) if known else None,
                   ir_mbps_for_goal=goal_mbps if known else None)
