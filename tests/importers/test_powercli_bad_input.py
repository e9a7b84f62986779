"""Bad Get-Stat files fail whole, naming file, line (as an editor counts it) and field; nothing stored changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnplan.core import store
from churnplan.ingest import powercli
from churnplan.ingest.errors import IngestError

from importers_support import DE_FILE, US_FILE, runs_of, samples_of

# US_FILE: line 1 '#TYPE ...', line 2 the header, lines 3-20 data (3-18 app01, 19-20 db02).
LINES = US_FILE.read_text().splitlines()


def _cells(line: str) -> list[str]:
    return [c.strip('"') for c in line.split('","')]


def _line(cells: list[str]) -> str:
    return '"' + '","'.join(cells) + '"'


def _with_cell(line_no: int, column: str, value: str) -> list[str]:
    """US_FILE's lines with one cell of (1-based) line `line_no` replaced."""
    lines = list(LINES)
    cells = _cells(lines[line_no - 1])
    cells[_cells(LINES[1]).index(column)] = value
    lines[line_no - 1] = _line(cells)
    return lines


def _without_column(column: str) -> list[str]:
    idx = _cells(LINES[1]).index(column)
    return [LINES[0]] + [_line([c for i, c in enumerate(_cells(line)) if i != idx]) for line in LINES[1:]]


CASES = {
    # name: (file lines, expected line, expected field, words the message must hold)
    "truncated mid-row": (LINES[:-1] + [LINES[-1][:60]], 20, None, "truncated"),
    "row missing its last cells": (LINES[:6] + [LINES[6].rsplit(",", 2)[0]] + LINES[7:], 7, "IntervalSecs",
                                   "truncated"),
    "unknown metric": (_with_cell(5, "MetricId", "cpu.usage.average"), 5, "MetricId", "unknown metric"),
    "negative value": (_with_cell(8, "Value", "-5"), 8, "Value", "negative"),
    "non-numeric value": (_with_cell(12, "Value", "n/a"), 12, "Value", "not a number"),
    "empty value": (_with_cell(13, "Value", ""), 13, "Value", "not a number"),
    "mixed intervals in one series": (_with_cell(11, "IntervalSecs", "20"), 11, "IntervalSecs",
                                      "differs from 300 s on line 3"),
    "duplicate row": (LINES + [LINES[9]], 21, "Timestamp",
                      "duplicate row: same VM, instance, metric and time as line 10"),
    "missing column": (_without_column("Unit"), 2, "Unit", "missing"),
    "unknown unit": (_with_cell(19, "Unit", "GBph"), 19, "Unit", "unknown unit"),
    "rate counter in a count unit": (_with_cell(4, "Unit", "num"), 4, "Unit", "does not fit"),
    "host instead of VM": (_with_cell(6, "EntityId", "HostSystem-host-12"), 6, "EntityId", "not a virtual machine"),
    "virtual disk without instance": (_with_cell(7, "Instance", ""), 7, "Instance", "disk instance"),
    "unreadable timestamp": (_with_cell(15, "Timestamp", "yesterday"), 15, "Timestamp", "unrecognised timestamp"),
    "impossible date": (_with_cell(16, "Timestamp", "11/31/2026 3:20:00 PM"), 16, "Timestamp", "cannot read"),
    "zero interval": (_with_cell(9, "IntervalSecs", "0"), 9, "IntervalSecs", "positive whole number"),
    "empty file": ([], 1, "header", "empty"),
}


@pytest.fixture
def loaded(con):
    """A store already holding DE_FILE's samples: bad imports must leave them exactly as they are."""
    powercli.import_file(con, DE_FILE, timezone="Europe/Berlin")
    return con


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_names_file_line_and_field_and_changes_nothing(loaded, tmp_path: Path, case: str):
    lines, line, field, words = CASES[case]
    bad = tmp_path / "bad-getstat.csv"
    bad.write_text("\r\n".join(lines) + ("\r\n" if lines and case != "truncated mid-row" else ""))
    before_counts, before_samples = store.counts(loaded), samples_of(loaded)

    with pytest.raises(IngestError) as caught:
        powercli.import_file(loaded, bad)

    err = caught.value
    assert (Path(err.file).name, err.line) == ("bad-getstat.csv", line)
    if field:
        assert err.field == field
        assert f"field {field}" in str(err)
    assert f"bad-getstat.csv, line {line}" in str(err)
    assert words in str(err)
    assert store.counts(loaded) == before_counts
    assert samples_of(loaded) == before_samples
    assert runs_of(loaded)[-1][:2] == ("powercli", "failed")
    assert str(err) in runs_of(loaded)[-1][2]


def test_a_bad_row_after_good_ones_keeps_none_of_them(con, tmp_path: Path):
    bad = tmp_path / "late-error.csv"
    bad.write_text("\r\n".join(_with_cell(20, "Value", "-1")))
    with pytest.raises(IngestError, match="line 20"):
        powercli.import_file(con, bad)
    assert store.counts(con) == store.Counts(0, 0, 0)


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(con, tmp_path: Path):
    lines = _with_cell(8, "Value", "x")
    cells = _cells(lines[2])
    cells[_cells(LINES[1]).index("Description")] = "a description\nover two lines"
    lines[2] = _line(cells)
    lines.insert(5, "")
    bad = tmp_path / "odd-lines.csv"
    bad.write_text("\n".join(lines) + "\n")
    # line 3 now spans two lines and a blank line follows line 5: the bad old line 8 is line 10.
    with pytest.raises(IngestError) as caught:
        powercli.import_file(con, bad)
    assert (caught.value.line, caught.value.field) == (10, "Value")


def test_mixed_line_endings_are_refused_rather_than_read_as_nothing(con, tmp_path: Path):
    """DuckDB reads zero rows when the '#TYPE' line ends in CRLF and the rest in LF; say so instead."""
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes((LINES[0] + "\r\n" + "\n".join(LINES[1:]) + "\n").encode())
    with pytest.raises(IngestError, match=r"mixed.csv, line 2: line ends with LF but line 1 with CRLF"):
        powercli.import_file(con, mixed)
    assert store.counts(con).samples == 0
