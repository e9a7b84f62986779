"""The "What to buy" page in a real headless Chromium (Selenium): first in the offline HTML report and on the
dashboard's first page (#9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnplan.export import html
from served import Dashboard, chromium, chromium_available, wait_for

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="no chromium and chromedriver in /usr/bin")]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    driver = chromium(tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield driver
    finally:
        driver.quit()


def test_what_to_buy_is_the_first_section_of_the_html_report(browser, tiny_plan, tmp_path: Path) -> None:
    path = html.write_report(tiny_plan, tmp_path / "report.html", tz="Europe/Amsterdam")
    browser.get(path.resolve().as_uri())
    wait_for(browser, "document.querySelector('#what-to-buy') !== null", timeout=60)
    assert browser.execute_script("return document.querySelector('h2').innerText").strip() == "What to buy"
    text = browser.execute_script("return document.querySelector('#what-to-buy').innerText")
    for what in ("Link", "Replica disks by tier", "Initial replication", "VMs that cannot be protected",
                 "Units and assumptions", "1024-based", "10^6 bit/s"):
        assert what in text, what
    height = browser.execute_script("return document.querySelector('#what-to-buy').getBoundingClientRect().height")
    assert height > 100   # laid out and visible, not an empty block


def test_what_to_buy_is_on_the_dashboards_first_page(browser, sample_store_master: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = tmp_path_factory.mktemp("dashboard-buy")
    app = Dashboard(sample_store_master, logs / "streamlit.log")
    try:
        app.wait_ready()
        browser.get(app.url)
        wait_for(browser, "document.body.innerText.includes('What to buy')"
                          " && document.querySelectorAll('[data-testid=\"stTable\"]').length > 0", timeout=180)
        text = browser.execute_script("return document.body.innerText")
        assert "Replication appliances (modernized)" in text and "Replica disks by tier" in text
        assert browser.execute_script(
            "return document.querySelectorAll('[data-testid=\"stException\"]').length") == 0
    finally:
        app.close()
