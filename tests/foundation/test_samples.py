"""The bundled sample estate: reproducible, shipped as generated, and shaped like a real estate."""

from __future__ import annotations

import pandas as pd
import pytest

from churnplan.ingest import sample_estate as samples

from churnplan.core import store


@pytest.fixture(scope="module")
def estate() -> dict[str, pd.DataFrame]:
    return samples.read()


def test_shipped_files_are_what_the_generator_makes(estate):
    fresh = samples.generate()
    for name, frame in fresh.items():
        pd.testing.assert_frame_equal(estate[name].reset_index(drop=True), frame.reset_index(drop=True),
                                      check_dtype=False)


def test_size_and_resolutions(estate):
    assert 55 <= len(estate["vms"]) <= 65
    assert 170 <= len(estate["disks"]) <= 200
    coarse, fine = estate["samples_300s"], estate["samples_20s"]
    assert set(coarse["interval_s"]) == {300} and set(fine["interval_s"]) == {20}
    per_disk = coarse.groupby(["vm_id", "instance"]).size()
    assert (per_disk == 14 * 288).all()
    assert (fine.groupby(["vm_id", "instance"]).size() == 86400 // 20).all()


def test_fine_day_rolls_up_to_the_coarse_samples(estate):
    fine = estate["samples_20s"].copy()
    fine["bucket"] = fine["ts"].dt.ceil("300s")
    rolled = fine.groupby(["vm_id", "instance", "bucket"])["write_kbps"].mean().round()
    coarse = estate["samples_300s"].set_index(["vm_id", "instance", "ts"])["write_kbps"]
    joined = rolled.rename_axis(["vm_id", "instance", "ts"]).to_frame("fine").join(coarse, how="inner")
    assert len(joined) == len(rolled)
    assert (joined["fine"] - joined["write_kbps"]).abs().max() <= 1


def test_weekdays_and_working_hours_churn_more(estate):
    s = estate["samples_300s"]
    local = s["ts"].dt.tz_localize("UTC").dt.tz_convert(samples.SITE_TZ)
    total = s.groupby(local)["write_kbps"].sum()
    weekday = total[total.index.day_of_week < 5]
    weekend = total[total.index.day_of_week >= 5]
    midday = lambda x: x[(x.index.hour >= 10) & (x.index.hour < 16)].mean()
    assert midday(weekday) > 2 * midday(weekend)
    by_hour = weekday.groupby(weekday.index.hour).mean()
    assert by_hour.loc[13] > 2 * by_hour.loc[20]  # evenings are quiet; nights carry the batch


def test_planted_cases_are_present(estate):
    vms = estate["vms"].set_index("name")
    disks = estate["disks"]
    per_vm = disks.groupby("vm_id").agg(n=("instance", "size"), biggest=("capacity_gb", "max"))
    assert per_vm.loc[vms.loc["archive-fs01", "vm_id"], "biggest"] == 40960
    assert per_vm.loc[vms.loc["exch-mbx01", "vm_id"], "n"] == 70
    s = estate["samples_300s"]
    etl = s[s["vm_id"] == vms.loc["dw-etl01", "vm_id"]].groupby("ts")["write_kbps"].sum()
    assert etl.quantile(0.95) / 1024 > 54
    instances = disks[disks["vm_id"] == vms.loc["exch-mbx01", "vm_id"]]["instance"]
    assert instances.is_unique and not instances.str.endswith(":7").any()


def test_churn_grows_slowly(estate):
    s = estate["samples_300s"]
    weekly = s.groupby(s["ts"].dt.isocalendar().week)["write_kbps"].mean()
    assert weekly.iloc[1] > weekly.iloc[0]


def test_store_round_trips_the_estate(sample_store, estate):
    con = store.connect(sample_store, read_only=True)
    assert store.load_vms(con).sort_values("vm_id").reset_index(drop=True)[["vm_id", "name"]].equals(
        estate["vms"].sort_values("vm_id").reset_index(drop=True)[["vm_id", "name"]])
    got = store.load_samples(con, interval_s=300)
    want = estate["samples_300s"]
    assert len(got) == len(want)
    assert got["write_kbps"].sum() == want["write_kbps"].sum()
    assert store.default_interval(con) == 300


def test_loading_the_estate_twice_leaves_the_sample_count_unchanged(sample_store):
    con = store.connect(sample_store)
    before = store.counts(con)
    after = samples.load_into(con)
    assert after == before
    runs = con.execute("SELECT samples_added, samples_skipped FROM collection_runs ORDER BY started_at").fetchall()
    assert runs[-1][0] == 0 and runs[-1][1] == before.samples


def test_a_load_that_fails_is_recorded_and_stores_nothing(tmp_path, tmp_db):
    for name in samples.FILES:
        (tmp_path / name).write_bytes(b"not parquet")
    con = store.connect(tmp_db)
    with pytest.raises(ValueError, match="Parquet"):
        samples.load_into(con, tmp_path)
    assert store.counts(con) == store.Counts(0, 0, 0)
    assert con.execute("SELECT source, target, status FROM collection_runs").fetchall() == [
        ("samples", str(tmp_path), "failed")]
