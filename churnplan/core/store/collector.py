"""What the live collector keeps in the store beside samples: every watermark of a vCenter, the estate's time zone.

# --- collector spool and status ---
"""

from __future__ import annotations

import duckdb
import pandas as pd

ESTATE_TIMEZONE_KEY = "estate_timezone"


def vcenter_watermarks(con: duckdb.DuckDBPyConnection, vcenter: str) -> pd.DataFrame:
    """vm_id, interval_s, last_ts (naive UTC) of every series of `vcenter`: where a restarted collector resumes."""
    return con.execute("SELECT vm_id, interval_s, last_ts FROM watermarks WHERE vcenter = ?", [vcenter]).df()


def record_estate_timezone(con: duckdb.DuckDBPyConnection, zone: str) -> None:
    """Remember the estate's IANA time zone (as given to collect) for reports and the dashboard to default to."""
    con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [ESTATE_TIMEZONE_KEY, zone])


def estate_timezone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The estate's time zone recorded in the store, or None."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [ESTATE_TIMEZONE_KEY]).fetchone()
    return str(row[0]) if row else None
