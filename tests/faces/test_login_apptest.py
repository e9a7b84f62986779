"""The login gate in Streamlit's AppTest: with a password hash configured, nothing of the estate (pages,
sidebar, store path) is drawn until the right password is given; a wrong one or a broken hash shows none."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from churnplan.dashboard import auth, data, passwords

APP = Path(data.__file__).resolve().parent / "app.py"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return passwords.make(PASSWORD)


def open_gated(db: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> AppTest:
    monkeypatch.setenv("CHURNPLAN_DB", str(db))
    for name in (auth.HASH_ENV, auth.HASH_FILE_ENV, auth.LOGIN_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shows_nothing_of_the_estate(at: AppTest, db: Path) -> None:
    assert [t.value for t in at.title] == ["churnplan"]
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.selectbox) == 0
    assert len(at.sidebar) == 0
    drawn = " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.code])
    assert str(db) not in drawn and db.name not in drawn


def log_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="churnplan_password").input(password)
    at.button[0].click()
    return at.run()


def test_without_a_password_only_the_login_form_is_drawn(sample_store_master, monkeypatch, password_hash) -> None:
    at = open_gated(sample_store_master, monkeypatch, **{auth.HASH_ENV: password_hash})
    assert at.text_input(key="churnplan_password").label == "Password"
    shows_nothing_of_the_estate(at, sample_store_master)


def test_a_wrong_password_shows_an_error_and_nothing_else(sample_store_master, monkeypatch, password_hash) -> None:
    at = log_in(open_gated(sample_store_master, monkeypatch, **{auth.HASH_ENV: password_hash}), "guess guess guess")
    assert [e.value for e in at.error] == ["Wrong password."]
    shows_nothing_of_the_estate(at, sample_store_master)


def test_the_right_password_opens_the_pages_until_log_out(sample_store_master, monkeypatch, password_hash,
                                                          tmp_path) -> None:
    hash_file = tmp_path / "dashboard.hash"
    hash_file.write_text(password_hash + "\n")
    at = log_in(open_gated(sample_store_master, monkeypatch, **{auth.HASH_FILE_ENV: str(hash_file)}), PASSWORD)
    assert not at.exception
    assert [t.value for t in at.title] == ["Estate overview"]
    assert {m.label: m.value for m in at.metric}["VMs"] == "60"
    assert at.session_state[auth.SIGNED_IN] is True
    at.switch_page("views/churn.py").run()  # the session stays signed in across pages
    assert [t.value for t in at.title] == ["Churn explorer"]
    at.sidebar.button(key="churnplan_logout").click().run()
    shows_nothing_of_the_estate(at, sample_store_master)


@pytest.mark.parametrize("stored", ["not-a-hash", "scrypt:1024:8:1$salt$00ff"])
def test_a_broken_or_weak_hash_fails_closed(sample_store_master, monkeypatch, stored: str) -> None:
    at = open_gated(sample_store_master, monkeypatch, **{auth.HASH_ENV: stored})
    assert len(at.error) == 1 and at.error[0].value.startswith("Login not configured correctly")
    assert len(at.text_input) == 0 and len(at.metric) == 0 and len(at.sidebar) == 0


def test_oidc_mode_offers_streamlit_login_and_nothing_else(sample_store_master, monkeypatch) -> None:
    at = open_gated(sample_store_master, monkeypatch, **{auth.LOGIN_ENV: "oidc"})
    assert [b.label for b in at.button] == ["Log in"]
    shows_nothing_of_the_estate(at, sample_store_master)


def test_without_a_login_configured_loopback_opens_directly(sample_store_master, monkeypatch) -> None:
    at = open_gated(sample_store_master, monkeypatch)
    assert [t.value for t in at.title] == ["Estate overview"]


def test_bound_beyond_loopback_without_a_login_it_refuses(sample_store_master, monkeypatch) -> None:
    """Defence in depth for `streamlit run dashboard/app.py --server.address 0.0.0.0` without the CLI."""
    monkeypatch.setenv("CHURNPLAN_DB", str(sample_store_master))
    for name in (auth.HASH_ENV, auth.HASH_FILE_ENV, auth.LOGIN_ENV):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(APP), default_timeout=180)
    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")  # as `--server.address 0.0.0.0` would
    try:
        at.run()
    finally:
        config.set_option("server.address", previous)
    assert len(at.error) == 1 and "beyond loopback" in at.error[0].value
    assert len(at.metric) == 0 and len(at.sidebar) == 0
