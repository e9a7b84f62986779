"""Time zones: which one this machine displays in, and checking the names users give."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from churnplan.core.errors import ConfigError, shorten


def local_zone() -> str:
    """The machine's IANA time zone name ($TZ, else /etc/localtime's target), or UTC when unknown."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    known = available_timezones()
    return next((name for name in candidates if name in known), "UTC")


def check_zone(name: str) -> str:
    """`name` if it is a known IANA zone; else a ConfigError (a ValueError) saying so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {shorten(name)}; use an IANA name such as Europe/Amsterdam") from exc
    return name
