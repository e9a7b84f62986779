"""Reading the culture-specific timestamps PowerShell writes ('11/24/2026 3:15:00 PM', '24.11.2026 15:15:00', ISO).

The reading is chosen from the whole column: one style per file; slash dates are day-first or
month-first by evidence (a day above 12), else the user must say which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from churnplan.core.errors import OptionError
from churnplan.ingest.errors import IngestError, shorten
from churnplan.ingest.sql import one, row

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


def _slash(dayfirst: bool) -> tuple[str, ...]:
    date = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
    return tuple(f"{date} {t}" for t in _TIMES)


def _dot(dayfirst: bool) -> tuple[str, ...]:
    date = "%d.%m.%Y" if dayfirst else "%m.%d.%Y"
    return tuple(f"{date} {t}" for t in _TIMES[1::2])


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names(table: str, column: str) -> None:
    """Table and column go into SQL text (DuckDB binds no identifiers): only plain names from the importer."""
    if not (_NAME.fullmatch(table) and _NAME.fullmatch(column)):
        raise ValueError(f"not a plain SQL name: {table!r}.{column!r}")


def choose_reading(con: duckdb.DuckDBPyConnection, table: str, column: str,
                   line_of: Callable[[int], int], file: str, dayfirst: bool | None = None,
                   date_format: str | None = None) -> TimestampReading:
    """Decide how to read `table.column` (a VARCHAR column of a table with rowid = record order).

    `line_of(record)` maps a 0-based record to its file line for error messages.
    """
    _names(table, column)
    if date_format:
        return TimestampReading((date_format,), f"--date-format {date_format!r}")
    found = row(con, f"""WITH t AS (
              SELECT min(rowid) AS r, trim("{column}") AS t FROM {table} GROUP BY 2),
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
            FROM s""",  # noqa: S608 -- staging names checked by _names
        {"iso": ISO_RE, "dot": DOT_RE, "slash": SLASH_RE})
    iso, dot, slash, other, day_ev, month_ev = found

    def value(r: int) -> str:
        return row(con, f'SELECT "{column}" FROM {table} WHERE rowid = ?', [r])[0]  # noqa: S608 -- staging names checked by _names

    def fail(r: int, message: str) -> IngestError:
        return IngestError(file, line_of(r), column, message)

    if other is not None:
        raise fail(other, f"unrecognised timestamp {shorten(value(other))}: expected e.g. '11/24/2026 3:15:00 PM', "
                          "'24.11.2026 15:15:00' or ISO 8601; pass --date-format for others")
    firsts = {k: v for k, v in (("iso", iso), ("dot", dot), ("slash", slash)) if v is not None}
    if not firsts:
        return TimestampReading(None, "ISO 8601")  # no rows at all
    if len(firsts) > 1:
        early, late = sorted(firsts.values())[:2]
        raise fail(late, f"timestamp {shorten(value(late))} is written differently from line {line_of(early)} "
                         f"({shorten(value(early))}); one file must use one date format")
    style = next(iter(firsts))
    if style == "iso":
        return TimestampReading(None, "ISO 8601")
    if style == "dot":
        first = True if dayfirst is None else dayfirst
        return TimestampReading(_dot(first), "day.month.year" if first else "month.day.year")
    if dayfirst is None:
        if day_ev is not None and month_ev is not None:
            early, late = sorted((day_ev, month_ev))
            raise fail(late, f"timestamp {shorten(value(late))} contradicts line {line_of(early)} "
                             f"({shorten(value(early))}): one reads day-first, the other month-first")
        if day_ev is None and month_ev is None:
            dayfirst = _by_span(con, table, column)
            if dayfirst is None:
                raise fail(slash, f"timestamps such as {shorten(value(slash))} are ambiguous (no day above 12 in the "
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
                           FROM (SELECT DISTINCT "{column}" FROM {table}))""",  # noqa: S608 -- staging names checked by _names
                {"mf": list(_slash(False)), "df": list(_slash(True))})
    if spans is None or spans[0] is None or spans[1] is None or spans[0] == spans[1]:
        return None
    return spans[1] < spans[0]


def convert_distinct(con: duckdb.DuckDBPyConnection, reading: TimestampReading, tz: str, table: str,
                     column: str) -> pd.DataFrame:
    """Each distinct trimmed text of `table.column` as naive UTC: columns t, ts, ts_repeat.

    Local times in a DST fall-back hour happen twice: ts is the first (summer-time) instant and
    ts_repeat the second, one hour later; ts_repeat is NULL for every other time. Texts that do not
    parse get ts NULL.
    """
    _names(table, column)
    if reading.formats is None:
        local = "CASE WHEN regexp_matches(t, $offset_re) THEN NULL ELSE try_cast(t AS TIMESTAMP) END"
        given = "CASE WHEN regexp_matches(t, $offset_re) THEN timezone('UTC', try_cast(t AS TIMESTAMPTZ)) END"
        params: dict[str, object] = {"offset_re": OFFSET_RE}
    elif reading.has_offset:
        local, given = "NULL::TIMESTAMP", "timezone('UTC', try_strptime(t, $fmts))"
        params = {"fmts": list(reading.formats)}
    else:
        local, given = "try_strptime(t, $fmts)", "NULL::TIMESTAMP"
        params = {"fmts": list(reading.formats)}
    try:
        texts = con.execute(
            f"""SELECT t, {local} AS local, {given} AS given
                FROM (SELECT DISTINCT trim("{column}") AS t FROM {table})""", params).df()  # noqa: S608 -- staging names checked by _names
    except duckdb.InvalidInputException as exc:  # a format DuckDB's strptime does not take
        raise OptionError("--date-format", f"{reading.describe}: DuckDB cannot use it ({str(exc).strip()[:120]})"
                          ) from None
    local_ts = pd.to_datetime(texts["local"]).dt.as_unit("us")
    first = _to_utc(local_ts, tz, summer=True)
    second = _to_utc(local_ts, tz, summer=False)
    given_ts = pd.to_datetime(texts["given"]).dt.as_unit("us")
    return pd.DataFrame({"t": texts["t"], "ts": given_ts.fillna(first),
                         "ts_repeat": second.where(second != first)})


def _to_utc(local: pd.Series, tz: str, summer: bool) -> pd.Series:
    if local.isna().all():
        return local
    ambiguous = np.full(len(local), summer)
    return (local.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")
            .dt.tz_convert("UTC").dt.tz_localize(None))
