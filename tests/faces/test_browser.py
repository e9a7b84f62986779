"""The served dashboard in a real headless Chromium (Selenium + chromium-driver): every page renders
without a Streamlit exception, and each leaves a screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from served import Dashboard, chromium, chromium_available, wait_for

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="no chromium and chromedriver in /usr/bin")]

PAGES = ["", "churn", "what-if", "process-servers", "storage-cost", "compatibility", "downloads"]
TITLES = {"": "Estate overview", "churn": "Churn explorer", "what-if": "RPO what-if",
          "process-servers": "Process servers", "storage-cost": "Storage and cost",
          "compatibility": "Compatibility", "downloads": "Downloads"}
RENDERED = ("document.querySelector('[data-testid=\"stApp\"]') !== null"
            " && document.querySelector('h1') !== null"
            " && document.querySelector('[data-testid=\"stStatusWidget\"]') === null"
            " && document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0")
PLOTTED = "document.querySelectorAll('.js-plotly-plot').length > 0"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def served(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("dashboard")
    app = Dashboard(sample_store_master, logs / "streamlit.log")
    browser = None
    try:
        app.wait_ready()
        browser = chromium(logs / "chromium-profile")
        yield app, browser
    finally:
        if browser is not None:
            browser.quit()
        app.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(served, page: str, screenshots: Path) -> None:
    app, browser = served
    browser.get(f"{app.url}/{page}")
    wait_for(browser, RENDERED, timeout=120)
    if page in ("", "churn", "what-if"):
        wait_for(browser, PLOTTED, timeout=60)
    shot = screenshots / f"{page or 'estate'}.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert browser.find_elements("css selector", '[data-testid="stException"]') == []
    assert "Page not found" not in browser.find_element("tag name", "body").text
    assert browser.find_element("tag name", "h1").text.strip() == TITLES[page]
