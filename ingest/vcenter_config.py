"""The collector's settings from a TOML file (for a service) and where each vCenter's password comes from.

A password never lives in the config file: it comes from a file named there (a systemd credential, read
from $CREDENTIALS_DIRECTORY when the name is relative), from the environment
(CHURNPLAN_VCENTER_PASSWORD_<HOST>_<PORT>, CHURNPLAN_VCENTER_PASSWORD_<HOST>, CHURNPLAN_VCENTER_PASSWORD),
or from a prompt.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnplan.core.durations import parse_duration
from churnplan.ingest.errors import IngestError
from churnplan.ingest.vcenter_inventory import read_vm_list

PASSWORD_ENV = "CHURNPLAN_VCENTER_PASSWORD"
USER_ENV = "CHURNPLAN_VCENTER_USER"
CREDENTIALS_DIR_ENV = "CREDENTIALS_DIRECTORY"   # set by systemd for LoadCredential=

_TOP_KEYS = {"db", "spool", "log_file", "poll", "duration", "insecure", "backfill", "call_timeout", "drain_wait",
             "timezone", "user", "password_file", "vm_list", "servers"}
_SERVER_KEYS = {"host", "port", "user", "password_file", "vm_list", "vms"}
_DURATIONS = {"poll", "duration", "call_timeout", "drain_wait"}
_PATHS = {"db", "spool", "log_file"}


@dataclass
class ServerConfig:
    """One vCenter as the config (or the command line) names it; the password is looked up later."""

    host: str
    port: int = 443
    user: str | None = None
    password_file: Path | None = None
    vm_names: list[str] | None = None
    config_dir: Path | None = None   # a relative password_file is found here unless systemd gives credentials

    @property
    def vcenter(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"


@dataclass
class CollectConfig:
    """Settings read from a config file; durations in seconds, paths resolved against the file's folder."""

    servers: list[ServerConfig] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def parse_server(text: str, default_port: int) -> ServerConfig:
    """`host` or `host:port` (IPv6 in brackets: `[::1]:8989`) as given to --server."""
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?", text.strip())
    if not match or not (match.group(1) or match.group(3)):
        raise ValueError(f"--server: {text!r} is not a host name or host:port")
    host = match.group(1) or match.group(3)
    port = match.group(2) or match.group(4)
    return ServerConfig(host, int(port) if port else default_port)


def _fail(path: Path, key: str | None, message: str) -> IngestError:
    return IngestError(path, None, key, message)


def _check_keys(path: Path, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key.lower() in ("password", "pwd", "pass", "secret"):
            raise _fail(path, f"{where}{key}", "passwords do not belong in the config file; name a password_file "
                        f"(e.g. a systemd credential) or set {PASSWORD_ENV}")
        if key not in allowed:
            raise _fail(path, f"{where}{key}", f"unknown setting; expected one of {', '.join(sorted(allowed))}")


def _typed(path: Path, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, key, f"expected {names}, got {value!r}")
    return value


def load_config(path: Path) -> CollectConfig:
    """Read and check a collector config file; IngestError names the file and the key at fault."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, None, f"cannot read the config file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise _fail(path, None, "config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"at line (\d+)", str(exc))   # Python < 3.14 has no exc.lineno
        raise IngestError(path, int(at.group(1)) if at else None, None,
                          f"not valid TOML ({str(exc).split(' (at')[0]})") from None
    _check_keys(path, data, _TOP_KEYS, "")
    base = path.parent
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key in _DURATIONS:
            try:
                settings[key] = parse_duration(str(_typed(path, key, value, (str, int, float))), key)
            except ValueError as exc:
                raise _fail(path, key, str(exc).split(": ", 1)[-1]) from None
        elif key in _PATHS or key == "vm_list":
            settings[key] = base / _typed(path, key, value, str)
        elif key == "password_file":
            settings[key] = Path(_typed(path, key, value, str))
        elif key in ("insecure", "backfill"):
            settings[key] = _typed(path, key, value, bool)
        elif key in ("timezone", "user"):
            settings[key] = _typed(path, key, value, str)
    servers = []
    for n, entry in enumerate(_typed(path, "servers", data.get("servers", []), list), 1):
        where = f"servers[{n}]."
        if not isinstance(entry, dict):
            raise _fail(path, f"servers[{n}]", "expected a table ([[servers]] with host = ...)")
        _check_keys(path, entry, _SERVER_KEYS, where)
        if "host" not in entry:
            raise _fail(path, f"{where}host", "missing: every [[servers]] entry names its host")
        server = ServerConfig(_typed(path, f"{where}host", entry["host"], str),
                              int(_typed(path, f"{where}port", entry.get("port", 443), int)),
                              entry.get("user", settings.get("user")), config_dir=base)
        if not 0 < server.port < 65536:
            raise _fail(path, f"{where}port", f"{server.port} is not a TCP port")
        password_file = entry.get("password_file")
        server.password_file = Path(_typed(path, f"{where}password_file", password_file, str)) \
            if password_file else settings.get("password_file")
        if "vms" in entry:
            names = _typed(path, f"{where}vms", entry["vms"], list)
            server.vm_names = [_typed(path, f"{where}vms", v, str) for v in names]
        elif "vm_list" in entry or "vm_list" in settings:
            listed = base / entry["vm_list"] if "vm_list" in entry else settings["vm_list"]
            server.vm_names = read_vm_list(listed)
        servers.append(server)
    return CollectConfig(servers, settings)


def env_name(host: str, port: int | None = None) -> str:
    """The per-server password variable: CHURNPLAN_VCENTER_PASSWORD_<HOST>[_<PORT>], non-alphanumerics as _."""
    suffix = re.sub(r"[^A-Za-z0-9]", "_", host).upper()
    return f"{PASSWORD_ENV}_{suffix}" + (f"_{port}" if port is not None else "")


def password_for(server: ServerConfig, environ: Mapping[str, str],
                 prompt: Callable[[str], str] | None) -> str:
    """The server's password from its password file, the environment, or `prompt` (None: not interactive)."""
    if server.password_file is not None:
        path = server.password_file
        if not path.is_absolute():
            path = Path(environ.get(CREDENTIALS_DIR_ENV) or server.config_dir or ".") / path
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"{server.vcenter}: cannot read the password file {path} ({exc.strerror})") from None
    for name in (env_name(server.host, server.port), env_name(server.host), PASSWORD_ENV):
        if environ.get(name):
            return environ[name]
    if prompt is None:
        raise ValueError(f"{server.vcenter}: no password: set {env_name(server.host)} or {PASSWORD_ENV}, name a "
                         "password_file in the config, or run interactively to be prompted")
    return prompt(f"password for {server.user}@{server.vcenter}")


def user_for(server: ServerConfig, given: str | None, environ: Mapping[str, str]) -> str:
    user = server.user or given or environ.get(USER_ENV)
    if not user:
        raise ValueError(f"{server.vcenter}: no vCenter user: pass --user, set {USER_ENV}, or give user in the config")
    return user
