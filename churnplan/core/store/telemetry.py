"""Telemetry statistics aggregated in the store: per disk the counts the telemetry assessment derives from
(churnplan.analytics.telemetry_statistics documents the columns), never every sample in Python.

Two passes: one plain aggregate gives every disk's counts, first and last sample and whether its samples fill
consecutive slots (then it has no inner gap); only the other disks get a second aggregate, one bit per slot
(bitstring_agg), whose runs of zeros numpy counts a bounded number of disks at a time. No sort of the samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from churnplan.core.store.inventory import vcenter_list
from churnplan.core.store.runs import naive_utc

KEY = ["vcenter", "vm_id", "instance"]

# $1 interval_s, $2/$3 window (inclusive, NULL = open), $4 vCenters (NULL = all), $5 interval in microseconds.
_DISK_COUNTS = """
SELECT vcenter, vm_id, instance, count(*) AS samples, min(epoch_us(ts)) AS first_us, max(epoch_us(ts)) AS last_us,
       min(epoch_us(ts) % $5) AS r0, max(epoch_us(ts) % $5) AS r1,
       count(nullif(write_iops, 'NaN'::DOUBLE)) AS write_iops_present,   -- NaN counts as missing, as NULL
       count(nullif(read_kbps, 'NaN'::DOUBLE)) AS read_kbps_present,
       count(nullif(read_iops, 'NaN'::DOUBLE)) AS read_iops_present
FROM samples WHERE interval_s = $1 AND ($2::TIMESTAMP IS NULL OR ts >= $2) AND ($3::TIMESTAMP IS NULL OR ts <= $3)
      AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], vcenter))
GROUP BY vcenter, vm_id, instance"""

# The same selection as one bit per slot and disk ($6 t0: the selection's earliest sample end, epoch us; $7 the
# last slot): slot = round-half-to-even((ts - t0) / interval). A hash aggregate, no sort; pass $9 of $8 takes the
# disks whose key hashes to it, so DuckDB holds a bounded number of bit strings at a time.
_DISK_SLOTS = """
WITH d AS (SELECT vcenter, vm_id, instance, epoch_us(ts) - $6 AS d FROM samples
           WHERE interval_s = $1 AND ($2::TIMESTAMP IS NULL OR ts >= $2) AND ($3::TIMESTAMP IS NULL OR ts <= $3)
             AND ($4::VARCHAR[] IS NULL OR list_contains($4::VARCHAR[], vcenter))
             AND ($8 = 1 OR hash(vcenter, vm_id, instance) % $8 = $9))
SELECT vcenter, vm_id, instance,
       bitstring_agg(d // $5 + CASE WHEN 2 * (d % $5) > $5 OR (2 * (d % $5) = $5 AND (d // $5) % 2 = 1)
                                    THEN 1 ELSE 0 END, 0, $7) AS present
FROM d GROUP BY vcenter, vm_id, instance"""
SLOT_BITS_PER_PASS = 1 << 29      # 64 MiB of slot bits (one per disk and slot) held by DuckDB per pass
SLOT_CHARS_PER_FETCH = 1 << 23    # slot characters ('0'/'1') fetched into Python at a time

_COLUMNS = [*KEY, "samples", "first_us", "last_us", "inner_gaps", "longest_inner_gap", "write_iops_present",
            "read_kbps_present", "read_iops_present"]


def telemetry_statistics(con: duckdb.DuckDBPyConnection, interval_s: float, start: datetime | None = None,
                         end: datetime | None = None, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Per disk with samples at `interval_s` within [start, end] (of `vcenters`, all when None), sorted by key:
    samples, first_us, last_us, inner_gaps, longest_inner_gap and the *_present counts (int64 columns)."""
    iv_us = int(round(float(interval_s) * 1_000_000))
    params = [int(interval_s), naive_utc(start), naive_utc(end), vcenter_list(vcenters), iv_us]
    return telemetry_statistics_from_counts(con, con.execute(_DISK_COUNTS, params).df(), interval_s, start, end,
                                            vcenters)


