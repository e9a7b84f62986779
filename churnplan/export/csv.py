"""CSV exports of a plan: UTF-8, comma-separated, with formula-looking text cells neutralised for spreadsheets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.model import Plan

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAN_TABLES = ("vms", "disks", "process_servers", "bandwidth", "rpo")


def neutralise(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with a quote; numbers and other values pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell neutralised (and text column names too)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write one neutralised table; times stay ISO-8601 UTC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def write_plan(plan: Plan, out: Path) -> list[Path]:
    """vms.csv, disks.csv, process_servers.csv, bandwidth.csv and rpo.csv into `out`."""
    return [write_frame(getattr(plan, name), Path(out) / f"{name}.csv") for name in PLAN_TABLES]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def write_summary(plan: Plan, out: Path) -> Path:
    path = Path(out) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(plan.summary), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
