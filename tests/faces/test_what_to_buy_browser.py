"""The "What to buy" page in a real headless Chromium: first in the offline HTML report and on the dashboard's
first page (#9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnplan.export import html
from faces_browser import Chromium, Dashboard, chromium_available

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="no Chromium at /usr/bin/chromium")]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    b = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield b
    finally:
        b.close()


def test_what_to_buy_is_the_first_section_of_the_html_report(browser, tiny_plan, tmp_path: Path) -> None:
    path = html.write_report(tiny_plan, tmp_path / "report.html", tz="Europe/Amsterdam")
    browser.goto(path.resolve().as_uri())
    browser.wait_for("document.querySelector('#what-to-buy') !== null", timeout=60)
    assert browser.eval("document.querySelector('h2').innerText").strip() == "What to buy"
    text = browser.eval("document.querySelector('#what-to-buy').innerText")
    for what in ("Link", "Replica disks by tier", "Initial replication", "VMs that cannot be protected",
                 "Units and assumptions", "1024-based", "10^6 bit/s"):
        assert what in text, what
    box = browser.eval("JSON.stringify(document.querySelector('#what-to-buy').getBoundingClientRect())")
    assert '"top"' in box  # laid out, not hidden


def test_what_to_buy_is_on_the_dashboards_first_page(browser, sample_store_master: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = tmp_path_factory.mktemp("dashboard-buy")
    app = Dashboard(sample_store_master, logs / "streamlit.log")
    try:
        app.wait_ready()
        browser.goto(app.url)
        browser.wait_for("document.body.innerText.includes('What to buy')"
                         " && document.querySelectorAll('[data-testid=\"stTable\"]').length > 0", timeout=180)
        text = browser.eval("document.body.innerText")
        assert "Replication appliances (modernized)" in text and "Replica disks by tier" in text
        assert browser.eval("document.querySelectorAll('[data-testid=\"stException\"]').length") == 0
    finally:
        app.close()
