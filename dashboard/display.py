"""How the dashboard shows a frame: the report's column labels (with units), thousands separators and,
for times, the display zone in the header."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from churnplan.export import charts, tables


def table(frame: pd.DataFrame, tz: str | None = None, **kwargs: Any) -> None:
    """st.dataframe under readable headers; the frame keeps its column names (column_order may use them).

    Times (UTC, naive or zone-aware, as stored) are shown as wall-clock times in `tz`, named in the header.
    """
    config: dict[str, Any] = {}
    for col in frame.columns:
        name = tables.label(col)
        if pd.api.types.is_datetime64_any_dtype(frame[col]) and tz is not None:
            frame = frame.assign(**{col: charts.to_local(frame[col], tz)})
            config[col] = st.column_config.DatetimeColumn(f"{name} ({tz})", format="YYYY-MM-DD HH:mm")
        elif pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            config[col] = st.column_config.NumberColumn(name, format="localized")
        else:
            config[col] = name
    st.dataframe(frame, hide_index=True, column_config=config, **kwargs)
