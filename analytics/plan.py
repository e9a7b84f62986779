"""build_plan: from inventory and samples to a finished Plan, as a pipeline of named stages
(analytics/stages: profiles, targets, assignment, bandwidth table, simulation, cache, seeding, summary)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import pandas as pd
import polars as pl

from churnplan.analytics.config import PlanConfig
from churnplan.analytics.model import Plan
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.analytics.scope_sums import ScopeSums
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.assignment import Assignment, assign
from churnplan.analytics.stages.azure_targets import AzureTargets, azure_targets
from churnplan.analytics.stages.cache import size_caches
from churnplan.analytics.stages.churn_by_scope import churn_by_scope
from churnplan.analytics.stages.coverage import coverage_of
from churnplan.analytics.stages.estimates import Estimates, estimates
from churnplan.analytics.stages.links import links, planned_mbps
from churnplan.analytics.stages.profiles import Profiles, profile, vm_blocks
from churnplan.analytics.stages.seeding import Seeding, seed_and_cost
from churnplan.analytics.stages.simulation import Simulation, compliance_curve, simulate
from churnplan.analytics.stages.summary import PlanSummary, summarise
from churnplan.analytics.stages.targets import targets
from churnplan.analytics.telemetry_statistics import DiskStatistics
from churnplan.analytics.vocabulary import Scope, protected

VM_COLUMNS = ["vcenter", "vm_id", "name", "host", "cluster", "guest_os", "firmware", "power_state", "num_cpu",
              "memory_mib", "disks", "data_disks", "excluded_disks", "size_gib", "peak_churn_mibps",
              "max_write_kibps", "avg_write_kibps", "churn_gib_day", "avg_write_io_kib", "peak_iops",
              "peak_write_iops", "compatibility", "reasons", "notes", "process_server", "fair_share_compliance_pct",
              "fair_share_max_lag_min"]
DISK_COLUMNS = ["vcenter", "vm_id", "vm_name", "instance", "label", "capacity_gib", "used_gib", "is_os_disk",
                "excluded", "peak_churn_mibps", "max_write_kibps", "avg_write_kibps", "churn_gib_day",
                "avg_write_io_kib", "peak_iops", "peak_write_iops", "avg_write_iops", "size_tier", "target_type",
                "target_tier", "bumped", "needs_premium", "tier_issue", "reasons", "warnings", "process_server"]


def check(config: PlanConfig) -> None:
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
    """Plan ASR replication of `vms`/`disks` from `samples` (pandas or polars frames as the store loads them)."""
    check(config)
    return plan_from_profiles(profile(vms, disks, samples, config), config, samples)


def plan_from_profiles(profiles: Profiles, config: PlanConfig,
                       samples: pd.DataFrame | pl.DataFrame | SampleGrid | None = None,
                       telemetry: DiskStatistics | None = None,
                       blocks: Callable[[], Iterable[SampleGrid]] | None = None) -> Plan:
    """The stages after profiling (an engine that profiles block by block enters here, with the telemetry's
    per-disk statistics in place of the samples the assessment would otherwise need).

    Profiles without a per-VM grid: `blocks` reads the per-disk blocks again (as profile_blocks took them), and
    the VMs' series are summed per server as they come (analytics.scope_sums), a block at a time.
    """
    tz = config.throttle.timezone if config.throttle is not None else config.timezone
    placed = assign(targets(profiles), config.architecture)
    sums = _scope_sums(profiles, placed, config, blocks)
    if config.link_given:   # the estate's VMs share the link: its fair-share table needs each VM's series
        if profiles.vm_grid is None:
            raise ValueError("a plan with a given link needs the per-VM series kept (profile_blocks keep_series)")
        churns = churn_by_scope(profiles.vm_grid, placed, tz)
    else:   # every stage reads scope sums only: one column per server
        churns = sums.churns(tz, placed.scopes)
    estate_writes, times = sums.estate_grid(), profiles.times
    every = None if protected(placed.vms).all() else sums.every(config.timezone)   # coverage replays every VM
    azure = azure_targets(placed)
    del profiles, sums
    bands = bw.bandwidth_table(churns, config)
    estate_gib_day = float(placed.vms.loc[protected(placed.vms), "churn_gib_day"].sum())
    sim = simulate(churns, links(config, placed.servers, bands.table, estate_gib_day), bw.rpo_targets(config), config)
    planned = planned_mbps(config, bands.table)
    seeding = seed_and_cost(estate_writes, placed, planned, config, estate_gib_day)
    estate = churns[Scope.ESTATE]
    cover = coverage_of(every, placed, config, bw.write_factor(config), bands.table, config.compliance_goals_pct)
    est = estimates(telemetry if telemetry is not None else samples, placed, estate, config, planned)
    summary = summarise(config, tz, times, estate, placed, bands.table, planned, sim.estate,
                        bw.throttle_needed(estate, config), seeding, cover, azure, est)
    curve = compliance_curve(bands.curves[Scope.ESTATE], summary.required_mbps_100pct, config.rpo_min)
    servers = size_caches(placed.servers, churns, sim.outcomes, bands.table, config)
    return with_estimates(assemble(config, placed, servers, bands.table, sim, summary, seeding, curve), est, azure)


def _scope_sums(profiles: Profiles, placed: Assignment, config: PlanConfig,
                blocks: Callable[[], Iterable[SampleGrid]] | None) -> ScopeSums:
    """The VMs' write series summed per server, from the profiles' per-VM grid or, when none was kept, from the
    blocks read again."""
    sums = ScopeSums(placed.vms, profiles.times, profiles.interval_s)
    if profiles.vm_grid is not None:
        sums.add(profiles.vm_grid)
    elif blocks is not None:
        for vm_block in vm_blocks(blocks(), placed.disks, config):
            sums.add(vm_block)
    else:
        raise ValueError("profiles without per-VM series need the blocks to read them again")
    return sums


def assemble(config: PlanConfig, placed: Assignment, servers: pd.DataFrame, table: bw.BandwidthTable,
             sim: Simulation, summary: PlanSummary, seeding: Seeding, curve: pd.DataFrame) -> Plan:
    """The Plan from the stages' results (also what a distributed engine calls after running them)."""
    return Plan(config=config, vms=_vm_frame(placed, sim.estate.vm_misses, config), disks=_disk_frame(placed),
                process_servers=servers, bandwidth=table, rpo=sim.rpo, summary=summary,
                estate_series=seeding.estate_series, lag_series=sim.lag_series, daily_lag=sim.daily_lag,
                initial_replication=seeding.initial_replication, cost=seeding.cost, compliance_curve=curve)


