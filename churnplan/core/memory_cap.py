"""DuckDB's own memory bounded per connection: it caches scanned pages and keeps temporary tables in memory up
to its limit (default 80 % of RAM), so without a cap a large scan or import grows with the data; with one,
DuckDB spills temporary data to disk beside the store instead."""

from __future__ import annotations

import duckdb


def cap_memory(con: duckdb.DuckDBPyConnection, memory_limit: str = "256MB", threads: int | None = None) -> None:
    """Bound DuckDB's own buffer memory (and its threads) on this connection."""
    con.execute(f"SET memory_limit = '{checked_size(memory_limit)}'")  # SET takes no parameters: the size is checked
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")


def checked_size(text: str) -> str:
    """A memory size such as '1GB' or '512MB', checked (SET takes no parameters)."""
    num = text.rstrip("KMGTBkmgtib ")
    unit = text[len(num):].strip().upper()
    if not num.replace(".", "", 1).isdigit() or unit not in {"", "B", "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB"}:
        raise ValueError(f"memory limit must look like 1GB or 512MB, got {text!r}")
    return f"{num}{unit}"
