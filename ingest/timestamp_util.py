"""Reading the culture-specific timestamps PowerShell writes ('11/24/2026 3:15:00 PM', '24.11.2026 15:15:00', ISO).

The reading is chosen from the whole column: one style per file; slash dates are day-first or
month-first by evidence (a day above 12), else the user must say which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from ingest.errors import IngestError
from ingest.sql_util import one

ISO_RE = r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?"
OFFSET_RE = r"\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
DOT_RE = r"\d{1,2}\.\d{1,2}\.\d{4}\s+\d{1,2}:\d{2}(:\d{2})?"
SLASH_RE = r"\d{1,2}/\d{1,2}/\d{4}\s+\d{1,2}:\d{2}(:\d{2})?(\s*[AaPp][Mm])?"

_TIMES = ("%I:%M:%S %p", "%H:%M:%S", "%I:%M %p", "%H:%M")


@dataclass(frozen=True)
class TimestampReading:
    """How one file's timestamps are read: strptime formats (None = ISO 8601) and a name for messages."""

    formats: tuple[str, ...] | None
    describe: str

    @property
    def has_offset(self) -> bool:
        return self.formats is not None and any("%z" in f or "%Z" in f for f in self.formats)


def check_timezone(name: str) -> str:
    """The IANA zone name, or ValueError naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'") from exc
    return name


def _slash(dayfirst: bool) -> tuple[str, ...]:
    date = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
    return tuple(f"{date} {t}" for t in _TIMES)


def _dot(dayfirst: bool) -> tuple[str, ...]:
    date = "%d.%m.%Y" if dayfirst else "%m.%d.%Y"
    return tuple(f"{date} {t}" for t in _TIMES[1::2])


def choose_reading(con: duckdb.DuckDBPyConnection, table: str, column: str,
                   line_of: Callable[[int], int], file: str, dayfirst: bool | None = None,
                   date_format: str | None = None) -> TimestampReading:
    """Decide how to read `table.column` (a VARCHAR column of a table with rowid = record order).

    `line_of(record)` maps a 0-based record to its file line for error messages.
    """
    if date_format:
        return TimestampReading((date_format,), f"--date-format {date_format!r}")
    row = one(con, 
        f"""WITH t AS (
              SELECT rowid AS r, trim("{column}") AS t FROM {table}),
            s AS (
              SELECT r, t, CASE WHEN regexp_full_match(t, $iso) THEN 'iso'
                                WHEN regexp_full_match(t, $dot) THEN 'dot'
                                WHEN regexp_full_match(t, $slash) THEN 'slash' END AS style FROM t)
            SELECT min(r) FILTER (WHERE style = 'iso'), min(r) FILTER (WHERE style = 'dot'),
                   min(r) FILTER (WHERE style = 'slash'), min(r) FILTER (WHERE style IS NULL),
                   min(r) FILTER (WHERE style = 'slash'
                                  AND TRY_CAST(regexp_extract(t, '^(\\d+)/', 1) AS INTEGER) > 12),
                   min(r) FILTER (WHERE style = 'slash'
                                  AND TRY_CAST(regexp_extract(t, '^\\d+/(\\d+)/', 1) AS INTEGER) > 12)
            FROM s""",
        {"iso": ISO_RE, "dot": DOT_RE, "slash": SLASH_RE})
    iso, dot, slash, other, day_ev, month_ev = row

    def value(r: int) -> str:
        return one(con, f'SELECT "{column}" FROM {table} WHERE rowid = ?', [r])[0]

    def fail(r: int, message: str) -> IngestError:
        return IngestError(file, line_of(r), column, message)

    if other is not None:
        raise fail(other, f"unrecognised timestamp {value(other)!r}: expected e.g. '11/24/2026 3:15:00 PM', "
                          "'24.11.2026 15:15:00' or ISO 8601; pass --date-format for others")
    firsts = {k: v for k, v in (("iso", iso), ("dot", dot), ("slash", slash)) if v is not None}
    if not firsts:
        return TimestampReading(None, "ISO 8601")  # no rows at all
    if len(firsts) > 1:
        early, late = sorted(firsts.values())[:2]
        raise fail(late, f"timestamp {value(late)!r} is written differently from line {line_of(early)} "
                         f"({value(early)!r}); one file must use one date format")
    style = next(iter(firsts))
    if style == "iso":
        return TimestampReading(None, "ISO 8601")
    if style == "dot":
        first = True if dayfirst is None else dayfirst
        return TimestampReading(_dot(first), "day.month.year" if first else "month.day.year")
    if dayfirst is None:
        if day_ev is not None and month_ev is not None:
            early, late = sorted((day_ev, month_ev))
            raise fail(late, f"timestamp {value(late)!r} contradicts line {line_of(early)} ({value(early)!r}): "
                             "one reads day-first, the other month-first")
        if day_ev is None and month_ev is None:
            dayfirst = _by_span(con, table, column)
            if dayfirst is None:
                raise fail(slash, f"timestamps such as {value(slash)!r} are ambiguous (no day above 12 in the "
                                  "file, all on one date); pass --dayfirst, --monthfirst or --date-format")
            return TimestampReading(_slash(dayfirst), ("day/month/year" if dayfirst else "month/day/year")
                                    + " (told by the time span)")
        dayfirst = day_ev is not None
    return TimestampReading(_slash(dayfirst), "day/month/year" if dayfirst else "month/day/year")


def _by_span(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool | None:
    """Day-first or not when every day and month is <= 12: the file's dates then lie within one month, so
    the right reading spans days where the wrong one spans months. None when both span alike (one date)."""
    spans = one(con, f"""SELECT max(m) - min(m), max(d) - min(d) FROM (
                           SELECT try_strptime(trim("{column}"), $mf) AS m, try_strptime(trim("{column}"), $df) AS d
                           FROM {table})""", {"mf": list(_slash(False)), "df": list(_slash(True))})
    if spans is None or spans[0] is None or spans[1] is None or spans[0] == spans[1]:
        return None
    return spans[1] < spans[0]


def utc_sql(reading: TimestampReading, text_sql: str) -> str:
    """SQL turning the text expression `text_sql` into naive UTC, with the parameters of `utc_params`."""
    if reading.formats is None:
        return (f"CASE WHEN regexp_matches({text_sql}, $offset_re) "
                f"THEN timezone('UTC', try_cast({text_sql} AS TIMESTAMPTZ)) "
                f"ELSE timezone('UTC', timezone($tz, try_cast({text_sql} AS TIMESTAMP))) END")
    if reading.has_offset:
        return f"timezone('UTC', try_strptime({text_sql}, $fmts))"
    return f"timezone('UTC', timezone($tz, try_strptime({text_sql}, $fmts)))"


def utc_params(reading: TimestampReading, tz: str) -> dict[str, object]:
    """The parameters `utc_sql` refers to (DuckDB rejects unused named parameters)."""
    if reading.formats is None:
        return {"offset_re": OFFSET_RE, "tz": tz}
    if reading.has_offset:
        return {"fmts": list(reading.formats)}
    return {"fmts": list(reading.formats), "tz": tz}
