"""Each row's two order statistics either side of a percentile, compiled: the profiles' hot spot (four metrics of
every disk and VM, 8,640 samples a month at 5 min).

Per row, one pass keeps the values at or above a threshold taken from every 31st sample (enough to hold the
`top` largest, with a margin of 2.5 standard deviations), then selects among those few; a row the threshold
misses, or a low percentile, is selected whole. The order statistics are values of the row, so the result
is exact whichever way they are found: the same floats numpy's partition gives. Runs off the GIL.
"""

from __future__ import annotations

import math

import numba
import numpy as np

SUBSAMPLE_STRIDE = 31   # prime: the strided columns cover every hour of a daily rhythm at 5 min and 20 s
_jit = numba.njit(cache=True, nogil=True)


@_jit
def _select(a: np.ndarray, n: int, k: int) -> float:
    """The k-th smallest of a[:n] (no NaN), rearranging a[:n] in place so that a[:k] <= a[k] <= a[k + 1:n]
    (Wirth's selection: partition around a[k] until the rank-k slot holds its value)."""
    lo, hi = 0, n - 1
    while lo < hi:
        x = a[k]
        i, j = lo, hi
        while i <= j:
            while a[i] < x:
                i += 1
            while x < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if j < k:
            lo = i
        if k < i:
            hi = j
    return float(a[k])


@_jit
def _threshold(row: np.ndarray, top: int) -> float:
    """A value with, very likely, at least `top` of the row at or above it (NaN never counts); -inf when the
    subsample is too small or `top` too large a share to gain from one."""
    width = row.size
    n_sub = (width + SUBSAMPLE_STRIDE - 1) // SUBSAMPLE_STRIDE
    share = top / width
    above = math.ceil(n_sub * share + 2.5 * math.sqrt(n_sub * share) + 3.0)
    if above >= n_sub // 2:
        return -np.inf
    sub = np.empty(n_sub)
    for i in range(n_sub):
        v = row[i * SUBSAMPLE_STRIDE]
        sub[i] = -np.inf if np.isnan(v) else v
    return _select(sub, n_sub, n_sub - above)


@_jit
def _row_stats(row: np.ndarray, count: int, lo: int, buf: np.ndarray) -> tuple[float, float]:
    """The lo-th and (lo + 1)-th smallest of the row's `count` values (NaN = none); the lo-th twice at the top."""
    top = count - lo
    threshold = _threshold(row, top) if count >= 1024 and 4 * top <= count else -np.inf
    found = 0
    if threshold > -np.inf:
        for v in row:                    # every value written, the next slot taken only by a candidate (no
            buf[found] = v               # branch to mispredict); NaN compares false: never a candidate
            found += v >= threshold
    if found < top:                      # the threshold missed (or none): every value is a candidate
        found = 0
        for v in row:
            if not np.isnan(v):
                buf[found] = v
                found += 1
    j = found - top                      # the candidates hold the `top` largest: x_lo is the least of them
    x_lo = _select(buf, found, j)
    x_hi = x_lo if top <= 1 else buf[j + 1:found].min()
    return x_lo, float(x_hi)


@_jit
def _stats(m: np.ndarray, counts: np.ndarray, q: float, x_lo: np.ndarray, x_hi: np.ndarray) -> None:
    buf = np.empty(m.shape[1])
    for r in range(m.shape[0]):
        c = counts[r]
        if c <= 0:
            x_lo[r] = x_hi[r] = np.nan
            continue
        lo = int(math.floor((c - 1) * q))
        x_lo[r], x_hi[r] = _row_stats(m[r], c, lo, buf)


def around_percentile(m: np.ndarray, counts: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `m` (NaN = no sample; `counts` of the others): its floor((count - 1) q)-th smallest value and
    the next one up (the same one at the top); NaN for rows without samples."""
    x_lo, x_hi = np.empty(m.shape[0]), np.empty(m.shape[0])
    _stats(np.ascontiguousarray(m, dtype=np.float64), np.asarray(counts, dtype=np.int64), float(q), x_lo, x_hi)
    return x_lo, x_hi
