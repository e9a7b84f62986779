"""CSV exports: a golden file pins quoting, neutralising and number format."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from churnplan.export.csv import safe_frame, write_frame

GOLDEN = Path(__file__).parent / "golden" / "awkward_names.csv"


def test_awkward_names_export_matches_the_golden_file(tmp_path):
    frame = pd.DataFrame({
        "name": ["web01", "sql, prod", "=HYPERLINK(\"http://x\")", "+cmd", "-2+3", "@SUM(A1)", "tab\tname",
                 "Zoë \"quoted\"", None],
        "peak_churn_mibps": [0.5, 12.25, 1.0, 0.0, -1.5, 3.0, 2.0, 7.125, float("nan")],
        "compatibility": ["Yes", "Yes*", "No", "Yes", "Yes", "Yes", "Yes", "Yes", "No"],
    })
    out = write_frame(frame, tmp_path / "t.csv")
    if os.environ.get("CHURNPLAN_UPDATE_GOLDEN"):
        GOLDEN.write_bytes(out.read_bytes())
    assert out.read_bytes() == GOLDEN.read_bytes()
    back = pd.read_csv(out)
    assert back["name"].iloc[2].startswith("'=") and back["peak_churn_mibps"].iloc[4] == -1.5


def test_text_in_categorical_and_string_columns_is_neutralised_too():
    frame = pd.DataFrame({"tier": pd.Categorical(["=P20", "P10"]), "name": pd.array(["+x", "y"], dtype="string"),
                          "n": [-1, 2]})
    out = safe_frame(frame)
    assert out["tier"].astype(str).tolist() == ["'=P20", "P10"]
    assert out["name"].tolist() == ["'+x", "y"] and out["n"].tolist() == [-1, 2]
