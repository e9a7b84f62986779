"""Telemetry statistics aggregated in the store: per disk the counts the telemetry assessment derives from
(churnplan.analytics.telemetry_statistics documents the columns), in one SQL pass, never every sample in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from churnplan.core.store.inventory import vcenter_list
from churnplan.core.store.runs import naive_utc

# $1 interval_s, $2/$3 window (inclusive, NULL = open), $4 vCenters (NULL = all), $5 interval in microseconds.
# A sample's slot is round-half-to-even((ts - t0) / interval), t0 the earliest sample end selected; gaps are
# slot steps above one between a disk's consecutive samples (a window function over each disk's samples).
_DISK_STATISTICS = """
WITH s AS (
    SELECT vcenter, vm_id, instance, epoch_us(ts) AS t, write_iops, read_kbps, read_iops FROM samples
    WHERE interval_s = $1 AND ($2::TIMESTAMP IS NULL OR ts >= $2) AND ($3::TIMESTAMP IS NULL OR ts <= $3)
      AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], vcenter))),
q AS (SELECT s.*, (t - w.t0) // $5 AS q, (t - w.t0) % $5 AS r FROM s, (SELECT min(t) AS t0 FROM s) w),
slotted AS (
    SELECT vcenter, vm_id, instance, t, write_iops, read_kbps, read_iops,
           q + CASE WHEN 2 * r > $5 OR (2 * r = $5 AND q % 2 = 1) THEN 1 ELSE 0 END AS slot FROM q),
stepped AS (
    SELECT *, slot - lag(slot) OVER (PARTITION BY vcenter, vm_id, instance ORDER BY t) - 1 AS miss FROM slotted)
SELECT vcenter, vm_id, instance, count(*) AS samples, min(t) AS first_us, max(t) AS last_us,
       count(*) FILTER (WHERE miss > 0) AS inner_gaps,
       coalesce(max(miss) FILTER (WHERE miss > 0), 0) AS longest_inner_gap,
       count(*) FILTER (WHERE NOT isnan(write_iops)) AS write_iops_present,
       count(*) FILTER (WHERE NOT isnan(read_kbps)) AS read_kbps_present,
       count(*) FILTER (WHERE NOT isnan(read_iops)) AS read_iops_present
FROM stepped GROUP BY vcenter, vm_id, instance ORDER BY vcenter, vm_id, instance
"""


def telemetry_statistics(con: duckdb.DuckDBPyConnection, interval_s: float, start: datetime | None = None,
                    end: datetime | None = None, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Per disk with samples at `interval_s` within [start, end] (of `vcenters`, all when None): samples, first_us,
    last_us, inner_gaps, longest_inner_gap and the *_present counts of each counter (int64 columns)."""
    frame = con.execute(_DISK_STATISTICS, [int(interval_s), naive_utc(start), naive_utc(end),
                                           vcenter_list(vcenters),
                                           int(round(float(interval_s) * 1_000_000))]).df()
    counts = [c for c in frame.columns if c not in ("vcenter", "vm_id", "instance")]
    return frame.astype({c: "int64" for c in counts})


def vm_intervals(con: duckdb.DuckDBPyConnection, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Every (vcenter, vm_id, interval_s) with samples, of `vcenters` (all when None): which VMs mix intervals."""
    return con.execute(
        """SELECT DISTINCT vcenter, vm_id, interval_s FROM samples
           WHERE $1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], vcenter)
           ORDER BY vcenter, vm_id, interval_s""", [vcenter_list(vcenters)]).df()
