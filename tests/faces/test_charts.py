"""Display helpers: local time, the hour x weekday heatmap and column labels, on cases worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.core import units, zones
from churnplan.export import charts, tables


def test_heatmap_places_churn_in_local_hour_and_weekday() -> None:
    # Sunday 2026-11-08 23:30 UTC is Monday 00:30 in Amsterdam (UTC+1 in November).
    series = pd.DataFrame({"ts": pd.to_datetime(["2026-11-08 23:30", "2026-11-08 23:40"], utc=True),
                           "write_kibps": [1024.0, 3072.0]})
    grid = charts.churn_heatmap_frame(series, "Europe/Amsterdam")
    assert grid.shape == (7, 24)
    assert grid.loc[0, 0] == pytest.approx(2.0)  # Monday, 00:00-01:00, mean of 1 and 3 MiB/s
    assert grid.notna().sum().sum() == 1
    utc = charts.churn_heatmap_frame(series, "UTC")
    assert utc.loc[6, 23] == pytest.approx(2.0)  # Sunday 23:00 in UTC


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200),
       st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York"]))
def test_heatmap_cells_stay_within_the_series_range(values: list[float], tz: str) -> None:
    ts = pd.date_range("2026-03-01", periods=len(values), freq="37min", tz="UTC")
    grid = charts.churn_heatmap_frame(pd.DataFrame({"ts": ts, "write_kibps": values}), tz)
    cells = grid.to_numpy()[~np.isnan(grid.to_numpy())]
    assert cells.min() >= min(values) / 1024 - 1e-9
    assert cells.max() <= max(values) / 1024 + 1e-9


def test_to_local_moves_utc_to_wall_clock() -> None:
    ts = pd.Series(pd.to_datetime(["2026-07-01 12:00"], utc=True))
    assert charts.to_local(ts, "Asia/Tokyo").iloc[0] == pd.Timestamp("2026-07-01 21:00")
    assert charts.to_local(ts, "Europe/Amsterdam").iloc[0] == pd.Timestamp("2026-07-01 14:00")


def test_local_zone_follows_tz_and_rejects_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert zones.local_zone() == "Asia/Kolkata"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert zones.local_zone() != "Not/AZone"
    with pytest.raises(ValueError, match="Not/AZone"):
        zones.check_zone("Not/AZone")
    assert zones.check_zone("Asia/Kolkata") == "Asia/Kolkata"


@pytest.mark.parametrize("column,label", [
    ("required_mbps", "Required (Mbps)"), ("vm_id", "VM ID"), ("churn_gib_day", "Churn (GiB/day)"),
    ("peak_churn_mibps", "Peak churn (MiB/s)"), ("max_write_kibps", "Max write (KiB/s)"),
    ("capacity_gib", "Capacity (GiB)"), ("avg_write_io_kib", "Avg write I/O (KiB)"),
    ("peak_lag_min", "Peak lag (min)"), ("vcpu", "vCPU"), ("compliance_goal_pct", "Compliance goal (%)"),
    ("Mbps for RPO met 90 % of the time", "Mbps for RPO met 90 % of the time"),
])
def test_labels(column: str, label: str) -> None:
    assert tables.label(column) == label


def test_kibps_to_mbps_uses_1024_bytes_and_decimal_bits() -> None:
    assert units.kibps_to_mbps(1000.0) == pytest.approx(8.192)
    assert units.kibps_to_mibps(2048.0) == 2.0
    assert units.kibps_to_gib_day(1024.0) == pytest.approx(84.375)      # 1 MiB/s for a day is 84.375 GiB
    assert units.gib_day_to_mbps(84.375) == pytest.approx(8.388608)     # ... and 2^20 x 8 bit/s on the link
    assert units.BYTES_PER_MBPS == 125_000 and units.GIB == 1024 ** 3
