"""Every dashboard page on the sample store through Streamlit's AppTest: renders, shows its key elements, reacts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from churnplan.core import store
from churnplan.dashboard import context, data

APP = Path(data.__file__).resolve().parent / "app.py"
PAGES = {
    "views/estate.py": "Estate overview", "views/churn.py": "Churn explorer", "views/whatif.py": "RPO what-if",
    "views/servers.py": "Process servers", "views/cost.py": "Storage and cost",
    "views/compatibility.py": "Compatibility", "views/downloads.py": "Downloads",
}


@pytest.fixture(scope="module")
def sample_db(sample_store_master: Path) -> Path:
    return sample_store_master


@pytest.fixture(scope="module")
def store_counts(sample_db: Path) -> tuple[store.Counts, pd.DataFrame]:
    con = store.connect(sample_db, read_only=True)
    try:
        return store.counts(con), store.load_vms(con)
    finally:
        con.close()


def open_app(db: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("CHURNPLAN_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def headers(at: AppTest) -> list[tuple[str, str, pd.Series]]:
    """(column, header shown, values) for every column of every table on the page."""
    out = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        out += [(col, config.get(col, {}).get("label", col), frame.value[col]) for col in frame.value.columns]
    return out


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_its_title_without_exception(sample_db: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    at = open_app(sample_db, monkeypatch, page)
    assert [t.value for t in at.title] == [PAGES[page]]
    tz = at.sidebar.selectbox(key="tz").value
    assert tz
    for column, header, values in headers(at):
        assert "_" not in header, f"{page}: column {column} shown as {header!r}"
        if pd.api.types.is_datetime64_any_dtype(values):
            assert header.endswith(f"({tz})"), f"{page}: time column {column} shown as {header!r}"


def test_estate_overview_figures_on_the_tiny_estate(tiny_store: Path, monkeypatch) -> None:
    # six disks writing 100, 200 ... 600 KB/s times a daily sine of mean 1 over two whole days: 2100 KB/s,
    # 2100 * 86400 / 1024^2 = 173.0 GiB a day; 3 x 60 + 2 x 200 + 40960 GiB = 41540 GiB = 40.6 TiB provisioned
    m = metrics(open_app(tiny_store, monkeypatch))
    assert m["Churn per day"] == "173 GiB"
    assert m["Provisioned"] == "40.6 TiB"
    assert m["VMs"] == "3" and m["Disks"] == "6"


def test_estate_overview_counts_what_the_store_holds(sample_db, store_counts, monkeypatch) -> None:
    counts, _ = store_counts
    m = metrics(open_app(sample_db, monkeypatch))
    assert m["VMs"] == f"{counts.vms:,}" and m["Disks"] == f"{counts.disks:,}"
    assert m["Days profiled"] == "14.0"


def test_churn_explorer_lists_top_churners_and_one_vms_disks(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/churn.py")
    top = at.dataframe[0].value
    assert len(top) == at.slider(key="churn_top_n").value
    assert top["mean_write_mibps"].is_monotonic_decreasing
    assert len(at.get("plotly_chart")) == 3  # top churners, the VM's series, its heatmap
    at.slider(key="churn_top_n").set_value(5).run()
    assert len(at.dataframe[0].value) == 5


def test_top_churners_follow_the_plans_churn_arithmetic(sample_db) -> None:
    """The churn page's table agrees with analytics.churn's disk profiles (no growth) for the same disks."""
    from churnplan.analytics import churn

    top = data.top_churners(str(sample_db), 300, 10)
    con = store.connect(sample_db, read_only=True)
    try:
        samples = store.load_samples(con, 300)
    finally:
        con.close()
    prof = churn.disk_profiles(samples, 95.0, 0.0).merge(top, on=["vcenter", "vm_id", "instance"])
    assert len(prof) == len(top) == 10
    assert np.allclose(prof["churn_gib_day_x"], prof["churn_gib_day_y"], rtol=1e-9)
    assert np.allclose(prof["max_write_kibps"] / 1024.0, prof["max_write_mibps"], rtol=1e-9)


def test_what_if_slider_changes_compliance(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/whatif.py")
    before = float(metrics(at)["Time within RPO"].rstrip(" %"))
    slider = at.slider(key="wi_bandwidth")
    slider.set_value(max(1, slider.value // 4))
    at.run()
    after = float(metrics(at)["Time within RPO"].rstrip(" %"))
    assert not at.exception
    assert after < before
    assert len(at.dataframe) == 0   # the per-VM table waits to be asked for
    at.button(key="wi_per_vm").click().run()
    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) > 0  # VMs missing the RPO
    assert "vcenter" in at.dataframe[0].value.columns


def test_what_if_throttle_schedule_and_rpo_target(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/whatif.py")
    at.toggle(key="wi_throttle").set_value(True).run()
    assert not at.exception
    at.slider(key="wi_work_mbps").set_value(1).run()
    throttled = float(metrics(at)["Time within RPO"].rstrip(" %"))
    at.select_slider(key="wi_rpo").set_value(240).run()
    relaxed = float(metrics(at)["Time within RPO"].rstrip(" %"))
    assert not at.exception
    assert relaxed >= throttled


def test_what_if_starts_at_the_plans_rpo(tiny_store: Path, monkeypatch) -> None:
    at = open_app(tiny_store, monkeypatch)
    at.sidebar.number_input(key="plan_rpo").set_value(60.0).run()
    at.switch_page("views/whatif.py").run()
    assert not at.exception
    assert at.select_slider(key="wi_rpo").value == 60
    assert "RPO 60 min" in at.caption[0].value


def test_process_servers_list_every_server_and_their_vms(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/servers.py")
    servers = at.dataframe[0].value
    assert metrics(at)["Servers"] == str(len(servers)) and len(servers) >= 1
    assert int(metrics(at)["Protected VMs"]) == servers["vms"].sum()
    at.selectbox(key="ps_server").set_value(servers["server"].iloc[-1]).run()
    assert not at.exception
    assert len(at.dataframe[1].value) == servers["vms"].iloc[-1]


def test_storage_and_cost_totals_the_cost_table(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/cost.py")
    cost = at.dataframe[-1].value
    total = metrics(at)["Monthly total"]
    assert total.startswith(f"{cost['monthly'].sum():,.2f}")
    # the replica disks by tier are the ones the cost prices, each billed at its tier (counts reconcile)
    by_tier = at.dataframe[0].value.set_index("target_tier")
    billed = cost[cost["item"].str.endswith("replica disks")]
    standard = billed[billed["item"].str.startswith("Standard")]["quantity"].sum()
    premium = billed[billed["item"].str.startswith("Premium")]["quantity"].sum()
    assert standard == by_tier.loc["Standard", "disks"]
    assert premium == by_tier["disks"].drop("Standard").sum()
    disks = at.dataframe[1].value
    assert by_tier["disks"].sum() < len(disks)  # the sample estate has disks that are not replicated


def test_compatibility_splits_every_vm(sample_db, store_counts, monkeypatch) -> None:
    counts, _ = store_counts
    at = open_app(sample_db, monkeypatch, "views/compatibility.py")
    m = metrics(at)
    assert int(m["Compatible"]) + int(m["Incompatible"]) == counts.vms
    assert int(m["Incompatible"]) > 0  # the sample estate plants incompatible VMs
    assert len(at.dataframe[0].value) == int(m["Incompatible"])
    assert (at.dataframe[0].value["reasons"] != "").all()


def test_downloads_offer_workbook_html_and_csvs(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch, "views/downloads.py")
    labels = [b.label for b in at.get("download_button")]
    assert labels[:2] == ["Excel workbook (.xlsx)", "HTML report"]
    assert {label.split(" ")[0] for label in labels[2:]} == {"vms.csv", "disks.csv", "process_servers.csv",
                                                            "bandwidth.csv", "rpo.csv", "vm_sizes.csv",
                                                            "cores_by_family.csv", "cache_accounts.csv", "cost.csv"}


def test_plan_settings_follow_the_sidebar_and_date_days_in_the_display_zone() -> None:
    config = context.plan_config({"plan_rpo": 30.0, "plan_percentile": 90.0, "plan_growth": 0.0, "tz": "Asia/Tokyo"})
    assert (config.rpo_min, config.percentile, config.growth_pct) == (30.0, 90.0, 0.0)
    assert config.timezone == "Asia/Tokyo"  # daily lag in the downloaded workbook and report: Tokyo days
    assert context.plan_config({}) == context.DEFAULTS


def test_time_zone_setting_moves_displayed_times(sample_db, monkeypatch) -> None:
    at = open_app(sample_db, monkeypatch)
    at.sidebar.selectbox(key="tz").set_value("UTC").run()
    utc = at.dataframe[1].value["first_ts"].iloc[0]
    at.sidebar.selectbox(key="tz").set_value("Asia/Tokyo").run()
    tokyo = at.dataframe[1].value["first_ts"].iloc[0]
    assert pd.Timestamp(tokyo) - pd.Timestamp(utc) == pd.Timedelta(hours=9)


@pytest.mark.parametrize("page", list(PAGES))
def test_an_empty_store_shows_a_hint_on_every_page(tmp_path: Path, monkeypatch, page: str) -> None:
    db = tmp_path / "empty.duckdb"
    store.connect(db).close()
    at = open_app(db, monkeypatch, page)
    assert "no samples yet" in at.warning[0].value


def test_missing_store_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHURNPLAN_DB", str(tmp_path / "nope.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert "No churnplan store" in at.error[0].value


def _lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the store's write lock (as a running collector does) for `seconds`."""
    locker = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(float(sys.argv[2]))", str(db), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline().strip() == "locked"
    return locker


def test_store_locked_by_a_writer_reads_as_busy_then_recovers(tiny_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    shutil.copy(tiny_store, db)
    locker = _lock(db, 30)
    try:
        with pytest.raises(data.StoreBusy):
            data.read(str(db), store.counts)
    finally:
        locker.terminate()
        locker.wait(timeout=10)
    assert data.read(str(db), store.counts).vms == 3


def test_dashboard_retries_while_busy_and_renders_when_free(tiny_store: Path, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "busy.duckdb"
    shutil.copy(tiny_store, db)
    monkeypatch.setenv("CHURNPLAN_DB", str(db))
    locker = _lock(db, 3)
    try:
        started = time.perf_counter()
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        waited = time.perf_counter() - started
    finally:
        locker.wait(timeout=30)
    assert not at.exception
    assert [t.value for t in at.title] == ["Estate overview"]
    assert waited >= 1.5  # it waited for the writer instead of failing
