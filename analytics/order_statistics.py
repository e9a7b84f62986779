"""Each row's two order statistics either side of a percentile, compiled: the profiles' hot spot (four metrics of
every disk and VM, 8,640 samples a month at 5 min).

Per row, every 31st sample gives a threshold with, very likely, the `top` largest values at or above it (a
margin of 2.5 standard deviations) and, from its own largest samples, marks that split those candidates into
buckets of a few dozen values; one pass keeps the candidates, one counts the buckets, and the order statistics
are selected within the one bucket that holds them. A row the threshold misses, or a low percentile, is
selected whole. The order statistics are values of the row, so the result is exact whichever way they are
found: the same floats numpy's partition gives. Runs off the GIL.
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
def _sample_top(row: np.ndarray, top: int, sub: np.ndarray) -> int:
    """The largest values of every 31st sample, ascending, into sub[:n] (n returned; sub[0] a threshold with,
    very likely, at least `top` of the row at or above it); 0 when the subsample is too small or `top` too
    large a share to gain from one. NaN samples count as -inf: they never raise the threshold."""
    width = row.size
    n_sub = (width + SUBSAMPLE_STRIDE - 1) // SUBSAMPLE_STRIDE
    share = top / width
    above = math.ceil(n_sub * share + 2.5 * math.sqrt(n_sub * share) + 3.0)
    if above >= n_sub // 2:
        return 0
    for i in range(n_sub):
        v = row[i * SUBSAMPLE_STRIDE]
        sub[i] = -np.inf if np.isnan(v) else v
    _select(sub, n_sub, n_sub - above)
    sub[:above] = np.sort(sub[n_sub - above:n_sub])
    return above


@_jit
def _in_buckets(buf: np.ndarray, found: int, j: int, top: int, marks: np.ndarray, n_marks: int, where: np.ndarray,
                bucket: np.ndarray) -> tuple[float, float]:
    """The j-th and (j + 1)-th smallest of buf[:found], splitting the candidates at the sampled values `marks`
    (ascending): count each bucket (a value's bucket is how many marks it reaches, so buckets follow the order of
    values), then select within the one bucket that holds rank j, a few dozen values."""
    counts = np.zeros(n_marks + 1, np.int64)
    for c in range(found):
        v, b = buf[c], 0
        for m in range(n_marks):
            b += v >= marks[m]
        where[c] = b
        counts[b] += 1
    below, b = 0, 0
    while below + counts[b] <= j:
        below += counts[b]
        b += 1
    n = 0
    for c in range(found):               # the bucket's values, branch-free as the candidates were
        bucket[n] = buf[c]
        n += where[c] == b
    r = j - below
    x_lo = _select(bucket, n, r)
    if top <= 1:
        return x_lo, x_lo
    if r + 1 < n:
        return x_lo, float(bucket[r + 1:n].min())
    x_hi = np.inf                        # rank j + 1 opens the next bucket that holds any value
    for c in range(found):
        if where[c] > b:
            x_hi = min(x_hi, buf[c])
    return x_lo, float(x_hi)


@_jit
def _row_stats(row: np.ndarray, count: int, lo: int, buf: np.ndarray, sub: np.ndarray, where: np.ndarray,
               bucket: np.ndarray) -> tuple[float, float]:
    """The lo-th and (lo + 1)-th smallest of the row's `count` values (NaN = none); the lo-th twice at the top."""
    top = count - lo
    n_marks = _sample_top(row, top, sub) if count >= 1024 and 4 * top <= count else 0
    found = 0
    if n_marks:
        threshold = sub[0]
        for v in row:                    # every value written, the next slot taken only by a candidate (no
            buf[found] = v               # branch to mispredict); NaN compares false: never a candidate
            found += v >= threshold
    if found >= top:                     # the candidates hold the `top` largest: x_lo is the least of them
        return _in_buckets(buf, found, found - top, top, sub, n_marks, where, bucket)
    found = 0                            # the threshold missed (or none): every value is a candidate
    for v in row:
        if not np.isnan(v):
            buf[found] = v
            found += 1
    j = found - top
    x_lo = _select(buf, found, j)
    x_hi = x_lo if top <= 1 else buf[j + 1:found].min()
    return x_lo, float(x_hi)


@_jit
def _stats(m: np.ndarray, counts: np.ndarray, q: float, x_lo: np.ndarray, x_hi: np.ndarray) -> None:
    """around_percentile into x_lo and x_hi, row by row, with scratch buffers made once for all rows."""
    width = m.shape[1]
    buf, bucket, where = np.empty(width), np.empty(width), np.empty(width, np.int64)
    sub = np.empty((width + SUBSAMPLE_STRIDE - 1) // SUBSAMPLE_STRIDE)
    for r in range(m.shape[0]):
        c = counts[r]
        if c <= 0:
            x_lo[r] = x_hi[r] = np.nan
            continue
        lo = int(math.floor((c - 1) * q))
        x_lo[r], x_hi[r] = _row_stats(m[r], c, lo, buf, sub, where, bucket)


def around_percentile(m: np.ndarray, counts: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `m` (NaN = no sample; `counts` of the others): its floor((count - 1) q)-th smallest value and
    the next one up (the same one at the top); NaN for rows without samples."""
    x_lo, x_hi = np.empty(m.shape[0]), np.empty(m.shape[0])
    _stats(np.ascontiguousarray(m, dtype=np.float64), np.asarray(counts, dtype=np.int64), float(q), x_lo, x_hi)
    return x_lo, x_hi
