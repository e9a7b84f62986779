"""The sample grid behind every aggregation: pandas, polars and store-loaded frames plan alike; gaps and NULLs
are handled as the row-wise definitions say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import churn, rpo, sample_grid
from churnplan.analytics.model import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.core import store

START = pd.Timestamp("2026-11-09 00:00", tz="UTC")


def ragged_estate(seed: int = 3, n_vm: int = 4, n_t: int = 60,
                  jitter: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """VMs with 1..3 disks, some samples missing, some values NULL; 300 s samples in shuffled order
    (with `jitter`, some end 7 s late, off the interval grid)."""
    rng = np.random.default_rng(seed)
    rows = []
    disks = []
    for v in range(n_vm):
        for i in range(1 + v % 3):
            disks.append({"vcenter": "vc", "vm_id": f"vm-{v}", "instance": f"scsi0:{i}", "label": f"Hard disk {i + 1}",
                          "capacity_gib": 100.0, "used_gib": 40.0, "is_os_disk": i == 0})
            for t in range(n_t):
                if rng.random() < 0.15:
                    continue
                w = float(rng.gamma(0.8, 400.0))
                rows.append({"vcenter": "vc", "vm_id": f"vm-{v}", "instance": f"scsi0:{i}",
                             "ts": START + pd.Timedelta(seconds=300 * (t + 1) + (7 if jitter and t % 5 == i else 0)),
                             "interval_s": 300,
                             "write_kbps": w if rng.random() > 0.05 else None, "read_kbps": 2 * w,
                             "write_iops": w / 8, "read_iops": w / 4})
    samples = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    vms = pd.DataFrame({"vcenter": "vc", "vm_id": [f"vm-{v}" for v in range(n_vm)],
                        "name": [f"app{v:02d}" for v in range(n_vm)], "firmware": "bios", "num_cpu": 2})
    return vms, pd.DataFrame(disks), samples


def plan_frames(plan) -> dict[str, pd.DataFrame]:
    return plan.tables() | {f: getattr(plan, f) for f in ("estate_series", "lag_series", "daily_lag",
                                                           "initial_replication", "cost", "compliance_curve")}


def assert_same_plan(a, b) -> None:
    for name, frame in plan_frames(a).items():
        pd.testing.assert_frame_equal(frame, plan_frames(b)[name], check_dtype=False, rtol=1e-12, obj=name)
    sa = {k: v for k, v in a.summary.to_dict().items() if k != "generated_utc"}
    sb = {k: v for k, v in b.summary.to_dict().items() if k != "generated_utc"}
    assert sa == sb


def test_pandas_polars_and_store_frames_give_identical_plans(tmp_path):
    vms, disks, samples = ragged_estate()
    config = PlanConfig(bandwidth_mbps=2.0, exclude_disks=("app01/scsi0:1",))
    from_pandas = build_plan(vms, disks, samples, config)
    from_polars = build_plan(vms, disks, pl.from_pandas(samples), config)
    con = store.connect(tmp_path / "s.duckdb")
    store.insert_samples(con, samples)
    from_store = build_plan(vms, disks, store.load_samples_polars(con), config)
    assert_same_plan(from_pandas, from_polars)
    assert_same_plan(from_pandas, from_store)
    assert from_pandas.summary.excluded_disks == 1


def test_store_fast_loader_holds_the_same_samples_as_the_pandas_loader(tmp_path):
    _, _, samples = ragged_estate(seed=5)
    con = store.connect(tmp_path / "s.duckdb")
    store.insert_samples(con, samples)
    start, end = START + pd.Timedelta(minutes=50), START + pd.Timedelta(hours=3)
    fast = store.load_samples_polars(con, 300, start, end)
    slow = store.load_samples(con, 300, start, end)
    assert isinstance(fast["vm_id"].dtype, pl.Enum) and fast["ts"].dtype.time_zone == "UTC"
    got = fast.with_columns(pl.col(["vcenter", "vm_id", "instance"]).cast(pl.String)).to_pandas()
    keys = ["vcenter", "vm_id", "instance", "ts"]
    got = got.sort_values(keys, ignore_index=True)
    want = slow.sort_values(keys, ignore_index=True)
    assert len(got) == len(want) > 0
    assert (got["ts"] >= start).all() and (got["ts"] <= end).all()
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(1, 100), st.booleans())
def test_profiles_match_row_wise_groupby_definitions(seed, pct, jitter):
    # Disks with gaps: the percentile is over each disk's own samples; a VM's series is the per-time sum over
    # the disks that have a sample then; NULL values count as 0. Off-grid end times are times of their own.
    _, _, samples = ragged_estate(seed=seed, n_vm=3, n_t=25, jitter=jitter)
    vals = samples.fillna({"write_kbps": 0.0})
    disk = churn.disk_profiles(samples, pct, 0.0).set_index(["vcenter", "vm_id", "instance"])
    want = vals.groupby(["vcenter", "vm_id", "instance"])["write_kbps"]
    pd.testing.assert_series_equal(disk["peak_write_kibps"], want.quantile(pct / 100), check_names=False, rtol=1e-12)
    pd.testing.assert_series_equal(disk["max_write_kibps"], want.max(), check_names=False, rtol=1e-12)
    assert (disk["samples"] == want.size()).all()
    vm = churn.vm_profiles(samples, pct, 0.0).set_index(["vcenter", "vm_id"])
    per_time = vals.groupby(["vcenter", "vm_id", "ts"])["write_kbps"].sum().groupby(["vcenter", "vm_id"])
    pd.testing.assert_series_equal(vm["peak_write_kibps"], per_time.quantile(pct / 100), check_names=False, rtol=1e-12)
    pd.testing.assert_series_equal(vm["avg_write_kibps"], per_time.mean(), check_names=False, rtol=1e-12)


@pytest.mark.parametrize("jitter", [False, True])
def test_prepare_accepts_frames_and_grids_alike(jitter):
    _, _, samples = ragged_estate(seed=8, jitter=jitter)
    a = rpo.prepare(samples)
    b = rpo.prepare(pl.from_pandas(samples))
    c = rpo.prepare(sample_grid.from_frame(samples).by_vm())
    for other in (b, c):
        np.testing.assert_array_equal(a.times, other.times)
        np.testing.assert_allclose(a.vm_bytes, other.vm_bytes, rtol=1e-12)
    # Column sums are the per-time write volumes of the raw rows.
    want = samples.fillna({"write_kbps": 0.0}).groupby("ts")["write_kbps"].sum().to_numpy() * 1024 * 300
    np.testing.assert_allclose(a.vm_bytes.sum(axis=1), want, rtol=1e-12)


def test_repeated_samples_and_mixed_intervals_are_refused():
    _, _, samples = ragged_estate(seed=1, n_vm=1, n_t=5)
    with pytest.raises(ValueError, match="repeating a disk and end time"):
        sample_grid.from_frame(pd.concat([samples, samples.iloc[:1]]))
    mixed = samples.assign(interval_s=[300] * (len(samples) - 1) + [20])
    with pytest.raises(ValueError, match="mix intervals"):
        sample_grid.from_frame(mixed)


def test_sorting_fallbacks_code_keys_and_times_as_the_lookup_tables_do(monkeypatch):
    # Large key or time ranges are coded by sorting instead of lookup tables; both must give the same grid.
    _, _, samples = ragged_estate(seed=11)
    table = sample_grid.from_frame(samples)
    monkeypatch.setattr(sample_grid, "_LUT_LIMIT", 1)
    sorted_ = sample_grid.from_frame(samples)
    pd.testing.assert_frame_equal(table.keys, sorted_.keys)
    np.testing.assert_array_equal(table.times, sorted_.times)
    for m in sample_grid.METRICS:
        np.testing.assert_array_equal(table.metric(m), sorted_.metric(m))


def test_prepare_leaves_excluded_disks_out():
    # The dashboard hands prepare the plan's disk frame; only rows flagged excluded leave the sums.
    _, disks, samples = ragged_estate(seed=8)
    p = rpo.prepare(samples, excluded=disks.assign(excluded=disks["instance"] == "scsi0:1"))
    kept = samples[samples["instance"] != "scsi0:1"].fillna({"write_kbps": 0.0})
    want = kept.groupby("ts")["write_kbps"].sum() * 1024 * 300
    assert len(kept) < len(samples)
    np.testing.assert_array_equal(p.times, want.index.as_unit("s").asi8.astype(float))
    np.testing.assert_allclose(p.vm_bytes.sum(axis=1), want.to_numpy(), rtol=1e-12)
