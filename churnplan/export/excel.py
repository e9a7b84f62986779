"""The Excel workbook: the plan laid out in the sheets an ASR Deployment Planner user knows.

Every string is written as text (never a formula or link), times in the chosen local zone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from churnplan.analytics.model import Plan
from churnplan.export import tables
from churnplan.export import forecast as forecast_export

SHEETS = ("What to buy", "On-premises summary", "Recommendations", "What-if", "VM-disk placement", "Compatible VMs",
          "Incompatible VMs", "Process servers", "Initial replication", "Cost", "Azure VM sizes")
MAX_WIDTH = 60


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                       "text_wrap": True, "valign": "top", "border": 1})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"italic": True, "font_color": "#595959"})
        self.int = book.add_format({"num_format": "#,##0"})
        self.float = book.add_format({"num_format": "#,##0.00"})
        self.datetime = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})


def write_workbook(plan: Plan, target: str | Path | BinaryIO, tz: str = "UTC") -> None:
    """Write the plan's workbook to a path or a binary file object."""
    book = xlsxwriter.Workbook(target if not isinstance(target, Path) else str(target), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "nan_inf_to_errors": True, "in_memory": True})
    fmt = _Formats(book)
    sheets = tables.workbook_tables(plan, tz)
    for name in SHEETS:
        ws = book.add_worksheet(name)
        spec = sheets[name]
        row = 0
        if spec.title:
            ws.write_string(row, 0, spec.title, fmt.title)
            row += 1
        for note in spec.notes:
            ws.write_string(row, 0, note, fmt.note)
            row += 1
        if row:
            row += 1
        header_row = row
        last = _write_table(ws, spec.frame, row, fmt)
        ws.freeze_panes(header_row + 1, spec.freeze_cols)
        if len(spec.frame.columns):
            ws.autofilter(header_row, 0, max(last, header_row), len(spec.frame.columns) - 1)
        row = last + 2
        for caption, extra in spec.extra:
            ws.write_string(row, 0, caption, fmt.title)
            row = _write_table(ws, extra, row + 1, fmt) + 2
        if spec.chart is not None and len(spec.frame):
            _add_chart(book, ws, spec, header_row)
    forecast_export.write_sheet(book, plan, fmt, tz)
    book.close()


def _write_table(ws: Worksheet, frame: pd.DataFrame, row: int, fmt: _Formats) -> int:
    """Header at `row`, data below; returns the last row written. Column widths follow the content."""
    for col, name in enumerate(frame.columns):
        header = tables.label(name)
        ws.write_string(row, col, header, fmt.header)
        values = frame[name]
        writer = _column_writer(values, fmt)
        width = max([len(header) * 0.9] + [len(_text(v)) for v in values.head(500)]) + 2
        ws.set_column(col, col, min(MAX_WIDTH, max(8, width)))
        for offset, value in enumerate(values.tolist(), start=1):
            writer(ws, row + offset, col, value)
    return row + len(frame)


def _column_writer(values: pd.Series, fmt: _Formats):
    """How to write one column's cells, chosen by its dtype; missing cells stay empty."""
    if pd.api.types.is_bool_dtype(values):
        def write(ws, r, c, v): ws.write_boolean(r, c, bool(v))
    elif pd.api.types.is_integer_dtype(values):
        def write(ws, r, c, v): ws.write_number(r, c, int(v), fmt.int)
    elif pd.api.types.is_float_dtype(values):
        def write(ws, r, c, v): ws.write_number(r, c, float(v), fmt.float)
    elif pd.api.types.is_datetime64_any_dtype(values):
        def write(ws, r, c, v): ws.write_datetime(r, c, v.to_pydatetime(), fmt.datetime)
    else:
        return _write_any
    return lambda ws, r, c, v: None if tables.is_missing(v) else write(ws, r, c, v)


def _write_any(ws: Worksheet, r: int, c: int, v: Any) -> None:
    if tables.is_missing(v):
        return
    if isinstance(v, (bool, np.bool_)):
        ws.write_boolean(r, c, bool(v))
    elif isinstance(v, (int, float, np.integer, np.floating)):
        ws.write_number(r, c, float(v))
    else:
        ws.write_string(r, c, _text(v))


def _text(v: Any) -> str:
    if tables.is_missing(v):
        return ""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _add_chart(book: xlsxwriter.Workbook, ws: Worksheet, spec: tables.SheetTable, header_row: int) -> None:
    """A column chart of one measure against the first column, beside the table (the planner's what-if graph)."""
    if spec.chart is None:
        return
    x_col, y_cols = spec.chart
    n = spec.chart_rows if spec.chart_rows is not None else len(spec.frame)
    if n == 0:
        return
    chart = book.add_chart({"type": "column"})
    cols = list(spec.frame.columns)
    for y in y_cols:
        yi = cols.index(y)
        chart.add_series({"name": [ws.name, header_row, yi],
                          "categories": [ws.name, header_row + 1, cols.index(x_col), header_row + n, cols.index(x_col)],
                          "values": [ws.name, header_row + 1, yi, header_row + n, yi]})
    chart.set_title({"name": spec.chart_title or spec.title or ws.name})
    chart.set_size({"width": 720, "height": 320})
    ws.insert_chart(header_row, len(cols) + 1, chart)
