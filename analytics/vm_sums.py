"""Per-VM sums of its disks' rows, compiled: a block's four metrics summed in one pass each, off the GIL.

The sums are numpy's (`out[vms] += disk k's rows`, disk after disk from zeros, NaN read as 0 and a VM with
no sample at a time left NaN), element by element in the same order, so the same floats.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _sums(m: np.ndarray, starts: np.ndarray, sizes: np.ndarray, dense: bool) -> np.ndarray:
    n_t = m.shape[1]
    out = np.zeros((starts.size, n_t))
    seen = np.zeros(n_t, np.bool_)
    for g in range(starts.size):
        o = out[g]
        if not dense:
            seen[:] = False
        for k in range(sizes[g]):
            row = m[starts[g] + k]
            if dense:
                for t in range(n_t):
                    o[t] += row[t]
                continue
            for t in range(n_t):
                v = row[t]
                if np.isnan(v):
                    o[t] += 0.0   # as np.where(ok, block, 0.0): -0.0 + 0.0 is 0.0
                else:
                    o[t] += v
                    seen[t] = True
        if not dense:
            for t in range(n_t):
                if not seen[t]:
                    o[t] = np.nan
    return out


def group_sums(m: np.ndarray, starts: np.ndarray, sizes: np.ndarray, dense: bool) -> np.ndarray:
    """Sum of each run of adjacent rows of `m` (run i: `sizes[i]` rows from `starts[i]`), NaN where the run has
    no sample (`dense`: `m` has no NaN)."""
    out: np.ndarray = _sums(m, np.asarray(starts, np.int64), np.asarray(sizes, np.int64), bool(dense))
    return out
