"""The telemetry assessment from per-disk statistics aggregated in the store (bounded memory) is the assessment
of every sample loaded: gaps, late starts, off-grid times, missing counters, mixed intervals, windows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest

from churnplan.analytics import telemetry_quality as tq
from churnplan.analytics import telemetry_statistics
from churnplan.core import store
from churnplan.core.store import telemetry as store_telemetry
from churnplan.engines.store_telemetry import statistics_from_store

T0 = pd.Timestamp("2026-11-02T00:00:00")


def _messy_samples(seed: int) -> pd.DataFrame:
    """Two vCenters; disks with random holes, one starting late, one stopping early, counters missing as NULL or
    NaN, off-grid ends (one on a half slot, rounded to even), and a VM also sampled at 20 s."""
    rng = np.random.default_rng(seed)
    rows = []
    for vc in ("vc-a", "vc-b"):
        for vm in range(3):
            for disk in range(2):
                slots = np.arange(600)
                keep = rng.random(slots.size) > rng.uniform(0.0, 0.3)
                if vm == 1 and disk == 0:
                    keep[:200] = False                       # starts late
                if vm == 2 and disk == 1:
                    keep[450:] = False                       # stops early
                keep[0 if (vm, disk) != (1, 0) else 200] = True
                offsets = slots[keep] * 300.0
                if vc == "vc-b" and vm == 0 and disk == 0:
                    offsets = np.append(offsets[offsets > 900], [150.0, 450.0, 460.0])   # off the 300 s grid
                for k, off in enumerate(offsets):
                    rows.append((vc, f"vm-{vm}", f"scsi0:{disk}", T0 + pd.Timedelta(seconds=float(off)), 300,
                                 float(rng.uniform(0, 500)), float(rng.uniform(0, 500)),
                                 None if (vm == 2 and disk == 0) else (np.nan if k % 7 == 0 else 5.0),
                                 None if (vc == "vc-a" and vm == 0) else 3.0))
    for k in range(500):
        rows.append(("vc-a", "vm-1", "scsi0:1", T0 + pd.Timedelta(seconds=20 * k), 20, 1.0, 1.0, 1.0, 1.0))
    return pd.DataFrame(rows, columns=store.SAMPLE_COLUMNS)


def _every_sample(con, vcenters=None) -> pl.DataFrame:
    frames = [store.load_samples_polars(con, int(iv)).with_columns(pl.col(["vcenter", "vm_id", "instance"])
                                                                   .cast(pl.String))
              for iv in store.sample_intervals(con)["interval_s"]]
    f = pl.concat(frames)
    return f if vcenters is None else f.filter(pl.col("vcenter").is_in(vcenters))


def _same(a: tq.TelemetryQuality, b: tq.TelemetryQuality) -> None:
    pd.testing.assert_frame_equal(a.disks, b.disks, check_exact=True)
    pd.testing.assert_frame_equal(a.vms, b.vms, check_exact=True)
    assert (a.estate, a.rating, a.reasons, a.warnings) == (b.estate, b.rating, b.reasons, b.warnings)


@pytest.fixture(scope="module", params=[1, 2, 3])
def messy_db(request, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("messy") / "s.duckdb"
    con = store.connect(path)
    store.insert_samples(con, _messy_samples(request.param))
    con.close()
    return str(path)


@pytest.mark.parametrize("bits_per_pass", [1 << 29, 5_000], ids=["one pass", "passes by key hash"])
def test_the_store_statistics_are_those_of_every_sample(messy_db, bits_per_pass, monkeypatch):
    monkeypatch.setattr(store_telemetry, "SLOT_BITS_PER_PASS", bits_per_pass)
    monkeypatch.setattr(store_telemetry, "SLOT_CHARS_PER_FETCH", bits_per_pass)
    con = store.connect(messy_db, read_only=True)
    every = _every_sample(con)
    from_store = statistics_from_store(con, 300, every_interval=True)
    con.close()
    loaded = telemetry_statistics.from_samples(every, 300)
    got = from_store.disks.reset_index(drop=True)
    pd.testing.assert_frame_equal(got, loaded.disks.sort_values(["vcenter", "vm_id", "instance"],
                                                               ignore_index=True), check_dtype=False)
    _same(tq.assess(every, 300), tq.from_statistics(from_store))


def test_a_window_and_a_vcenter_select_alike(messy_db):
    start, end = datetime(2026, 11, 2, 3, 0), datetime(2026, 11, 3, 12, 0)
    con = store.connect(messy_db, read_only=True)
    window = store.load_samples_polars(con, 300, start, end).with_columns(pl.col(["vcenter", "vm_id", "instance"])
                                                                          .cast(pl.String))
    stats = statistics_from_store(con, 300, start, end, vcenters=["vc-b"])
    con.close()
    assert set(stats.disks["vcenter"]) == {"vc-b"}
    _same(tq.assess(window.filter(pl.col("vcenter") == "vc-b"), 300), tq.from_statistics(stats))


def test_off_grid_ends_round_half_to_even_and_count_their_gaps(tmp_db):
    rows = [("vc", "vm-1", "scsi0:0", T0 + pd.Timedelta(seconds=s), 300, 1.0, 1.0, 1.0, 1.0)
            for s in (0, 450, 1050, 1200, 2400)]   # slots 0, 2 (1.5 -> 2), 4 (3.5 -> 4), 4, 8
    con = store.connect(tmp_db)
    store.insert_samples(con, pd.DataFrame(rows, columns=store.SAMPLE_COLUMNS))
    stats = statistics_from_store(con, 300).disks.iloc[0]
    con.close()
    assert (stats["samples"], stats["inner_gaps"], stats["longest_inner_gap"]) == (5, 3, 3)


def test_a_nan_stored_counts_as_a_missing_counter_like_null(tmp_db):
    rows = [("vc", "vm-1", "scsi0:0", T0 + pd.Timedelta(seconds=300 * k), 300, 1.0, 1.0, 1.0, 1.0) for k in range(6)]
    con = store.connect(tmp_db)
    store.insert_samples(con, pd.DataFrame(rows, columns=store.SAMPLE_COLUMNS))
    con.execute("UPDATE samples SET write_iops = 'NaN'::DOUBLE WHERE ts < ?", [T0 + pd.Timedelta(seconds=900)])
    con.execute("UPDATE samples SET read_iops = NULL WHERE ts > ?", [T0 + pd.Timedelta(seconds=900)])
    assert con.execute("SELECT count(*) FROM samples WHERE isnan(write_iops)").fetchone()[0] == 3
    stats = statistics_from_store(con, 300)
    every = _every_sample(con)
    con.close()
    assert stats.disks.iloc[0][["write_iops_present", "read_iops_present"]].tolist() == [3, 4]
    _same(tq.assess(every, 300), tq.from_statistics(stats))