def with_estimates(plan: Plan, est: Estimates, azure: AzureTargets) -> Plan:
    """`plan` with the billed cost's lines and the Azure targets' tables (the figures its summary holds)."""
    return replace(plan, cost=est.cost.lines, vm_sizes=azure.vm_sizes, cores_by_family=azure.cores_by_family,
                   storage_accounts=azure.accounts)


def _vm_frame(placed: Assignment, misses: pd.DataFrame, config: PlanConfig) -> pd.DataFrame:
    """The VM table: with each VM's fair-share compliance when a link was given (the estate at the plan's RPO)."""
    v = placed.vms
    if config.link_given and len(misses):
        fs = misses.rename(columns={"compliance_pct": "fair_share_compliance_pct",
                                    "max_lag_min": "fair_share_max_lag_min"}).drop(columns="name")
        v = v.merge(fs, on="vm_id", how="left")
    return v[[c for c in VM_COLUMNS if c in v.columns]].reset_index(drop=True)


def _disk_frame(placed: Assignment) -> pd.DataFrame:
    """The disk table: excluded disks get no target and no reasons."""
    d = placed.disks.copy()
    d.loc[d["excluded"], ["target_type", "target_tier", "reasons"]] = ["excluded", "", ""]
    d.loc[d["excluded"], ["bumped", "needs_premium"]] = False
    return d[DISK_COLUMNS].reset_index(drop=True)
