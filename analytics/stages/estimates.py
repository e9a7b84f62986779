"""Stage after seeding, estimates (#13): the telemetry's quality and the plan's 1-5 confidence, the catch-up after
a link outage (per scope, with the cache its backlog needs), and the cost as Azure bills it (replica disks by tier,
recovery-point snapshots from churn and retention, the ASR licence after its free 31 days)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import cost, outage, pricing, queue, recovery_points, telemetry_quality
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.rpo import PreparedChurn
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.stages.azure_targets import profiled_load
from churnplan.analytics.telemetry_statistics import DiskStatistics
from churnplan.analytics.vocabulary import Scope, of_protected_vms, protected
from churnplan.core.units import GIB, SECONDS_PER_DAY

DISK_KEY = ["vcenter", "vm_id", "instance"]


@dataclass(frozen=True)
class Estimates:
    """Telemetry quality, outage catch-up per scope, and the billed cost."""

    quality: dict[str, Any] | None           # telemetry_quality summary; None when samples came as a bare grid
    outage: list[dict[str, object]] | None   # per scope; None without --outage (or a profile too short for it)
    outage_note: str
    cost: cost.CostEstimate
    snapshot_gib: float


Telemetry: TypeAlias = pd.DataFrame | pl.DataFrame | SampleGrid | DiskStatistics | None


def quality(samples: Telemetry, interval_s: float) -> dict[str, Any] | None:
    """Coverage, gaps and missing counters of the samples (or of their per-disk statistics, as an engine reading
    block by block aggregates them), with the plan's confidence; None from a bare grid or no samples."""
    if isinstance(samples, DiskStatistics):
        return telemetry_quality.from_statistics(samples).summary() if len(samples.disks) else None
    if samples is None or isinstance(samples, SampleGrid) or len(samples) == 0:
        return None
    return telemetry_quality.assess(samples, interval_s).summary()


def outage_catch_up(estate: PreparedChurn, config: PlanConfig, planned_mbps: float
                    ) -> tuple[list[dict[str, object]] | None, str]:
    """Catch-up after `config.outage_h` without link, on the plan's link (the given bandwidth or schedule)."""
    if config.outage_h is None:
        return None, "no outage asked (--outage)"
    capacity = queue.Capacity(None if config.throttle is not None else planned_mbps, config.throttle)
    try:
        runs = outage.catch_up_by_scope(estate, config.outage_h, capacity, config.rpo_min, config.growth_pct,
                                        config.compression, step_h=1.0)
    except ValueError as exc:
        return None, str(exc)
    return [r.summary() for r in runs], f"{config.outage_h:g} h outage on the planned link"


def billed_cost(assignment: Assignment, estate: PreparedChurn, config: PlanConfig, book: pricing.PriceBook
                ) -> tuple[cost.CostEstimate, float]:
    """cost.estimate over the replicated disks, snapshots held over the retention window, one day of cache.

    `estate`: the protected VMs' bytes per sample time, in columns of any grouping (per VM, or per process server
    as a distributed engine holds them): the window and the cache are sums, so the grouping does not change them.
    """
    d = assignment.disks
    d = d[~d["excluded"] & of_protected_vms(d, assignment.vms)]
    d = d.assign(peak_mbps_rw=profiled_load(d, DISK_KEY)["peak_mbps_rw"])
    replicas = cost.replica_disks_from_targets(d.rename(columns={"capacity_gib": "capacity_gb"}),
                                               config.standard_disks)
    # Both figures are sums over VMs of sums over time, so they are those of the estate's total series (the sum
    # the bandwidth stage already holds), not of a time x VM matrix of GiB.
    gib = estate.scope_bytes(estate.columns(Scope.ESTATE)) * ((1.0 + config.growth_pct / 100.0) / GIB)
    policy = recovery_points.RetentionPolicy(config.retention_h, config.app_consistent_h)
    mean, _ = recovery_points.window_gib(gib, estate.interval_s, policy)
    days = estate.times.size * estate.interval_s / SECONDS_PER_DAY if estate.times.size else 1.0
    cache_gib = float(gib.sum()) / max(days, 1e-9)
    instances = np.zeros(int(protected(assignment.vms).sum()))   # every protected VM starts on day 0
    est = cost.estimate(replicas, instances, float(mean.sum()), cache_gib, book)
    return est, float(mean.sum())


def estimates(samples: Telemetry, assignment: Assignment, estate: PreparedChurn, config: PlanConfig,
              planned_mbps: float) -> Estimates:
    """Every estimate of #13 for one plan; `estate` as billed_cost takes it, its scopes the process servers."""
    book = config.price_book if config.price_book is not None else pricing.load_price_book(None)
    est, snapshot = billed_cost(assignment, estate, config, book)
    runs, note = outage_catch_up(estate, config, planned_mbps)
    return Estimates(quality(samples, estate.interval_s), runs, note, est, snapshot)
