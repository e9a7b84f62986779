"""The estate's time zone as import, the sample estate and `churnplan init --timezone` record it (the collector
records it through store.collector.record_estate_timezone; same meta key)."""

from __future__ import annotations

import duckdb

from churnplan.core.store.collector import ESTATE_TIMEZONE_KEY, record_estate_timezone


def set_estate_timezone(con: duckdb.DuckDBPyConnection, zone: str, overwrite: bool = True) -> None:
    """Record the estate's time zone (IANA name); with overwrite=False only when none is recorded yet.

    Reads with fetchall, so it leaves no open result inside a caller's transaction."""
    if not overwrite and con.execute("SELECT value FROM meta WHERE key = ?", [ESTATE_TIMEZONE_KEY]).fetchall():
        return
    record_estate_timezone(con, zone)
