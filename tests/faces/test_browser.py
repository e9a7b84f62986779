"""The served dashboard in a real headless Chromium: every page renders without a Streamlit exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from faces_browser import Chromium, Dashboard, chromium_available

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="no Chromium at /usr/bin/chromium")]

PAGES = ["", "churn", "what-if", "process-servers", "storage-cost", "compatibility", "downloads"]
TITLES = {"": "Estate overview", "churn": "Churn explorer", "what-if": "RPO what-if",
          "process-servers": "Process servers", "storage-cost": "Storage and cost",
          "compatibility": "Compatibility", "downloads": "Downloads"}
RENDERED = ("document.querySelector('[data-testid=\"stApp\"]') !== null"
            " && document.querySelector('h1') !== null"
            " && document.querySelector('[data-testid=\"stStatusWidget\"]') === null"
            " && document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0")


@pytest.fixture(scope="module")
def served(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("dashboard")
    app = Dashboard(sample_store_master, logs / "streamlit.log")
    browser = None
    try:
        app.wait_ready()
        browser = Chromium(logs / "chromium-profile")
        yield app, browser
    finally:
        if browser is not None:
            browser.close()
        app.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(served, page: str, tmp_path: Path) -> None:
    app, browser = served
    browser.goto(f"{app.url}/{page}")
    browser.wait_for(RENDERED, timeout=120)
    if page in ("", "churn", "what-if"):
        browser.wait_for("document.querySelectorAll('.js-plotly-plot').length > 0", timeout=60)
    shot = browser.screenshot(tmp_path / f"{page or 'estate'}.png")
    assert shot.stat().st_size > 10_000
    assert browser.eval("document.querySelectorAll('[data-testid=\"stException\"]').length") == 0
    assert "Page not found" not in browser.eval("document.body.innerText")
    assert browser.eval("document.querySelector('h1').innerText").strip() == TITLES[page]
