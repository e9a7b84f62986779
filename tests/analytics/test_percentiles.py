"""Row percentiles: each row's two order statistics either side of the percentile, interpolated, exactly as a
full sort gives them, whether found among the values above a sampled threshold or by partitioning the row."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics.churn import row_percentile


def _by_sorting(m: np.ndarray, percentile: float) -> np.ndarray:
    """The definition: sort each row's samples, interpolate between ranks floor(h) and floor(h) + 1."""
    out = np.full(m.shape[0], np.nan)
    for i, row in enumerate(m):
        x = np.sort(row[~np.isnan(row)])
        if x.size:
            h = (x.size - 1) * (percentile / 100.0)
            lo = int(np.floor(h))
            hi = min(lo + 1, x.size - 1)
            out[i] = x[lo] + (x[hi] - x[lo]) * (h - lo)
    return out


@pytest.mark.parametrize("percentile", [50.0, 90.0, 95.0, 99.0, 99.9, 100.0])
@pytest.mark.parametrize("kind", ["lognormal", "ties", "daily", "gappy"])
def test_row_percentiles_are_those_of_the_sorted_samples_bit_for_bit(percentile, kind):
    rng = np.random.default_rng(11)
    rows, width = 40, 8640                       # 30 days of 5 min samples
    if kind == "ties":
        m = rng.integers(0, 4, (rows, width)).astype(float)
    elif kind == "daily":                        # a rhythm with a nightly burst, as disks write
        hour = (np.arange(width) * 5 / 60) % 24
        m = rng.lognormal(3, 1, (rows, 1)) * (1 + 2 * ((hour >= 1) & (hour < 3))) * rng.lognormal(0, .3, (rows, width))
    else:
        m = rng.lognormal(4, 2, (rows, width))
    if kind == "gappy":                          # missing samples, a different number per row
        m[rng.random((rows, width)) < rng.random((rows, 1)) * 0.6] = np.nan
        m[0] = np.nan                            # a row without samples
    counts = width - np.isnan(m).sum(axis=1)
    expected = _by_sorting(m, percentile)
    before = m.copy()
    assert np.array_equal(row_percentile(m, percentile, counts), expected, equal_nan=True)
    assert np.array_equal(m, before, equal_nan=True)   # only read
    read_only = before.copy()
    read_only.flags.writeable = False
    assert np.array_equal(row_percentile(read_only, percentile, counts), expected, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.floats(0, 100), st.sampled_from(["lognormal", "ties", "gappy", "constant"]),
       st.integers(0, 2**31))
def test_any_width_and_percentile_matches_the_sorted_samples(width, percentile, kind, seed):
    rng = np.random.default_rng(seed)
    m = {"lognormal": lambda: rng.lognormal(2, 2, (5, width)), "ties": lambda: rng.integers(0, 3, (5, width)) * 1.0,
         "gappy": lambda: np.where(rng.random((5, width)) < 0.3, np.nan, rng.exponential(1, (5, width))),
         "constant": lambda: np.full((5, width), 7.0)}[kind]()
    counts = width - np.isnan(m).sum(axis=1)
    assert np.array_equal(row_percentile(m, percentile, counts), _by_sorting(m, percentile), equal_nan=True)
