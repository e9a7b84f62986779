"""Per-VM sums of its disks' rows, compiled: a block's four metrics summed in one pass each, off the GIL.

The sums are numpy's (`out[vms] += disk k's rows`, disk after disk from zeros, NaN read as 0 and a VM with
no sample at a time left NaN), element by element in the same order, so the same floats.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _sums(m: np.ndarray, starts: np.ndarray, sizes: np.ndarray, dense: bool, out: np.ndarray) -> None:
    n_t = m.shape[1]
    seen = np.zeros(n_t, np.bool_)
    for g in range(starts.size):
        o = out[g]
        o[:] = 0.0
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


def group_sums(m: np.ndarray, starts: np.ndarray, sizes: np.ndarray, dense: bool,
               into: np.ndarray | None = None) -> np.ndarray:
    """Sum of each run of adjacent rows of `m` (run i: `sizes[i]` rows from `starts[i]`), NaN where the run has
    no sample (`dense`: `m` has no NaN). `into`: a float64 matrix of m's width whose first rows take the sums
    (a caller gathering many blocks' sums in one matrix saves a copy); they are returned as a view of it."""
    shape = (len(starts), m.shape[1])
    out = np.empty(shape) if into is None else into[:shape[0]]
    if out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"group sums need a C-contiguous float64 {shape} matrix, got {out.dtype} {out.shape}")
    _sums(m, np.asarray(starts, np.int64), np.asarray(sizes, np.int64), bool(dense), out)
    return out
