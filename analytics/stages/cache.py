"""Stage 6, cache: each process server's cache grown to hold its largest simulated backlog, with its own
required Mbps and peak churn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import churn, rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.facts import CACHE_FREE_WARNING_PCT
from churnplan.analytics.stages.bandwidth_table import BandwidthTable
from churnplan.core.units import KIB, kibps_to_mibps, mib_to_gib

CACHE_STEP_GIB = 50.0   # cache disks are recommended in whole steps of this size


@dataclass(frozen=True)
class ServerCache:
    """One server's simulated backlog, the cache that holds it, and its own peak churn."""

    max_backlog_gib: float
    least_cache_gib: float      # the backlog with the free-cache warning threshold kept clear, in whole steps
    peak_churn_mibps: float


def server_cache(churn_of_server: rpo.PreparedChurn, outcome: rpo.WhatIf, percentile: float,
                 growth_pct: float) -> ServerCache:
    """The cache one server needs, from its own churn and its simulated queue at the desired RPO."""
    backlog_gib = mib_to_gib(outcome.max_backlog_mib)
    need = backlog_gib / (1.0 - CACHE_FREE_WARNING_PCT / 100.0)
    everything = np.arange(len(churn_of_server.vms))
    write_kibps = churn_of_server.scope_bytes(everything) / churn_of_server.interval_s / float(KIB)
    peak = churn.series_profile(write_kibps, percentile, growth_pct)["peak_write_kibps"]
    return ServerCache(float(backlog_gib), float(np.ceil(need / CACHE_STEP_GIB) * CACHE_STEP_GIB),
                       kibps_to_mibps(peak))


def size_caches(servers: pd.DataFrame, churns: Mapping[str, rpo.PreparedChurn],
                outcomes: Mapping[str, rpo.WhatIf], table: BandwidthTable, config: PlanConfig) -> pd.DataFrame:
    """The servers frame with max_backlog_gib, cache_gib (at least the table's), required_mbps, peak_churn_mibps."""
    names = [str(s) for s in servers["server"]] if len(servers) else []
    caches = [server_cache(churns[s], outcomes[s], config.percentile, config.growth_pct) for s in names]
    return with_caches(servers, caches, table, config)


def with_caches(servers: pd.DataFrame, caches: Sequence[ServerCache], table: BandwidthTable,
                config: PlanConfig) -> pd.DataFrame:
    """The servers frame with each server's cache (`caches` in the frame's order) and required Mbps."""
    out = servers.copy()
    if out.empty:
        return out
    names = [str(s) for s in out["server"]]
    out["max_backlog_gib"] = np.array([c.max_backlog_gib for c in caches])
    out["cache_gib"] = np.maximum(out["cache_gib"], np.array([c.least_cache_gib for c in caches]))
    out["required_mbps"] = [table.required(s, config.rpo_min, 100.0) or 0.0 for s in names]
    out["peak_churn_mibps"] = [c.peak_churn_mibps for c in caches]
    return out
