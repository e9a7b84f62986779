"""A vCenter login that survives lost connections: TLS verified unless asked not to, re-login with bounded backoff.

The password lives only in memory, is never put in a message, and is not part of the object's repr.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import TypeVar
from collections.abc import Callable, Iterator

from pyVim import connect
from pyVmomi import vim

T = TypeVar("T")


from churnplan.core.errors import CollectorError  # noqa: E402 -- re-exported: collectors raise it from here


@dataclass(frozen=True)
class Credentials:
    """Who logs in; the password is kept out of repr so it cannot leak into logs or tracebacks."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Backoff:
    """Exponential re-login delays: first, first*2, ... capped at `max_delay_s`, at most `attempts` tries."""

    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    attempts: int = 12

    def delays(self) -> list[float]:
        return [min(self.first_delay_s * 2 ** i, self.max_delay_s) for i in range(self.attempts)]


def _is_connection_loss(exc: BaseException) -> bool:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    return isinstance(exc, (OSError, socket.timeout, http.client.HTTPException, vim.fault.NotAuthenticated))


def unreachable_reason(exc: BaseException) -> str | None:
    """Why a first connection cannot work, when retrying will not help (wrong host or port); else None."""
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror or exc}); check --server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused; check --server and --port (the vCenter's HTTPS port, usually 443)"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{exc.strerror}; check --server and the network route to it"
    return None


@contextlib.contextmanager
def _default_socket_timeout(timeout_s: float) -> Iterator[None]:
    # pyVmomi's version probe opens its HTTPS connection without a timeout: bound it through the default.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


class VCenterSession:
    """One logged-in vCenter; `call` runs an operation and, when the connection drops, logs in again and retries.

    Every request gives up after `timeout_s` (a hung vCenter counts as a lost connection, so it is retried with
    the backoff and reported through `on_reconnect`, rather than stalling silently).
    """

    def __init__(self, server: str, port: int, credentials: Credentials, insecure: bool = False,
                 backoff: Backoff = Backoff(), timeout_s: float = 30.0,
                 on_reconnect: Callable[[str], None] | None = None) -> None:
        self.server = server
        self.port = port
        self._credentials = credentials
        self.insecure = insecure
        self.backoff = backoff
        self.timeout_s = timeout_s
        self.on_reconnect = on_reconnect or (lambda message: None)
        self.reconnects = 0
        self.connected_once = False
        self._si: vim.ServiceInstance | None = None
        self.content: vim.ServiceInstanceContent | None = None

    def __repr__(self) -> str:
        return f"VCenterSession({self.server}:{self.port}, user={self._credentials.user!r})"

    def _ssl_context(self) -> ssl.SSLContext:
        # pyVmomi silently skips verification for localhost when no context is given, so always pass one.
        if self.insecure:
            return ssl._create_unverified_context()
        return ssl.create_default_context()

    def login(self) -> None:
        """Log in once; raise CollectorError for problems that retrying cannot fix."""
        try:
            with _default_socket_timeout(self.timeout_s):
                self._si = connect.SmartConnect(
                    host=self.server, port=self.port, user=self._credentials.user, pwd=self._credentials.password,
                    sslContext=self._ssl_context(), httpConnectionTimeout=self.timeout_s)
        except ssl.SSLCertVerificationError as exc:
            raise CollectorError(
                f"{self.server}:{self.port}: TLS certificate not trusted ({exc.verify_message}). Add the vCenter's CA "
                "to the system trust store (or SSL_CERT_FILE), or pass --insecure to skip verification") from None
        except vim.fault.InvalidLogin:
            raise CollectorError(f"{self.server}:{self.port}: login refused for user "
                                 f"{self._credentials.user!r}; check the user and password") from None
        self.content = self._si.RetrieveContent()
        self.connected_once = True

    def logout(self) -> None:
        if self._si is not None:
            try:
                connect.Disconnect(self._si)
            except Exception:
                pass
        self._si = None
        self.content = None

    def _describe(self, cause: BaseException) -> str:
        if isinstance(cause, (socket.timeout, TimeoutError)):
            return f"no answer from {self.server}:{self.port} within {self.timeout_s:g} s (waiting on vCenter)"
        verb = "lost" if self.connected_once else "failed"
        return f"connection to {self.server} {verb} ({type(cause).__name__})"

    def _relogin(self, cause: BaseException) -> None:
        self.logout()
        waited = 0.0
        for delay in self.backoff.delays():
            self.on_reconnect(f"{self._describe(cause)}; logging in again in {delay:g} s")
            time.sleep(delay)
            waited += delay
            try:
                self.login()
                self.reconnects += 1
                self.on_reconnect(f"logged in to {self.server} again")
                return
            except CollectorError:
                raise
            except Exception as exc:
                if not _is_connection_loss(exc):
                    raise
                cause = exc
        raise CollectorError(f"{self.server}:{self.port}: {self._describe(cause)}, and {self.backoff.attempts} "
                             f"attempts to log in again over {waited:g} s failed ({type(cause).__name__}: {cause}); "
                             "run the same command again to resume from where it stopped")

    def call(self, operation: Callable[[vim.ServiceInstanceContent], T]) -> T:
        """Run `operation(content)`, re-logging in and retrying it while the connection is lost or stalls.

        A first connection to a host that does not exist or refuses it fails at once: that is a typing mistake.
        """
        while True:
            try:
                if self.content is None:
                    self.login()
                assert self.content is not None  # login() returns only once logged in
                return operation(self.content)
            except CollectorError:
                raise
            except Exception as exc:
                if not _is_connection_loss(exc):
                    raise
                reason = None if self.connected_once else unreachable_reason(exc)
                if reason:
                    raise CollectorError(f"{self.server}:{self.port}: {reason}") from None
                self._relogin(exc)
