"""The dashboard served beyond loopback (bound to 0.0.0.0, reached only at 127.0.0.1) over HTTPS with a
certificate made here: headless Chromium sees a login form and none of the estate until the password is given."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import ssl
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from churnplan.dashboard import passwords
from served import Dashboard, chromium, chromium_available, wait_for

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="no chromium and chromedriver in /usr/bin")]

PASSWORD = "correct horse battery staple"
LOGIN_FORM = ("document.querySelector('input[type=\"password\"]') !== null"
              " && document.querySelector('[data-testid=\"stStatusWidget\"]') === null")
ESTATE_SHOWN = ("document.querySelector('h1') !== null && document.querySelector('h1').innerText === 'Estate overview'"
                " && document.querySelectorAll('[data-testid=\"stMetric\"]').length > 0")
ESTATE_WORDS = ("Estate overview", "VMs", "Churn explorer", "sample.duckdb", "vcsa-sample", "sql01")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A one-day certificate for localhost and 127.0.0.1, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def served(sample_store_master: Path, tmp_path_factory: pytest.TempPathFactory):
    """`churnplan dashboard --address 0.0.0.0` with a hash file and TLS; a browser that trusts the test's cert."""
    folder = tmp_path_factory.mktemp("login")
    cert, key = self_signed(folder)
    hash_file = folder / "dashboard.hash"
    hash_file.write_text(passwords.make(PASSWORD) + "\n")
    app = Dashboard(sample_store_master, folder / "streamlit.log", "--tls-cert", str(cert), "--tls-key", str(key),
                    "--password-hash-file", str(hash_file), bind="0.0.0.0", scheme="https")
    browser = None
    try:
        app.wait_ready()
        browser = chromium(folder / "chromium-profile", accept_insecure_certs=True)
        yield app, browser, cert, folder
    finally:
        if browser is not None:
            browser.quit()
        app.close()


def body_text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def log_in(browser, password: str) -> None:
    """Type the password and press the form's Log in button, as a person would."""
    field = browser.find_element(By.CSS_SELECTOR, 'input[type="password"]')
    field.clear()
    field.send_keys(password)
    WebDriverWait(browser, 30).until(lambda d: field.get_attribute("value") == password)
    field.send_keys(Keys.TAB)  # Streamlit takes the value when the field loses focus
    browser.find_element(By.XPATH, "//button[contains(., 'Log in')]").click()


def test_served_over_https_with_the_given_certificate(served) -> None:
    app, _, cert, _ = served
    context = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=10, context=context) as r:
        assert r.read().strip() == b"ok"
    with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP is not answered
        urllib.request.urlopen(f"http://127.0.0.1:{app.port}/_stcore/health", timeout=10).read()


@pytest.mark.parametrize("page", ["", "churn", "downloads"])
def test_without_the_password_no_page_is_served(served, page: str) -> None:
    app, browser, _, folder = served
    browser.delete_all_cookies()
    browser.get(f"{app.url}/{page}")
    wait_for(browser, LOGIN_FORM, timeout=120)
    browser.save_screenshot(str(folder / f"login-{page or 'estate'}.png"))
    text = body_text(browser)
    assert [w for w in ESTATE_WORDS if w in text] == []
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]') == []
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"]') == []


def test_a_wrong_password_is_refused(served) -> None:
    app, browser, _, _ = served
    browser.get(app.url)
    wait_for(browser, LOGIN_FORM, timeout=120)
    log_in(browser, "not the password at all")
    wait_for(browser, "document.body.innerText.includes('Wrong password.')", timeout=120)
    assert [w for w in ESTATE_WORDS if w in body_text(browser)] == []


def test_with_the_password_the_pages_are_served(served) -> None:
    app, browser, _, folder = served
    browser.get(app.url)
    wait_for(browser, LOGIN_FORM, timeout=120)
    log_in(browser, PASSWORD)
    wait_for(browser, ESTATE_SHOWN, timeout=120)
    browser.save_screenshot(str(folder / "signed-in.png"))
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]') == []
    assert "Log out" in body_text(browser)
    # the session stays signed in while moving between pages
    browser.find_element(By.PARTIAL_LINK_TEXT, "Churn explorer").click()
    wait_for(browser, "document.querySelector('h1') && document.querySelector('h1').innerText === 'Churn explorer'",
             timeout=120)
