"""Telemetry quality worked by hand: coverage, gaps, missing counters, mixed intervals and the confidence rating."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import telemetry_quality as tq
from churnplan.analytics.telemetry_statistics import DiskStatistics

T0 = pd.Timestamp("2026-11-02T00:00:00Z")


def _disk(vm: str, instance: str, n: int, interval_s: int = 300, drop: slice | list[int] | None = None,
          write_iops: bool = True, read: bool = True) -> pd.DataFrame:
    ts = T0 + pd.to_timedelta(np.arange(n) * interval_s, unit="s")
    f = pd.DataFrame({"vcenter": "vc1", "vm_id": vm, "instance": instance, "ts": ts, "interval_s": interval_s,
                      "write_kbps": 100.0, "read_kbps": 50.0 if read else np.nan,
                      "write_iops": 10.0 if write_iops else np.nan, "read_iops": 5.0 if read else np.nan})
    return f.drop(f.index[drop]) if drop is not None else f


def _two_days() -> pd.DataFrame:
    # vm-1: one full disk (576 samples over 2 days); vm-2: a disk missing 1 h (12 samples) and write IOPS,
    # plus 1800 s samples (mixed intervals).
    return pd.concat([_disk("vm-1", "scsi0:0", 576), _disk("vm-2", "scsi0:0", 576, drop=slice(100, 112),
                                                             write_iops=False),
                      _disk("vm-2", "scsi0:0", 96, interval_s=1800)], ignore_index=True)


def test_coverage_gaps_and_days_per_disk():
    q = tq.assess(_two_days())
    assert q.interval_s == 300
    d = q.disks.set_index("vm_id")
    assert d.loc["vm-1", "coverage_pct"] == 100.0 and d.loc["vm-1", "gaps"] == 0
    assert d.loc["vm-2", "samples"] == 564 and d.loc["vm-2", "expected"] == 576
    assert d.loc["vm-2", "coverage_pct"] == pytest.approx(100 * 564 / 576)    # 97.9 %
    assert d.loc["vm-2", "gaps"] == 1 and d.loc["vm-2", "longest_gap_h"] == pytest.approx(1.0)
    assert d.loc["vm-1", "days_covered"] == pytest.approx(2.0)
    assert d.loc["vm-2", "missing_counters"] == "write IOPS" and d.loc["vm-1", "missing_counters"] == ""


def test_every_gap_of_a_disk_counts():
    two_gaps = _disk("vm-1", "scsi0:0", 288, drop=[10, 11, 12, 100, 200, 201])
    d = tq.assess(two_gaps).disks.iloc[0]
    assert d["gaps"] == 3 and d["longest_gap_h"] == pytest.approx(0.25) and d["samples"] == 282


def test_per_vm_write_size_and_mixed_intervals():
    v = tq.assess(_two_days()).vms.set_index("vm_id")
    assert bool(v.loc["vm-1", "write_size_known"]) and not bool(v.loc["vm-2", "write_size_known"])
    assert v.loc["vm-2", "intervals_s"] == "300;1800" and bool(v.loc["vm-2", "mixed_intervals"])
    assert not bool(v.loc["vm-1", "mixed_intervals"])


def test_rating_is_stars_by_coverage_less_one_per_weakness():
    q = tq.assess(_two_days())
    # (576 + 564) / 1152 = 98.96 % -> 5 stars; 2 days (< 7) -1; write IOPS missing on one disk -1.
    assert q.estate["coverage_pct"] == pytest.approx(100 * 1140 / 1152)
    assert q.rating == 3
    assert any("2.0 days profiled" in r for r in q.reasons) and any("write IOPS missing on 1 of 2" in r
                                                                     for r in q.reasons)
    assert any("several intervals" in r for r in q.reasons)
    assert [w.split(" (")[0] for w in q.warnings] == ["only 2.0 days of telemetry"]


def test_a_late_disk_counts_its_missing_start_as_a_gap_and_low_coverage_warns():
    late = _disk("vm-2", "scsi0:1", 576, drop=slice(0, 300), read=False)   # starts 25 h late, no read counters
    q = tq.assess(pd.concat([_disk("vm-1", "scsi0:0", 576), late]))
    d = q.disks.set_index("vm_id")
    assert d.loc["vm-2", "gaps"] == 1 and d.loc["vm-2", "longest_gap_h"] == pytest.approx(25.0)
    assert d.loc["vm-2", "missing_counters"] == "read KBps, read IOPS"
    assert q.estate["coverage_pct"] == pytest.approx(100 * 852 / 1152)      # 74 % -> 4 stars
    # 4 stars, -1 days, -1 read counters, -1 a gap of 24 h or more.
    assert q.rating == 1
    assert any(w.startswith("only 74.0 % of expected samples") for w in q.warnings)


def test_polars_input_as_the_store_loads_it_gives_the_same_answer():
    frame = _two_days()
    enum = {k: pl.Enum(sorted({*frame[k].unique(), "a-absent"})) for k in tq.KEYS}   # categories may hold more
    fast = pl.from_pandas(frame).with_columns(*(pl.col(k).cast(e) for k, e in enum.items()))
    assert tq.assess(fast).rating == tq.assess(frame).rating
    pd.testing.assert_frame_equal(tq.assess(fast).disks, tq.assess(frame).disks)


def test_stars_follow_azure_migrate_bands():
    assert list(tq.stars([0, 20, 20.5, 40, 60, 80, 81, 100])) == [1, 1, 2, 2, 3, 4, 5, 5]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 287), max_size=200))
def test_dropping_samples_never_raises_coverage_or_confidence(drop):
    full = pd.concat([_disk("vm-1", "scsi0:0", 288), _disk("vm-2", "scsi0:0", 288)], ignore_index=True)
    keep = np.ones(len(full), dtype=bool)
    keep[[288 + i for i in drop if 0 < i < 287]] = False   # keep vm-2's first and last so the window holds
    before, after = tq.assess(full), tq.assess(full[keep])
    assert after.estate["coverage_pct"] <= before.estate["coverage_pct"]
    assert after.rating <= before.rating


def test_the_assessment_derives_from_per_disk_statistics_worked_by_hand():
    # Two disks at 300 s over a 12-slot window (first slot at T0): vm-1 fills it; vm-2 starts at slot 1, misses
    # slots 4-5 and stops at slot 10, and never reports read counters.
    us = 1_000_000
    t0 = int(T0.timestamp()) * us
    stats = pd.DataFrame({"vcenter": "vc1", "vm_id": ["vm-1", "vm-2"], "instance": "scsi0:0",
                          "samples": [12, 8], "first_us": [t0, t0 + 300 * us], "last_us": [t0 + 11 * 300 * us,
                                                                                     t0 + 10 * 300 * us],
                          "inner_gaps": [0, 1], "longest_inner_gap": [0, 2], "write_iops_present": [12, 8],
                          "read_kbps_present": [12, 0], "read_iops_present": [12, 0]})
    q = tq.from_statistics(DiskStatistics(300.0, stats))
    d = q.disks.set_index("vm_id")
    assert d.loc["vm-2", "expected"] == 12 and d.loc["vm-2", "coverage_pct"] == pytest.approx(100 * 8 / 12)
    assert d.loc["vm-2", "gaps"] == 3                              # the late start, slots 4-5, the early stop
    assert d.loc["vm-2", "longest_gap_h"] == pytest.approx(2 * 300 / 3600)
    assert d.loc["vm-2", "days_covered"] == pytest.approx(10 * 300 / 86400)
    assert d.loc["vm-2", "missing_counters"] == "read KBps, read IOPS" and d.loc["vm-1", "missing_counters"] == ""
    assert q.estate["coverage_pct"] == pytest.approx(100 * 20 / 24) and q.estate["days_covered"] == pytest.approx(
        12 * 300 / 86400)
    assert not q.vms["mixed_intervals"].any() and set(q.vms["intervals_s"]) == {"300"}
