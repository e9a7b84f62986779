"""Small DuckDB helpers the importers share."""

from __future__ import annotations

from typing import Any

import duckdb


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...] | None:
    """First row of a query, reading the result to its end (DuckDB 2 refuses other work on a half-read result)."""
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def row(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...]:
    """The one row a query cannot fail to return (an aggregate, a lookup of a rowid just read); none is a bug."""
    first = one(con, sql, params)
    if first is None:
        raise LookupError(f"query returned no row: {sql.strip().splitlines()[0]}")
    return first
