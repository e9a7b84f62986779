"""Per-VM sums of disk rows: the compiled sums equal numpy's disk-after-disk sums bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics.vm_sums import group_sums


def numpy_sums(m: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The definition: from zeros, add each VM's disks one after the other (NaN as 0), NaN where none has a sample."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    out = np.zeros((sizes.size, m.shape[1]))
    seen = np.zeros(out.shape, dtype=bool)
    for k in range(int(sizes.max(initial=0))):
        rows = np.nonzero(sizes > k)[0]
        block = m[starts[rows] + k]
        ok = ~np.isnan(block)
        out[rows] += np.where(ok, block, 0.0)
        seen[rows] |= ok
    out[~seen] = np.nan
    return out


def test_three_disks_worked_by_hand():
    m = np.array([[1.0, 2.0], [10.0, np.nan], [100.0, np.nan], [np.nan, np.nan], [-0.0, 5.0]])
    got = group_sums(m, np.array([0, 3]), np.array([3, 2]), dense=False)
    assert np.array_equal(got, [[111.0, 2.0], [0.0, 5.0]], equal_nan=True)
    assert np.array_equal(group_sums(m[:1], np.array([0]), np.array([1]), dense=False), m[:1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=12), st.integers(1, 50), st.floats(0, 0.5),
       st.integers(0, 2**31))
def test_compiled_sums_equal_numpy_sums_bit_for_bit(sizes, width, missing, seed):
    rng = np.random.default_rng(seed)
    sizes = np.array(sizes)
    m = rng.lognormal(3, 2, (int(sizes.sum()), width)) * rng.choice([1.0, -1.0, 1e-300], (1, width))
    m[rng.random(m.shape) < missing] = np.nan
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    want = numpy_sums(m, sizes)
    assert np.array_equal(group_sums(m, starts, sizes, dense=False), want, equal_nan=True)
    window = m[:, width // 3:]                     # a window of the grid: a strided view
    assert np.array_equal(group_sums(window, starts, sizes, dense=False), want[:, width // 3:], equal_nan=True)
    if not missing:
        assert np.array_equal(group_sums(m, starts, sizes, dense=True), want)


def test_sums_written_into_a_callers_matrix_are_its_rows():
    m = np.array([[1.0, 2.0], [10.0, 20.0], [5.0, 6.0]])
    gathered = np.full((4, 2), -1.0)
    got = group_sums(m, np.array([0, 2]), np.array([2, 1]), dense=True, into=gathered[1:])
    assert np.shares_memory(got, gathered)
    assert np.array_equal(gathered, [[-1.0, -1.0], [11.0, 22.0], [5.0, 6.0], [-1.0, -1.0]])
    with pytest.raises(ValueError, match="float64"):
        group_sums(m, np.array([0]), np.array([3]), dense=True, into=np.zeros((1, 3)))
