"""How `churnplan dashboard` and `churnplan demo` serve the dashboard: the address, the login and TLS.

Loopback needs neither. Anything beyond loopback (another address, a host name, 0.0.0.0) is refused unless a
login (a password hash, or Streamlit's OIDC login) and a TLS certificate and key are given."""

from __future__ import annotations

import importlib.util
import inspect
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

LOOPBACK = "127.0.0.1"
LOGINS = ("password", "oidc")


class ServingError(ValueError):
    """Settings that would serve the dashboard unsafely or cannot work; the message is one line."""


@dataclass(frozen=True)
class Serving:
    """Resolved, checked settings for one Streamlit server."""

    address: str = LOOPBACK
    tls_cert: Path | None = None
    tls_key: Path | None = None
    login: str | None = None           # "password", "oidc" or None (loopback only)
    password_hash: str | None = field(default=None, repr=False)

    def url(self, port: int) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{'https' if self.tls_cert else 'http'}://{host}:{port}"

    def streamlit_args(self) -> list[str]:
        args = ["--server.address", self.address]
        if self.tls_cert and self.tls_key:
            args += ["--server.sslCertFile", str(self.tls_cert), "--server.sslKeyFile", str(self.tls_key)]
        return args

    def child_env(self, environ: dict[str, str]) -> dict[str, str]:
        """The Streamlit child's environment: the gate's settings set (or cleared) to match these."""
        from churnplan.dashboard import auth

        env = {k: v for k, v in environ.items() if k not in (auth.HASH_ENV, auth.HASH_FILE_ENV, auth.LOGIN_ENV)}
        if self.login:
            env[auth.LOGIN_ENV] = self.login
        if self.login == "password" and self.password_hash:
            env[auth.HASH_ENV] = self.password_hash
        return env


def resolve(address: str, tls_cert: Path | None, tls_key: Path | None, password_hash_file: Path | None,
            login: str, environ: dict[str, str] | None = None) -> Serving:
    """Check the options against each other and the environment; ServingError says what is missing."""
    from churnplan.dashboard import auth, passwords

    environ = dict(os.environ if environ is None else environ)
    if login not in LOGINS:
        raise ServingError(f"--login {login}: choose one of {', '.join(LOGINS)}")
    if (tls_cert is None) != (tls_key is None):
        raise ServingError("--tls-cert and --tls-key go together: give both or neither")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise ServingError(f"{option} {path}: no such file")
    if password_hash_file is not None:
        environ = {**environ, auth.HASH_FILE_ENV: str(password_hash_file)}
        environ.pop(auth.HASH_ENV, None)  # the option wins over the environment
    hash_text, chosen = None, None
    if login == "oidc":
        _check_oidc()
        chosen = "oidc"
    else:
        try:
            hash_text = auth.hash_text(environ)
        except OSError as exc:
            raise ServingError(f"--password-hash-file {password_hash_file}: {exc.strerror or exc}") from exc
        if hash_text is not None:
            try:
                passwords.parse(hash_text).check_strength()
            except passwords.HashError as exc:
                where = f"--password-hash-file {password_hash_file}" if password_hash_file else auth.HASH_ENV
                raise ServingError(f"{where}: {exc}") from exc
            chosen = "password"
    if not auth.is_loopback(address):
        missing = []
        if chosen is None:
            missing.append(f"a login (--password-hash-file or {auth.HASH_ENV} from `churnplan dashboard-hash`, "
                           "or --login oidc)")
        if tls_cert is None:
            missing.append("TLS (--tls-cert and --tls-key)")
        if missing:
            raise ServingError(f"--address {address} reaches beyond loopback; refused without "
                               f"{' and '.join(missing)}")
    return Serving(address, tls_cert, tls_key, chosen, hash_text)


def _check_oidc() -> None:
    """Streamlit's st.login needs Authlib and an [auth] section in .streamlit/secrets.toml."""
    if importlib.util.find_spec("authlib") is None:
        raise ServingError("--login oidc needs Authlib (pip install 'Authlib>=1.3.2')")
    for secrets in (Path.cwd() / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        try:
            if "auth" in tomllib.loads(secrets.read_text()):
                return
        except (OSError, tomllib.TOMLDecodeError):
            continue
    raise ServingError("--login oidc needs an [auth] section (redirect_uri, cookie_secret, client_id, "
                       "client_secret, server_metadata_url) in .streamlit/secrets.toml")


# Options shared by `dashboard` and `demo`.
ADDRESS = typer.Option(LOOPBACK, "--address", help="Address to listen on; beyond loopback needs a login and TLS.")
TLS_CERT = typer.Option(None, "--tls-cert", help="TLS certificate (PEM) for HTTPS (Streamlit's server.sslCertFile).")
TLS_KEY = typer.Option(None, "--tls-key", help="TLS private key (PEM) for the certificate (server.sslKeyFile).")
PASSWORD_HASH_FILE = typer.Option(
    None, "--password-hash-file", envvar="CHURNPLAN_DASHBOARD_PASSWORD_HASH_FILE",
    help="File holding the login's password hash (from `churnplan dashboard-hash`); "
         "or set CHURNPLAN_DASHBOARD_PASSWORD_HASH.")
LOGIN = typer.Option("password", "--login", help="Login kind: password (a hash) or oidc (Streamlit's st.login, "
                                                 "configured in .streamlit/secrets.toml).")
_KW = inspect.Parameter.KEYWORD_ONLY
SERVING_OPTIONS = [inspect.Parameter("address", _KW, annotation=str, default=ADDRESS),
                   inspect.Parameter("tls_cert", _KW, annotation=Path | None, default=TLS_CERT),
                   inspect.Parameter("tls_key", _KW, annotation=Path | None, default=TLS_KEY),
                   inspect.Parameter("password_hash_file", _KW, annotation=Path | None, default=PASSWORD_HASH_FILE),
                   inspect.Parameter("login", _KW, annotation=str, default=LOGIN)]


def with_serving_options(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the serving options (--address, --tls-cert, --tls-key, --password-hash-file, --login),
    passed in its **keywords: one declaration for `dashboard` and `demo`."""
    sig = inspect.signature(func)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = sig.replace(parameters=own + SERVING_OPTIONS)  # type: ignore[attr-defined]
    return func
