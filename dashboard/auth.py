"""The dashboard's login gate, called first in app.py: no page, sidebar or store path is drawn for a session
that has not signed in. A password checked against a stored hash (the default), or Streamlit's OIDC login.

`churnplan dashboard` hands the gate its settings through the environment: the hash in
CHURNPLAN_DASHBOARD_PASSWORD_HASH (or a file named by CHURNPLAN_DASHBOARD_PASSWORD_HASH_FILE), and
CHURNPLAN_DASHBOARD_LOGIN=oidc for Streamlit's st.login with the [auth] section of .streamlit/secrets.toml."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from churnplan.dashboard import passwords

HASH_ENV = "CHURNPLAN_DASHBOARD_PASSWORD_HASH"
HASH_FILE_ENV = "CHURNPLAN_DASHBOARD_PASSWORD_HASH_FILE"
LOGIN_ENV = "CHURNPLAN_DASHBOARD_LOGIN"
SIGNED_IN = "churnplan_signed_in"
FAILED_LOGIN_DELAY_S = 1.0  # slows guessing through one session


def is_loopback(address: str) -> bool:
    """True for localhost and the loopback ranges (127.0.0.0/8, ::1); any other name or address is not."""
    if address.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def hash_text(environ: Mapping[str, str] = os.environ) -> str | None:
    """The configured password hash: from the environment, else from the file it names, else None."""
    if environ.get(HASH_ENV, "").strip():
        return environ[HASH_ENV].strip()
    if environ.get(HASH_FILE_ENV, "").strip():
        return Path(environ[HASH_FILE_ENV]).expanduser().read_text().strip()
    return None


def login_mode(environ: Mapping[str, str] = os.environ) -> str | None:
    """"oidc", "password" or None (no login configured)."""
    if environ.get(LOGIN_ENV, "").strip().lower() == "oidc":
        return "oidc"
    return "password" if (environ.get(HASH_ENV, "").strip() or environ.get(HASH_FILE_ENV, "").strip()) else None


def _exposed() -> bool:
    """Served beyond loopback: bound to another address, or this client connected from elsewhere."""
    address = st.get_option("server.address")
    if address and not is_loopback(str(address)):
        return True
    client = st.context.ip_address  # None for loopback clients (and not a str under AppTest's mock client)
    return isinstance(client, str) and not is_loopback(client)


def require_login() -> None:
    """Return only for a signed-in session (or an unguarded loopback one); otherwise draw the login and stop."""
    mode = login_mode()
    if mode is None:
        if _exposed():
            st.error("This dashboard is served beyond loopback without a login. Start it with "
                     "`churnplan dashboard --address HOST` and a password hash or OIDC login.")
            st.stop()
        return
    if mode == "oidc":
        _oidc_gate()
    else:
        _password_gate()


def _password_gate() -> None:
    if st.session_state.get(SIGNED_IN):
        st.sidebar.button("Log out", key="churnplan_logout", on_click=_sign_out, icon=":material/logout:")
        return
    try:
        stored = passwords.parse(hash_text() or "").check_strength()
    except (OSError, passwords.HashError) as exc:
        st.error(f"Login not configured correctly: {exc}.")  # fail closed
        st.stop()
    st.title("churnplan")
    with st.form("churnplan_login"):
        password = st.text_input("Password", type="password", key="churnplan_password")
        submitted = st.form_submit_button("Log in", icon=":material/login:")
    if submitted:
        if stored.matches(password or ""):
            st.session_state[SIGNED_IN] = True
            del st.session_state["churnplan_password"]
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY_S)
        st.error("Wrong password.")
    st.stop()


def _sign_out() -> None:
    st.session_state[SIGNED_IN] = False


def _oidc_gate() -> None:
    if st.user.get("is_logged_in", False):  # absent until secrets.toml has an [auth] section
        st.sidebar.button("Log out", key="churnplan_logout", on_click=st.logout, icon=":material/logout:")
        return
    st.title("churnplan")
    st.button("Log in", key="churnplan_oidc_login", on_click=st.login, icon=":material/login:")
    st.stop()
