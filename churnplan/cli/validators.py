"""The one set of option checks every command shares, as typer callbacks: a bad value raises OptionError naming
the option, which the CLI shows as one red line with exit 2.

Each factory returns a callback for `typer.Option(..., callback=...)`; the callback hands the value on unchanged
(None passes: an option not given is the command's business).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from churnplan.core.durations import parse_duration
from churnplan.core.errors import ConfigError, OptionError, shorten
from churnplan.core.zones import check_zone

T = TypeVar("T")
Callback = Callable[[typer.Context, typer.CallbackParam, Any], Any]


def flag(param: typer.CallbackParam) -> str:
    """The option's long name as the user types it, e.g. '--rpo'."""
    names = [o for o in (param.opts or []) if o.startswith("--")]
    return names[0] if names else f"--{(param.name or '').replace('_', '-')}"


def _number(low: float | None, *, above: bool, high: float | None = None, what: str) -> Callback:
    def check(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value):
            raise OptionError(flag(param), f"{value!r} is not a finite number; {what}")
        if low is not None and (value <= low if above else value < low):
            raise OptionError(flag(param), f"{value:g} is out of range; {what}")
        if high is not None and value > high:
            raise OptionError(flag(param), f"{value:g} is out of range; {what}")
        return value
    return check


def positive(unit: str = "") -> Callback:
    """A finite number above 0 (a rate, a duration, a ratio)."""
    return _number(0.0, above=True, what=f"give a number above 0{' ' + unit if unit else ''}")


def non_negative(unit: str = "") -> Callback:
    """A finite number of 0 or more."""
    return _number(0.0, above=False, what=f"give a number of 0 or more{' ' + unit if unit else ''}")


def percentile() -> Callback:
    """A percentile in (0, 100]."""
    return _number(0.0, above=True, high=100.0, what="give a percentile above 0 and at most 100")


def port() -> Callback:
    """A TCP port, 1 to 65535."""
    return _number(1.0, above=False, high=65535.0, what="give a TCP port from 1 to 65535")


def duration(bare_unit: str = "s") -> Callback:
    """A duration such as 30s, 15m, 2h, 7d, longer than 0."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            seconds = parse_duration(value, flag(param), bare_unit=bare_unit)
        except ValueError:
            raise OptionError(flag(param), f"{shorten(value)} is not a duration; use e.g. 30s, 15m, 2h, 7d") from None
        if seconds <= 0:  # the duration syntax admits no inf or nan
            raise OptionError(flag(param), f"{shorten(value)} must be longer than 0 s")
        return value
    return check


def zone() -> Callback:
    """An IANA time zone name."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_zone(value)
        except ValueError as exc:
            raise OptionError(flag(param), str(exc)) from None
    return check


def parse_when(text: str, option: str) -> datetime:
    """An ISO date or time given to `option`."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {shorten(text)}: use an ISO date or time, e.g. 2026-11-09 or "
                          "2026-11-09T08:00") from None


def when(other: str | None = None, *, later: bool = False) -> Callback:
    """An ISO date or time; with `other` (the paired option's parameter name), this one must come after it when
    `later`, else before it. Click runs callbacks in command-line order, so both ends of a pair check."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is None:
            return None
        moment = parse_when(value, flag(param))
        paired = ctx.params.get(other) if other else None
        if paired is not None:
            there = parse_when(paired, f"--{other}")
            first, last = (there, moment) if later else (moment, there)
            if _naive(last) <= _naive(first):
                start, end = (f"--{other} {paired}", f"{flag(param)} {value}") if later else \
                    (f"{flag(param)} {value}", f"--{other} {paired}")
                raise OptionError(flag(param), f"{start} is not before {end}; the window would be empty")
        return value
    return check


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone(tz=None).replace(tzinfo=None)


def paired_rate(other: str, unit: str = "Mbps") -> Callback:
    """A rate of 0 or more that is not 0 together with the paired option `other` (a link that never sends)."""
    base = non_negative(unit)

    def check(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
        value = base(ctx, param, value)
        if value == 0 and ctx.params.get(other) == 0:
            raise OptionError(flag(param), f"0 with --{other.replace('_', '-')} 0 leaves no bandwidth at any "
                                           "hour; give at least one of them above 0")
        return value
    return check


def date_format() -> Callback:
    """A strptime format: refused when it holds a directive strptime does not know (e.g. %Q)."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            datetime.strptime("", value)
        except ValueError as exc:
            if "does not match" not in str(exc):  # a real format fails only on the empty text
                raise OptionError(flag(param), f"{shorten(value)} is not a strptime format ({exc}); "
                                               "use e.g. '%d/%m/%Y %H:%M:%S'") from None
        if "%" not in value:
            raise OptionError(flag(param), f"{shorten(value)} holds no % directive; use e.g. '%d/%m/%Y %H:%M:%S'")
        return value
    return check


def input_files() -> Callback:
    """Files to read: each must exist and be a file, not a folder."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: list[Path] | None) -> list[Path] | None:
        for path in value or []:
            if path.is_dir():
                raise OptionError(str(path), "is a folder; give the files in it (e.g. folder/*.csv)")
            if not path.exists():
                raise OptionError(str(path), "no such file")
        return value
    return check


def input_file() -> Callback:
    """One optional file to read: it must exist and be a file."""
    many = input_files()

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
        if value is not None:
            many(ctx, param, [value])
        return value
    return check


def output_dir() -> Callback:
    """A folder to write into: existing or to be made, but not an existing file."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.exists() and not value.is_dir():
            raise OptionError(flag(param), f"{value} is an existing file; give a folder to write the outputs into")
        for parent in value.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise OptionError(flag(param), f"{parent} is a file, so {value} cannot be made")
                break
        return value
    return check


def store_file() -> Callback:
    """The store file given to --db: not a folder (the store itself is checked when it is opened)."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise OptionError(flag(param), f"{value} is a folder; give the store's file name")
        return value
    return check
