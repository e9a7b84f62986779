"""Durations as users type them on the command line: 30s, 15m, 2h, 7d, 1w or a bare number."""

from __future__ import annotations

import re

from churnplan.core.errors import OptionError, shorten
from churnplan.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": SECONDS_PER_MINUTE, "h": SECONDS_PER_HOUR, "d": SECONDS_PER_DAY, "w": 7 * SECONDS_PER_DAY}


def parse_duration(text: str, option: str, bare_unit: str = "s") -> float:
    """Seconds in `text`; a bare number counts in `bare_unit`. OptionError (a ValueError) names `option`."""
    match = _DURATION.match(str(text or ""))
    if not match:
        raise OptionError(option, f"{shorten(text)} is not a duration; use e.g. 30s, 15m, 2h, 7d")
    return float(match.group(1)) * _UNIT_S[(match.group(2) or bare_unit).lower()]
