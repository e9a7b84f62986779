"""`churnplan dashboard --address` refuses to serve beyond loopback without a login and TLS (one line, exit 2,
before anything starts); `churnplan dashboard-hash` makes hashes the gate accepts; the hashes themselves
check against published test vectors."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churnplan.cli import app
from churnplan.cli import serving
from churnplan.dashboard import auth, passwords

runner = CliRunner()
PASSWORD = "correct horse battery staple"

# RFC 7914 section 12, scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64)
RFC7914_SCRYPT = ("scrypt:1024:8:16$NaCl$fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22"
                  "a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
# PBKDF2-HMAC-SHA256(P="password", S="salt", c=1, dkLen=32), the widely published first vector
PBKDF2_SHA256 = "pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (auth.HASH_ENV, auth.HASH_FILE_ENV, auth.LOGIN_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def tls(tmp_path: Path) -> list[str]:
    """Files standing in for a certificate and key (the CLI only checks they exist; Streamlit reads them)."""
    (tmp_path / "cert.pem").write_text("cert")
    (tmp_path / "key.pem").write_text("key")
    return ["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")]


@pytest.fixture
def hash_file(tmp_path: Path) -> Path:
    path = tmp_path / "dashboard.hash"
    path.write_text(passwords.make(PASSWORD) + "\n")
    return path


# --- the hashes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stored", [RFC7914_SCRYPT, PBKDF2_SHA256])
def test_known_answers_match_their_password_only(stored: str) -> None:
    parsed = passwords.parse(stored)
    assert parsed.matches("password")
    assert not parsed.matches("Password") and not parsed.matches("")


def test_made_hash_is_werkzeug_format_salted_and_checks() -> None:
    one, two = passwords.make(PASSWORD), passwords.make(PASSWORD)
    assert one.startswith("scrypt:32768:8:1$") and one != two  # random salt
    method, salt, digest = one.split("$")
    assert len(salt) == passwords.SALT_CHARS and len(digest) == 128
    assert passwords.parse(one).check_strength().matches(PASSWORD)
    assert not passwords.parse(one).matches(PASSWORD + " ")


@pytest.mark.parametrize("text", ["", "plain-password", "scrypt$salt$00", "scrypt:1000:8:1$salt$00",
                                  "md5:1$salt$00", "pbkdf2:nohash:1000$salt$00", "scrypt:1024:8:1$salt$zz",
                                  "scrypt:1024:8:1$$00"])
def test_malformed_hashes_are_refused(text: str) -> None:
    with pytest.raises(passwords.HashError, match="not a password hash"):
        passwords.parse(text)


@pytest.mark.parametrize("text", [RFC7914_SCRYPT, PBKDF2_SHA256, "pbkdf2:sha1:1000000$salt$00"])
def test_cheap_hashes_fail_the_strength_check(text: str) -> None:
    with pytest.raises(passwords.HashError):
        passwords.parse(text).check_strength()


def test_short_passwords_are_not_hashed() -> None:
    with pytest.raises(passwords.HashError, match="too short"):
        passwords.make("short")


@pytest.mark.parametrize(("address", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                                   ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                                   ("::", False), ("192.0.2.7", False), ("dash.example", False)])
def test_what_counts_as_loopback(address: str, loopback: bool) -> None:
    assert auth.is_loopback(address) is loopback


# --- dashboard-hash -----------------------------------------------------------------------------------------

def test_dashboard_hash_prints_a_hash_of_the_typed_password() -> None:
    result = runner.invoke(app, ["dashboard-hash"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    made = result.output.strip().splitlines()[-1]
    assert passwords.parse(made).check_strength().matches(PASSWORD)
    assert PASSWORD not in result.output.replace("Dashboard password", "")


def test_dashboard_hash_writes_a_private_file(tmp_path: Path) -> None:
    out = tmp_path / "dashboard.hash"
    result = runner.invoke(app, ["dashboard-hash", "--out", str(out)], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert passwords.parse(out.read_text()).matches(PASSWORD)


def test_dashboard_hash_refuses_a_short_password() -> None:
    result = runner.invoke(app, ["dashboard-hash"], input="short\nshort\n")
    assert result.exit_code == 2
    assert "error: password too short" in said(result)


# --- refusing to serve --------------------------------------------------------------------------------------

def test_beyond_loopback_without_login_and_tls_is_refused(clean_env, sample_store_master: Path) -> None:
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master), "--address", "0.0.0.0"])
    assert result.exit_code == 2
    text = said(result)
    assert text.startswith("error: --address 0.0.0.0 reaches beyond loopback; refused without a login")
    assert "--password-hash-file" in text and "--tls-cert and --tls-key" in text


def test_a_login_without_tls_is_refused(clean_env, sample_store_master: Path, hash_file: Path) -> None:
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master), "--address", "192.0.2.7",
                                 "--password-hash-file", str(hash_file)])
    assert result.exit_code == 2
    assert said(result) == ("error: --address 192.0.2.7 reaches beyond loopback; refused without TLS "
                            "(--tls-cert and --tls-key)")


def test_tls_without_a_login_is_refused(clean_env, sample_store_master: Path, tls: list[str]) -> None:
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master), "--address", "dash.example", *tls])
    assert result.exit_code == 2
    assert "refused without a login" in said(result) and "TLS" not in said(result)


def test_a_hash_in_the_environment_counts_as_a_login(clean_env, tls: list[str]) -> None:
    clean_env.setenv(auth.HASH_ENV, passwords.make(PASSWORD))
    got = serving.resolve("0.0.0.0", Path(tls[1]), Path(tls[3]), None, "password")
    assert got.login == "password" and got.url(8501) == "https://0.0.0.0:8501"
    env = got.child_env({"PATH": "/bin", auth.HASH_FILE_ENV: "/elsewhere"})
    assert env[auth.HASH_ENV] == got.password_hash and auth.HASH_FILE_ENV not in env
    assert env[auth.LOGIN_ENV] == "password"


def test_loopback_needs_neither(clean_env) -> None:
    got = serving.resolve("127.0.0.2", None, None, None, "password")
    assert got.login is None and got.streamlit_args() == ["--server.address", "127.0.0.2"]
    assert auth.HASH_ENV not in got.child_env({auth.HASH_ENV: ""})


@pytest.mark.parametrize(("args", "message"), [
    (["--tls-cert", "{tmp}/cert.pem"], "error: --tls-cert and --tls-key go together: give both or neither"),
    (["--tls-cert", "{tmp}/none.pem", "--tls-key", "{tmp}/key.pem"], "error: --tls-cert {tmp}/none.pem: no such file"),
    (["--password-hash-file", "{tmp}/absent.hash"], "error: --password-hash-file {tmp}/absent.hash: No such file"),
    (["--password-hash-file", "{tmp}/cert.pem"], "error: --password-hash-file {tmp}/cert.pem: not a password hash"),
    (["--login", "sso"], "error: --login sso: choose one of password, oidc"),
])
def test_bad_serving_options_get_one_clear_line(clean_env, tls, sample_store_master: Path, tmp_path: Path,
                                                args: list[str], message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master), *args])
    assert result.exit_code == 2
    assert said(result).startswith(message.replace("{tmp}", str(tmp_path)))


def test_a_weak_hash_is_refused_before_serving(clean_env, sample_store_master: Path) -> None:
    clean_env.setenv(auth.HASH_ENV, PBKDF2_SHA256)
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master)])
    assert result.exit_code == 2
    assert said(result).startswith(f"error: {auth.HASH_ENV}: pbkdf2:sha256 with 1 iterations is below 600,000")


def test_oidc_needs_its_configuration(clean_env, sample_store_master: Path, tmp_path: Path, tls) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("HOME", str(tmp_path))
    result = runner.invoke(app, ["dashboard", "--db", str(sample_store_master), "--address", "0.0.0.0",
                                 "--login", "oidc", *tls])
    assert result.exit_code == 2
    assert said(result).startswith("error: --login oidc needs")


def test_demo_refuses_before_it_writes_anything(clean_env, tmp_path: Path) -> None:
    db, out = tmp_path / "demo.duckdb", tmp_path / "report"
    result = runner.invoke(app, ["demo", "--db", str(db), "--out", str(out), "--address", "0.0.0.0"])
    assert result.exit_code == 2
    assert "reaches beyond loopback" in said(result)
    assert not db.exists() and not out.exists()


def test_the_installed_command_exits_2_without_serving(clean_env, sample_store_master: Path) -> None:
    """As a user runs it: one red line on stderr, exit 2, no server started (it returns at once)."""
    done = subprocess.run([sys.executable, "-m", "churnplan", "dashboard", "--db", str(sample_store_master),
                           "--address", "0.0.0.0"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "300"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: --address 0.0.0.0 reaches beyond")
    assert "Traceback" not in done.stderr
