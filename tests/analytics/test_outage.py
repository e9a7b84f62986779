"""Outage catch-up worked by hand on constant churn, and its monotone properties on random churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import outage, queue
from churnplan.analytics.rpo import PreparedChurn

INTERVAL = 300.0
MBPS = 1e6 / 8  # bytes/s in 1 Mbps


def _constant(churn_mbps: float, days: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    times = 1.8e9 + INTERVAL * np.arange(1, int(days * 86_400 / INTERVAL) + 1)
    return times, np.full(times.size, churn_mbps * MBPS * INTERVAL)


def test_constant_churn_catches_up_as_worked_by_hand():
    # c = 50 Mbps of writes, b = 100 Mbps, outage h = 4 h, RPO R = 15 min.
    # At the link's return the backlog is c*h and the lag h. The oldest unsent byte at x after the return was
    # written at o0 + b*x/c, so lag = h - x*(b - c)/c: back within R after (h - R)*c/(b - c) = 3.75 h, and the
    # backlog (c*h, drained at b - c) is empty after h*c/(b - c) = 4 h.
    times, vol = _constant(50.0)
    curve = queue.arrival_curve(times, INTERVAL, vol)
    start = times[100]
    r = outage.recover(curve, queue.Capacity(mbps=100.0), 15 * 60.0, start, 4.0)
    assert r.lag_at_return_min == pytest.approx(240.0)
    assert r.catchup_h == pytest.approx(3.75)
    assert r.drain_h == pytest.approx(4.0)
    assert r.recovered_after_h == pytest.approx(7.75)
    assert r.peak_backlog_gib == pytest.approx(50 * MBPS * 4 * 3600 / 2**30)   # 83.8 GiB


def test_an_outage_shorter_than_the_rpo_needs_no_catch_up():
    times, vol = _constant(50.0)
    r = outage.recover(queue.arrival_curve(times, INTERVAL, vol), queue.Capacity(mbps=100.0), 15 * 60.0,
                       times[100], 0.2)                                      # 12 min < 15 min
    assert r.catchup_h == 0.0 and r.drain_h == pytest.approx(0.2)           # drains in h*c/(b-c) = 0.2 h


def test_a_link_no_faster_than_the_churn_never_catches_up():
    times, vol = _constant(50.0)
    r = outage.recover(queue.arrival_curve(times, INTERVAL, vol), queue.Capacity(mbps=50.0), 15 * 60.0,
                       times[100], 1.0)
    assert r.catchup_h == np.inf and r.drain_h == np.inf


def _prepared(times: np.ndarray, vol: np.ndarray) -> PreparedChurn:
    vms = pd.DataFrame({"vcenter": ["vc"], "vm_id": ["vm-1"], "name": ["a"], "scope": ["estate"]})
    return PreparedChurn(times, INTERVAL, vms, vol[:, None])


def test_every_start_of_constant_churn_recovers_alike_and_the_cache_holds_the_backlog():
    times, vol = _constant(50.0, days=1.0)
    res = outage.catch_up(_prepared(times, vol), 4.0, queue.Capacity(mbps=100.0), rpo_min=15, step_h=2.0)
    assert len(res.starts) == 12
    assert res.starts["catchup_h"].to_numpy() == pytest.approx(np.full(12, 3.75))
    assert res.worst.catchup_h == pytest.approx(3.75) and res.typical.catchup_h == pytest.approx(3.75)
    backlog = 50 * MBPS * 4 * 3600 / 2**30
    assert res.cache_gib == pytest.approx(backlog)
    assert res.cache_disk_gib == pytest.approx(backlog / 0.7)               # free cache stays >= 30 %
    s = res.summary()
    assert s["worst_catchup_h"] == pytest.approx(3.75) and s["cache_gib"] == pytest.approx(backlog)


def test_compression_shrinks_the_link_backlog_not_the_cache():
    times, vol = _constant(50.0, days=1.0)
    res = outage.catch_up(_prepared(times, vol), 4.0, queue.Capacity(mbps=100.0), rpo_min=15, compression=0.5,
                          step_h=6.0)
    # The link sees 25 Mbps: back within 15 min after (4 - 0.25) * 25 / 75 = 1.25 h.
    assert res.worst.catchup_h == pytest.approx(1.25)
    assert res.cache_gib == pytest.approx(50 * MBPS * 4 * 3600 / 2**30)


def test_the_worst_start_falls_in_the_busy_hours():
    # Quiet hours 0-12 at 10 Mbps, busy hours 12-24 at 60 Mbps, link 80 Mbps, 2 h outage, RPO 15 min.
    # An outage inside the busy hours with 5.25 h of busy hours after the return catches up in
    # (2 - 0.25) * 60 / 20 = 5.25 h: starts at 12 h .. 17 h (at 17 h the crossing falls at 24.25 h, exactly when
    # the quiet hours' writes reach the RPO horizon). Every other start recovers faster.
    times, vol = _constant(10.0, days=1.0)
    busy = (times - times[0]) // 3600 % 24 >= 12
    vol = np.where(busy, 60.0 * MBPS * INTERVAL, vol)
    res = outage.catch_up(_prepared(times, vol), 2.0, queue.Capacity(mbps=80.0), rpo_min=15, step_h=1.0)
    assert res.worst.catchup_h == pytest.approx(5.25)
    assert res.typical.catchup_h < res.worst.catchup_h
    worst_hour = round((res.worst.outage_start - (times[0] - INTERVAL)) / 3600)
    assert 12 <= worst_hour <= 17
    hours = ((res.starts["outage_start"] - res.starts["outage_start"].iloc[0]).dt.total_seconds() / 3600).round()
    assert (res.starts.loc[hours.between(12, 17), "catchup_h"].to_numpy() == pytest.approx(np.full(6, 5.25)))
    assert (res.starts.loc[~hours.between(12, 17), "catchup_h"] < 5.25 - 1e-6).all()


def test_an_outage_as_long_as_the_profile_is_refused():
    times, vol = _constant(50.0, days=0.5)
    with pytest.raises(ValueError, match="not shorter than the 12 h profile"):
        outage.catch_up(_prepared(times, vol), 12.0, queue.Capacity(mbps=100.0), rpo_min=15)


def test_outage_capacity_sends_nothing_during_the_outage():
    cap = outage.OutageCapacity(mbps=8.0, outage_start=100.0, outage_end=200.0)   # 1e6 bytes/s
    got = cap.cumulative(np.array([50.0, 100.0, 150.0, 200.0, 300.0]), 0.0)
    assert list(got) == [5e7, 1e8, 1e8, 1e8, 2e8]
    assert list(cap.breakpoints(0.0, 1000.0)) == [100.0, 200.0]


_churn = st.lists(st.floats(0.0, 120.0), min_size=48, max_size=48)


@settings(max_examples=25, deadline=None)
@given(_churn, st.floats(0.25, 3.0), st.floats(0.1, 3.0))
def test_a_longer_outage_never_recovers_sooner(churn_mbps, h, extra):
    times = 1.8e9 + INTERVAL * np.arange(1, 49)
    curve = queue.arrival_curve(times, INTERVAL, np.array(churn_mbps) * MBPS * INTERVAL)
    cap = queue.Capacity(mbps=100.0)
    short = outage.recover(curve, cap, 900.0, times[0], h, until=times[-1] + 86_400)
    long = outage.recover(curve, cap, 900.0, times[0], h + extra, until=times[-1] + 86_400)
    assert long.recovered_after_h >= short.recovered_after_h - 1e-9
    assert long.peak_backlog_gib >= short.peak_backlog_gib - 1e-12


@settings(max_examples=25, deadline=None)
@given(_churn, st.floats(10.0, 200.0), st.floats(1.0, 200.0))
def test_more_bandwidth_never_recovers_slower(churn_mbps, mbps, more):
    times = 1.8e9 + INTERVAL * np.arange(1, 49)
    curve = queue.arrival_curve(times, INTERVAL, np.array(churn_mbps) * MBPS * INTERVAL)
    slow = outage.recover(curve, queue.Capacity(mbps=mbps), 900.0, times[3], 1.0, until=times[-1] + 86_400)
    fast = outage.recover(curve, queue.Capacity(mbps=mbps + more), 900.0, times[3], 1.0, until=times[-1] + 86_400)
    assert fast.catchup_h <= slow.catchup_h + 1e-9
    assert fast.drain_h <= slow.drain_h + 1e-9


def test_an_outage_under_a_throttle_schedule_sends_nothing_and_the_schedule_resumes():
    from datetime import time

    from churnplan.analytics.model import ThrottleSchedule

    th = ThrottleSchedule(work_start=time(9), work_end=time(18), work_mbps=8.0, offhours_mbps=16.0, timezone="UTC",
                          workdays=(0, 1, 2, 3, 4, 5, 6))
    day = 1_800_000_000.0 - 1_800_000_000.0 % 86_400            # a UTC midnight
    base = queue.Capacity(throttle=th)
    cap = outage.OutageCapacity(throttle=th, outage_start=day + 8 * 3600, outage_end=day + 10 * 3600)
    t = day + np.array([8, 9, 10, 11]) * 3600.0
    got = cap.cumulative(t, day)
    assert got[1] == got[0] and got[2] == got[0]                  # nothing sent from 08:00 to 10:00
    assert got[3] - got[2] == pytest.approx(3600 * 1e6)           # 10:00-11:00 at the 8 Mbps work rate
    assert got[0] == pytest.approx(base.cumulative(t[:1], day)[0])
    assert {day + 8 * 3600, day + 9 * 3600, day + 10 * 3600} <= set(cap.breakpoints(day, day + 86_400))
