"""Planning from the store block by block gives exactly build_plan's figures, in either table layout."""

from __future__ import annotations

import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics.config import PlanConfig
from churnplan.analytics.plan import build_plan
from churnplan.core import memory_cap, sample_layout, sample_reader, store
from churnplan.engines.store import plan_from_store

FRAMES = ["vms", "disks", "process_servers", "rpo", "estate_series", "lag_series", "daily_lag",
          "initial_replication", "cost", "compliance_curve", "vm_sizes", "cores_by_family", "storage_accounts"]


def _same_plan(a, b) -> None:
    """`b` (planned block by block, its telemetry assessed from per-disk statistics aggregated in the store) is
    `a` (every sample loaded), telemetry confidence included."""
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    pd.testing.assert_frame_equal(a.bandwidth.frame, b.bandwidth.frame, check_exact=True)
    sa, sb = a.summary.to_dict(), b.summary.to_dict()
    sa.pop("generated_utc"), sb.pop("generated_utc")
    assert sa["telemetry"]["confidence"] in range(1, 6)
    assert sa == sb


@pytest.fixture(scope="module")
def clustered_store(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clustered") / "sample.duckdb"
    shutil.copy(sample_store_master, path)
    con = store.connect(path)
    sample_layout.cluster_samples(con)
    con.close()
    return path


@pytest.mark.parametrize("layout", ["as imported", "clustered"])
@pytest.mark.parametrize("config", [PlanConfig(), PlanConfig(bandwidth_mbps=40.0, exclude_disks=("*/scsi0:1",))],
                         ids=["defaults", "link-and-exclusions"])
def test_blocks_of_vms_plan_exactly_like_every_sample_loaded(layout, config, sample_store_master, clustered_store):
    con = store.connect(sample_store_master if layout == "as imported" else clustered_store, read_only=True)
    loaded = build_plan(store.load_vms(con), store.load_disks(con), store.load_samples_polars(con), config)
    streamed = plan_from_store(con, config, rows_per_block=40_000)   # many blocks of a few VMs each
    con.close()
    _same_plan(loaded, streamed)


@pytest.mark.parametrize("layout", ["as imported", "clustered"])
@pytest.mark.parametrize("config", [PlanConfig(), PlanConfig(exclude_disks=("*/scsi0:1",), percentile=99.0,
                                                             start=pd.Timestamp("2026-11-12").to_pydatetime()),
                                    PlanConfig(bandwidth_mbps=40.0)],
                         ids=["defaults", "exclusions-and-window", "a-link-keeps-the-series-for-its-fair-share"])
def test_without_room_for_the_vms_series_a_second_read_sums_them_per_server_alike(layout, config, sample_store_master,
                                                                                 clustered_store):
    # No per-VM series kept (a budget of 0 bytes): after assignment the blocks are read again, write KBps only
    # on the clustered store, and summed per process server as they come. Every figure is the same.
    con = store.connect(sample_store_master if layout == "as imported" else clustered_store, read_only=True)
    samples = store.load_samples_polars(con, None, config.start, config.end)
    loaded = build_plan(store.load_vms(con), store.load_disks(con), samples, config)
    streamed = plan_from_store(con, config, rows_per_block=40_000, series_budget_bytes=0)
    con.close()
    _same_plan(loaded, streamed)


def test_the_20s_samples_plan_alike(sample_store_master):
    con = store.connect(sample_store_master, read_only=True)
    config = PlanConfig()
    loaded = build_plan(store.load_vms(con), store.load_disks(con), store.load_samples_polars(con, 20), config)
    _same_plan(loaded, plan_from_store(con, config, interval_s=20, rows_per_block=100_000))
    con.close()


def _tiny_store(path: Path, rows: list[tuple]) -> None:
    con = store.connect(path)
    store.insert_samples(con, pd.DataFrame(rows, columns=store.SAMPLE_COLUMNS))
    con.close()


def test_a_block_is_the_disks_by_time_matrix_with_gaps_and_empty_values(tmp_db):
    t = pd.Timestamp("2026-11-09 00:05")
    step = pd.Timedelta(seconds=300)
    _tiny_store(tmp_db, [
        ("vc", "vm-2", "scsi0:0", t, 300, 10.0, 1.0, 2.0, 3.0),
        ("vc", "vm-1", "scsi0:1", t + step, 300, None, 4.0, 1.0, None),   # NULLs count as 0
        ("vc", "vm-1", "scsi0:0", t, 300, 5.0, 0.0, 1.0, 0.0),
        ("vc", "vm-1", "scsi0:0", t + 2 * step, 300, 7.0, 1.0, 1.0, 1.0),
        ("vc", "vm-1", "scsi0:0", t + step, 20, 99.0, 0.0, 0.0, 0.0),      # another interval: not read
    ])
    con = store.connect(tmp_db, read_only=True)
    reader = sample_reader.SampleReader(con, 300, rows_per_block=1)
    blocks = list(reader.blocks())
    con.close()
    assert [b.keys["vm_id"].tolist() for b in blocks] == [["vm-1", "vm-1"], ["vm-2"]]   # whole VMs per block
    assert reader.times.tolist() == [t.timestamp() + k * 300 for k in range(3)]
    np.testing.assert_array_equal(blocks[0].write_kbps, [[5.0, np.nan, 7.0], [np.nan, 0.0, np.nan]])
    np.testing.assert_array_equal(blocks[0].rw_kbps, [[5.0, np.nan, 8.0], [np.nan, 4.0, np.nan]])
    np.testing.assert_array_equal(blocks[0].iops, [[1.0, np.nan, 2.0], [np.nan, 1.0, np.nan]])
    np.testing.assert_array_equal(blocks[1].write_iops, [[2.0, np.nan, np.nan]])


def test_off_grid_times_are_read_from_the_store(tmp_db):
    t = pd.Timestamp("2026-11-09 00:05")
    _tiny_store(tmp_db, [("vc", "vm-1", "scsi0:0", t + pd.Timedelta(seconds=s), 300, 1.0, 0.0, 1.0, 0.0)
                         for s in (0, 150, 600)])
    con = store.connect(tmp_db, read_only=True)
    reader = sample_reader.SampleReader(con, 300)
    con.close()
    assert reader.times.tolist() == [t.timestamp() + s for s in (0, 150, 600)]


def test_clustering_orders_the_table_for_block_reads(sample_store_master, tmp_path):
    path = tmp_path / "s.duckdb"
    shutil.copy(sample_store_master, path)
    con = store.connect(path)
    before = con.execute("SELECT count(*), sum(write_kbps) FROM samples").fetchone()
    assert not sample_reader.SampleReader(con, 300).clustered
    assert sample_layout.cluster_samples(con) == before[0]
    assert con.execute("SELECT count(*), sum(write_kbps) FROM samples").fetchone() == pytest.approx(before)
    assert sample_reader.SampleReader(con, 300).clustered and sample_reader.SampleReader(con, 20).clustered
    con.close()


def test_a_memory_cap_must_look_like_a_size(tmp_db):
    con = store.connect(tmp_db)
    with pytest.raises(ValueError, match="memory limit"):
        memory_cap.cap_memory(con, "1GB'; DROP TABLE samples; --")
    memory_cap.cap_memory(con, "256MB", threads=1)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    con.close()
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert memory_cap.reuse_freed_memory() is glibc   # mallopt where there is one, nothing elsewhere
    if glibc:   # and numpy no longer asks for huge pages (a fault on one may wait for the kernel to compact memory)
        assert np._core.multiarray._get_madvise_hugepage() is False


def test_the_what_if_matrix_read_by_blocks_is_the_one_prepared_from_every_sample(sample_store_master):
    from churnplan.analytics import rpo
    from churnplan.engines.store import prepared_from_store

    con = store.connect(sample_store_master, read_only=True)
    plan = plan_from_store(con, PlanConfig(exclude_disks=("*/scsi0:1",)))
    vms = plan.vms[plan.vms["process_server"] != ""][["vcenter", "vm_id", "name", "process_server"]]
    excluded = plan.disks[["vcenter", "vm_id", "instance", "excluded"]]
    want = rpo.prepare(store.load_samples_polars(con), assignment=vms, excluded=excluded, timezone="Europe/Paris")
    got = prepared_from_store(con, vms, excluded, "Europe/Paris", rows_per_block=50_000)
    con.close()
    np.testing.assert_array_equal(got.vm_bytes, want.vm_bytes)
    np.testing.assert_array_equal(got.times, want.times)
    pd.testing.assert_frame_equal(got.vms, want.vms)
    assert got.timezone == want.timezone and got.interval_s == want.interval_s


def test_vms_stored_out_of_key_order_are_read_by_their_keys(tmp_db):
    t = pd.Timestamp("2026-11-09 00:05")
    step = pd.Timedelta(seconds=300)
    rows = [(vc, vm, "scsi0:0", t + k * step, 300, float(10 * i + k), 0.0, 1.0, 0.0)
            for i, (vc, vm) in enumerate([("vc", "vm-1"), ("vc", "vm-3"), ("vc", "vm-2")]) for k in range(3)]
    con = store.connect(tmp_db)
    for i in range(3):   # one insert per VM: each VM one rowid range, but vm-3's between vm-1's and vm-2's
        store.insert_samples(con, pd.DataFrame(rows[3 * i:3 * i + 3], columns=store.SAMPLE_COLUMNS))
    reader = sample_reader.SampleReader(con, 300, rows_per_block=6)
    blocks = list(reader.blocks())
    con.close()
    assert not reader.clustered
    assert [b.keys["vm_id"].tolist() for b in blocks] == [["vm-1", "vm-2"], ["vm-3"]]
    np.testing.assert_array_equal(blocks[0].write_kbps, [[0.0, 1.0, 2.0], [20.0, 21.0, 22.0]])
    np.testing.assert_array_equal(blocks[1].write_kbps, [[10.0, 11.0, 12.0]])


def test_a_clustered_store_is_read_by_rowid_alone_and_gives_the_same_blocks(tmp_db):
    t = pd.Timestamp("2026-11-09 00:05")
    step = pd.Timedelta(seconds=300)
    rows = [("vc", "vm-2", "scsi0:0", t + k * step, 300, 10.0 + k, 1.0, 2.0, 3.0) for k in (1, 2)]   # joins late
    rows += [("vc", "vm-1", "scsi0:1", t + k * step, 300, None, 4.0, 1.0, None) for k in range(3)]
    rows += [("vc", "vm-1", "scsi0:0", t + k * step, 300, 5.0 * k, 0.0, 1.0, 0.0) for k in range(3)]
    rows += [("vc", "vm-1", "scsi0:0", t + step, 20, 99.0, 0.0, 0.0, 0.0)]                          # not read
    _tiny_store(tmp_db, rows)
    con = store.connect(tmp_db)
    as_imported = sample_reader.SampleReader(con, 300, rows_per_block=1)
    before = list(as_imported.blocks())
    sample_layout.cluster_samples(con)
    reader = sample_reader.SampleReader(con, 300, rows_per_block=1)
    after = list(reader.blocks())
    counted = store.telemetry_statistics_from_counts(con, reader.telemetry_counts(), 300)   # NULLs not present
    pd.testing.assert_frame_equal(counted, store.telemetry_statistics(con, 300), check_exact=True)
    assert counted["read_iops_present"].tolist() == [3, 0, 2]
    con.close()
    assert not as_imported.sequential and reader.sequential
    assert [b.keys["vm_id"].tolist() for b in after] == [["vm-1", "vm-1"], ["vm-2"]]
    np.testing.assert_array_equal(after[1].write_kbps, [[np.nan, 11.0, 12.0]])
    for x, y in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(x.keys, y.keys)
        for m in ("write_kbps", "write_iops", "iops", "rw_kbps"):
            np.testing.assert_array_equal(getattr(x, m), getattr(y, m))


def test_a_disk_with_a_gap_is_not_read_by_rowid_alone(tmp_db):
    t = pd.Timestamp("2026-11-09 00:05")
    _tiny_store(tmp_db, [("vc", "vm-1", "scsi0:0", t + pd.Timedelta(seconds=s), 300, 1.0, 0.0, 1.0, 0.0)
                         for s in (0, 300, 900)])
    con = store.connect(tmp_db)
    sample_layout.cluster_samples(con)
    reader = sample_reader.SampleReader(con, 300)
    block = next(iter(reader.blocks()))
    con.close()
    assert reader.clustered and not reader.sequential
    assert reader.times.tolist() == [t.timestamp() + s for s in (0, 300, 900)]   # the times there are
    np.testing.assert_array_equal(block.write_kbps, [[1.0, 1.0, 1.0]])


def test_clustering_records_the_disks_extents_and_any_change_to_the_samples_voids_them(tmp_db, monkeypatch):
    t = pd.Timestamp("2026-11-09 00:05")
    step = pd.Timedelta(seconds=300)
    rows = [("vc", vm, inst, t + k * step, 300, 1.0 + k, 0.0, 1.0, 0.0)
            for vm in ("vm-2", "vm-1") for inst in ("scsi0:0", "scsi0:1") for k in range(4)]
    rows += [("vc", "vm-1", "scsi0:0", t + step, 20, 99.0, 0.0, 0.0, 0.0)]   # another interval
    _tiny_store(tmp_db, rows[:4] + rows[8:])                    # vm-2's scsi0:1 not yet
    con = store.connect(tmp_db)
    assert sample_layout.recorded_extents(con) is None          # never clustered: none recorded
    sample_layout.cluster_samples(con)
    recorded = sample_layout.recorded_extents(con)
    scanned = con.execute(sample_layout.STATS_SELECT + " FROM samples s GROUP BY ALL").df()
    pd.testing.assert_frame_equal(recorded.sort_values(["interval_s", "vm_id", "instance"], ignore_index=True),
                                  scanned.sort_values(["interval_s", "vm_id", "instance"], ignore_index=True))
    scans = []
    real = con.execute

    class Spy:   # DuckDB connections take no attributes: count the reader's scans through a proxy
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, *args):
            scans.append(sql)
            return real(sql, *args)

    with_extents = sample_reader.SampleReader(Spy(), 300, rows_per_block=1)
    assert not any("GROUP BY" in s for s in scans)            # read from the recorded extents, no scan
    blocks = list(with_extents.blocks())
    assert [b.keys["vm_id"].tolist() for b in blocks] == [["vm-1", "vm-1"], ["vm-2"]]
    assert with_extents.sequential
    np.testing.assert_array_equal(blocks[1].write_kbps, [[1.0, 2.0, 3.0, 4.0]])
    store.insert_samples(con, pd.DataFrame(rows[4:8], columns=store.SAMPLE_COLUMNS))   # vm-2's scsi0:1 arrives
    assert sample_layout.recorded_extents(con) is None          # an insert forgets them
    sample_layout.record_extents(con)
    con.execute("DELETE FROM samples WHERE vm_id = 'vm-2' AND instance = 'scsi0:1'")   # by hand, past the store
    assert sample_layout.recorded_extents(con) is None          # the fingerprint no longer matches
    rows_rowid_first_last = con.execute("SELECT count(*), max(rowid), min(ts), max(ts) FROM samples").fetchone()
    assert sample_layout.fingerprint(con) == "|".join(map(str, rows_rowid_first_last))   # what stores recorded
    after = list(sample_reader.SampleReader(con, 300, rows_per_block=1).blocks())
    con.close()
    assert [b.keys["instance"].tolist() for b in after] == [["scsi0:0", "scsi0:1"], ["scsi0:0"]]
