"""A served dashboard (`churnplan dashboard` run as a user would) and headless Chromium driven by Selenium.

Selenium speaks WebDriver to Debian's chromium-driver; nothing is downloaded (the driver path is given, so
Selenium Manager is never asked)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

from churnplan.cli.report import stop_process

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WINDOW = (1400, 1000)
LOGIN_ENV_PREFIX = "CHURNPLAN_DASHBOARD_"  # the login's settings (password hash, hash file, OIDC)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Dashboard:
    """`churnplan dashboard --db DB --port P [extra options]` in its own process group, logging to `log`.

    `bind` is the --address given (default: loopback only); `url` is always 127.0.0.1, since the tests never
    connect anywhere else. The login's environment variables are cleared unless `env` sets them."""

    def __init__(self, db: Path, log: Path, *extra: str, bind: str | None = None, scheme: str = "http",
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._log_path = log
        self._log = open(log, "wb")
        address = ["--address", bind] if bind else []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from churnplan.cli import app; app()", "dashboard", "--db", str(db),
             "--port", str(self.port), *address, *extra],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
            env={**{k: v for k, v in os.environ.items() if not k.startswith(LOGIN_ENV_PREFIX)}, **(env or {})})

    def wait_ready(self, timeout: float = 60) -> None:
        """Until Streamlit's health endpoint answers (certificate not checked: it is the test's own)."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dashboard exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2, context=context) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"dashboard not healthy at {self.url} after {timeout} s: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self._log_path.read_text(errors="replace")[-2000:]

    def close(self) -> None:
        """Stop the CLI (which stops its Streamlit child); then make sure nothing of the group survives."""
        stop_process(self.proc)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()


def chromium(profile: Path, accept_insecure_certs: bool = False) -> webdriver.Chrome:
    """Headless Chromium under Debian's chromedriver, with a fixed window size and a private profile."""
    profile.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.accept_insecure_certs = accept_insecure_certs
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile.parent / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(driver: webdriver.Chrome, script: str, timeout: float = 60) -> None:
    """Until the JavaScript expression `script` is truthy in the page."""
    WebDriverWait(driver, timeout, poll_frequency=0.25).until(
        lambda d: d.execute_script(f"return Boolean({script});"),
        message=f"page never satisfied {script!r}")


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
