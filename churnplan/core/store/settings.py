"""Estate settings the store keeps in its meta table: the estate's time zone (recorded by import or
`churnplan init --timezone`; the report and the dashboard default to it)."""

from __future__ import annotations

import duckdb

ESTATE_TIMEZONE = "estate_timezone"


def estate_timezone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The estate's time zone as recorded by import, collect or `init --timezone` (None when never recorded)."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [ESTATE_TIMEZONE]).fetchall()
    return str(rows[0][0]) if rows else None


def set_estate_timezone(con: duckdb.DuckDBPyConnection, zone: str, overwrite: bool = True) -> None:
    """Record the estate's time zone (IANA name); with overwrite=False only when none is recorded yet."""
    if not overwrite and estate_timezone(con) is not None:
        return
    con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [ESTATE_TIMEZONE, zone])
