"""Comparing two plans' output folders: identical text, counts, assignments and tiers; floats to 1e-9 relative."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("vms", "disks", "process_servers", "bandwidth", "rpo", "vm_sizes", "cores_by_family", "cache_accounts",
          "cost")
REL_TOL = 1e-9
_NOT_COMPARED = {"generated_utc"}   # when the plan ran
# Summary figures the Spark engine does not compute: none (coverage, Azure targets, the billed cost, recovery
# points, outage catch-up and telemetry all run through the default engine's stages).
NOT_ON_SPARK: tuple[str, ...] = ()


def _differences(name: str, want: pd.DataFrame, got: pd.DataFrame) -> list[str]:
    if list(want.columns) != list(got.columns) or len(want) != len(got):
        return [f"{name}: columns/rows {list(want.columns)} x {len(want)} != {list(got.columns)} x {len(got)}"]
    found = []
    for col in want.columns:
        a, b = want[col], got[col]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_numeric_dtype(b):
            close = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=REL_TOL, atol=0.0, equal_nan=True)
            if not close.all():
                i = int(np.argmin(close))
                found.append(f"{name}.{col}: {int((~close).sum())} differ, e.g. row {i}: "
                             f"{a.iloc[i]!r} != {b.iloc[i]!r}")
        elif not a.fillna("<NA>").astype(str).equals(b.fillna("<NA>").astype(str)):
            i = int(np.argmin((a.fillna("<NA>").astype(str) == b.fillna("<NA>").astype(str)).to_numpy()))
            found.append(f"{name}.{col}: row {i}: {a.iloc[i]!r} != {b.iloc[i]!r}")
    return found


def _summary_differences(want: dict, got: dict, path: str = "summary") -> list[str]:
    found = []
    for key in sorted(set(want) | set(got)):
        if key in _NOT_COMPARED:
            continue
        a, b = want.get(key), got.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _summary_differences(a, b, f"{path}.{key}")
        elif isinstance(a, float) and isinstance(b, (int, float)):
            if not math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0):
                found.append(f"{path}.{key}: {a!r} != {b!r}")
        elif a != b:
            found.append(f"{path}.{key}: {a!r} != {b!r}")
    return found


def plan_differences(want: Path, got: Path, not_compared: tuple[str, ...] = ()) -> list[str]:
    """Every way the plan in `got` differs from the one in `want` (empty: the same plan), leaving out the summary
    keys `not_compared`."""
    found = []
    for name in TABLES:
        found += _differences(name, pd.read_csv(want / f"{name}.csv"), pd.read_csv(got / f"{name}.csv"))
    want_summary = json.loads((want / "summary.json").read_text())
    got_summary = json.loads((got / "summary.json").read_text())
    for key in not_compared:
        want_summary.pop(key, None), got_summary.pop(key, None)
    return found + _summary_differences(want_summary, got_summary)