def telemetry_statistics_from_counts(con: duckdb.DuckDBPyConnection, d: pd.DataFrame, interval_s: float,
                                     start: datetime | None = None, end: datetime | None = None,
                                     vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """telemetry_statistics from its per-disk counts already aggregated (the columns of _DISK_COUNTS, e.g. by a
    reader that scanned the same selection): only disks whose samples leave slots empty are read again."""
    iv_us = int(round(float(interval_s) * 1_000_000))
    params = [int(interval_s), naive_utc(start), naive_utc(end), vcenter_list(vcenters), iv_us]
    d = d.copy()
    if d.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in KEY else "int64") for c in _COLUMNS})
    t0, t1 = int(d["first_us"].min()), int(d["last_us"].max())
    span = d["last_us"] - d["first_us"]
    lead = (d["first_us"] - t0) % iv_us
    # Samples on one residue, one per interval from first to last, not on a half slot (rounded to even there).
    full = (d["r0"] == d["r1"]) & (span % iv_us == 0) & (span // iv_us + 1 == d["samples"]) & (2 * lead != iv_us)
    d["inner_gaps"], d["longest_inner_gap"] = 0, 0
    if not full.all():
        last_slot = _half_even(t1 - t0, iv_us)
        passes = -(-len(d) * (last_slot + 1) // SLOT_BITS_PER_PASS)
        gaps = pd.concat([_gaps(con, [*params, t0, last_slot, passes, k]) for k in range(passes)]).set_index(KEY)
        at = pd.MultiIndex.from_frame(d.loc[~full, KEY])
        d.loc[~full, "inner_gaps"] = gaps["inner_gaps"].reindex(at).to_numpy()
        d.loc[~full, "longest_inner_gap"] = gaps["longest_inner_gap"].reindex(at).to_numpy()
    return d[_COLUMNS].astype({c: "int64" for c in _COLUMNS[3:]}).sort_values(KEY, ignore_index=True)


def _half_even(offset_us: int, interval_us: int) -> int:
    q, r = divmod(offset_us, interval_us)
    return q + int(2 * r > interval_us or (2 * r == interval_us and q % 2 == 1))


def _gaps(con: duckdb.DuckDBPyConnection, params: list[Any]) -> pd.DataFrame:
    """inner_gaps and longest_inner_gap of one pass's disks from their slot bits, a bounded number at a time: the
    steps of each bit row mark where runs of present (+1) and missing (-1) slots start; a missing run followed by a
    present one in the same row is an inner gap."""
    cur = con.execute(_DISK_SLOTS, params)
    slots = int(params[6]) + 1
    parts = []
    while rows := cur.fetchmany(max(1, SLOT_CHARS_PER_FETCH // slots)):
        bits = np.frombuffer("".join(r[3] for r in rows).encode("ascii"), dtype=np.int8).reshape(len(rows), slots)
        step = np.diff(bits, axis=1)                       # '1' - '0' = +1: a present run starts; -1: a gap starts
        row, col = np.nonzero(step)
        kind = step[row, col]
        inner = (kind[:-1] == -1) & (kind[1:] == 1) & (row[:-1] == row[1:])
        length = (col[1:] - col[:-1])[inner]
        longest = np.zeros(len(rows), dtype=np.int64)
        np.maximum.at(longest, row[:-1][inner], length)
        parts.append(pd.DataFrame({"vcenter": [r[0] for r in rows], "vm_id": [r[1] for r in rows],
                                   "instance": [r[2] for r in rows],
                                   "inner_gaps": np.bincount(row[:-1][inner], minlength=len(rows)),
                                   "longest_inner_gap": longest}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEY, "inner_gaps",
                                                                                   "longest_inner_gap"])


def vm_intervals(con: duckdb.DuckDBPyConnection, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Every (vcenter, vm_id, interval_s) with samples, of `vcenters` (all when None): which VMs mix intervals."""
    return con.execute(
        """SELECT DISTINCT vcenter, vm_id, interval_s FROM samples
           WHERE $1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], vcenter)
           ORDER BY vcenter, vm_id, interval_s""", [vcenter_list(vcenters)]).df()
