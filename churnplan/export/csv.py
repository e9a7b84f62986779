"""CSV exports of a plan: UTF-8, comma-separated, with formula-looking text cells neutralised for spreadsheets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from churnplan.analytics.model import Plan

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with a quote; numbers and other values pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell neutralised (and text column names too): any column that is not numeric or
    a time may hold text (object, string or categorical)."""
    out = frame.copy()
    for col in out.columns:
        kind = out[col].dtype
        if not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind)
                or pd.api.types.is_timedelta64_dtype(kind)):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def to_csv_text(frame: pd.DataFrame) -> str:
    """One neutralised table as CSV text; times stay ISO-8601 UTC."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\n")


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write one neutralised table as UTF-8 CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv_text(frame), encoding="utf-8", newline="")
    return path


def write_plan(plan: Plan, out: Path) -> list[Path]:
    """vms.csv, disks.csv, process_servers.csv, bandwidth.csv and rpo.csv into `out`."""
    return [write_frame(frame, Path(out) / f"{name}.csv") for name, frame in plan.tables().items()]


def write_summary(plan: Plan, out: Path) -> Path:
    """summary.json: the plan's headline figures, keys sorted so runs diff cleanly."""
    path = Path(out) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plan.summary.to_json(), encoding="utf-8")
    return path
