"""The dashboard's first page opens with "What to buy"; the what-if page has an outage slider and, under a
throttle, the work-hours rate each goal needs (Streamlit AppTest, #9 and #13)."""

from __future__ import annotations

from test_dashboard import metrics, open_app


def test_first_page_opens_with_what_to_buy(tiny_store, monkeypatch) -> None:
    at = open_app(tiny_store, monkeypatch)
    assert [s.value for s in at.subheader][0] == "What to buy"
    table = at.table[0].value
    assert table.index[0] == "Link" and "Replica disks by tier" in table.index
    assert "VMs that cannot be protected" in table.index


def test_what_if_outage_slider_reports_catch_up_and_cache(tiny_store, monkeypatch) -> None:
    at = open_app(tiny_store, monkeypatch, "views/whatif.py")
    assert "Cache for the backlog" not in metrics(at)
    at.slider(key="wi_outage").set_value(4).run()
    assert not at.exception
    m = metrics(at)
    assert m["Cache for the backlog"].endswith("GiB") and "Back within RPO (worst start)" in m


def test_what_if_throttle_shows_the_work_hours_rate_per_goal(tiny_store, monkeypatch) -> None:
    at = open_app(tiny_store, monkeypatch, "views/whatif.py")
    at.toggle(key="wi_throttle").set_value(True).run()
    assert not at.exception
    m = metrics(at)
    assert {"Work-hours Mbps for 100 %", "Work-hours Mbps for 90 %"} <= set(m)


def test_the_dashboard_defaults_to_the_estates_time_zone(sample_store_master, monkeypatch) -> None:
    at = open_app(sample_store_master, monkeypatch)
    assert at.session_state["tz"] == "Europe/Amsterdam"   # recorded by the sample estate (#13)
