"""The telemetry assessment of a store in bounded memory: per-disk statistics from one SQL aggregate
(churnplan.core.store.telemetry), derived by analytics.telemetry_quality exactly as from every sample loaded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from churnplan.analytics.telemetry_statistics import DiskStatistics
from churnplan.core import store


def statistics_from_store(con: duckdb.DuckDBPyConnection, interval_s: float, start: datetime | None = None,
                          end: datetime | None = None, vcenters: Sequence[str] | None = None,
                          every_interval: bool = False) -> DiskStatistics:
    """The statistics of the samples at `interval_s` within [start, end] of `vcenters` (all when None); with
    `every_interval`, each VM's intervals across the store (mixed intervals), else the assessed one alone (as a
    plan loading one interval sees them)."""
    disks = store.telemetry_statistics(con, interval_s, start, end, vcenters)
    return DiskStatistics(float(interval_s), disks, store.vm_intervals(con, vcenters) if every_interval else None)


def statistics_from_counts(con: duckdb.DuckDBPyConnection, counts: pd.DataFrame, interval_s: float,
                           start: datetime | None = None, end: datetime | None = None,
                           vcenters: Sequence[str] | None = None) -> DiskStatistics:
    """statistics_from_store when the per-disk counts were aggregated already (by the block reader)."""
    return DiskStatistics(float(interval_s),
                          store.telemetry_statistics_from_counts(con, counts, interval_s, start, end, vcenters), None)
