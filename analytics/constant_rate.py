"""One arrival curve drained at one constant rate, compiled: what the plan asks thousands of times (about 4,700
bandwidth-search replays for a 5,000-VM plan, 200 traces x goals per forecast scope, a what-if per scope and RPO).

`compliance_pct` is `queue.serve_fifo` then `queue.compliance(lags=False)`; `replay` the same with lags, day
edges and the lag and backlog at the sample ends (what `rpo.what_if` tabulates); `required_bytes_per_s_100`
the always-met scan of `bandwidth.required_mbps_100`. Each is compiled with numba and does the same arithmetic in
the same order as the numpy code (numpy's interpolation formula, its pairwise summation, `searchsorted`'s walk),
so it returns the same floats, bit for bit (tests/analytics/test_constant_rate.py compares them). They release
the GIL, so a thread per scope runs on its own core; the numpy replay held it between its ~40 array calls and
ran about 3x slower on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from churnplan.analytics import queue
from churnplan.core.units import BYTES_PER_MBPS

_PAIRWISE_BLOCK = 128   # numpy's PW_BLOCKSIZE: pairwise summation adds runs of up to 128 with 8 accumulators
_jit = numba.njit(cache=True, nogil=True)


@_jit
def _interp_at(x: float, xp: np.ndarray, fp: np.ndarray, j: int, left: float) -> float:
    """np.interp(x, xp, fp, left=left) at one x, given j with xp[j] <= x < xp[j + 1] when x is inside."""
    n = xp.size
    if x > xp[n - 1] or x == xp[n - 1]:
        return float(fp[n - 1])
    if x < xp[0]:
        return left
    if x == xp[j]:   # numpy's formula gives fp[j] exactly there (slope x 0 + fp[j])
        return float(fp[j])
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    r = slope * (x - xp[j]) + fp[j]
    if np.isnan(r):   # as numpy: try from the other end, then a flat piece
        r = slope * (x - xp[j + 1]) + fp[j + 1]
        if np.isnan(r) and fp[j] == fp[j + 1]:
            r = fp[j]
    return float(r)


@_jit
def _leaf_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise_sum for n <= 128: a plain loop under 8, else 8 accumulators joined as a tree."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r = a[lo:lo + 8].copy()
    i = 8
    while i < n - (n % 8):
        for u in range(8):
            r[u] += a[lo + i + u]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[lo + i]
        i += 1
    return float(res)


@_jit
def _pairwise_sum(a: np.ndarray, n: int) -> float:
    """Sum of a[:n] as numpy's add.reduce adds a float64 array (halves of a multiple of 8 until 128 or fewer,
    then _leaf_sum), so the rounding is the same; its recursion unrolled onto a stack (a cached numba function
    may not call itself)."""
    if n <= _PAIRWISE_BLOCK:
        return _leaf_sum(a, 0, n)
    lo, size = np.zeros(64, np.int64), np.zeros(64, np.int64)
    stage, left = np.zeros(64, np.int64), np.zeros(64)
    size[0], top, ret = n, 0, 0.0
    while top >= 0:
        if size[top] <= _PAIRWISE_BLOCK:
            ret = _leaf_sum(a, lo[top], size[top])
            top -= 1
            continue
        half = size[top] // 2
        half -= half % 8
        if stage[top] == 0:        # sum the first half
            stage[top] = 1
            lo[top + 1], size[top + 1], stage[top + 1] = lo[top], half, 0
            top += 1
        elif stage[top] == 1:      # then the second
            left[top], stage[top] = ret, 2
            lo[top + 1], size[top + 1], stage[top + 1] = lo[top] + half, size[top] - half, 0
            top += 1
        else:                      # and add them
            ret = left[top] + ret
            top -= 1
    return ret


@_jit
def _served(t: np.ndarray, a: np.ndarray, mbps: float, bytes_per_mbps: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """serve_fifo at a constant rate: (t2, a2, s) with the instants the queue empties inside a piece added."""
    n = t.size
    t0 = t[0]
    d = np.empty(n)
    low = np.empty(n)
    run = np.inf
    for i in range(n):
        d[i] = a[i] - (t[i] - t0) * mbps * bytes_per_mbps
        run = min(run, d[i])
        low[i] = run
    t2 = np.empty(2 * n)
    a2 = np.empty(2 * n)
    k = 0
    for i in range(n):
        if k == 0 or t[i] != t2[k - 1]:
            t2[k] = t[i]
            a2[k] = a[i]
            k += 1
        if i < n - 1 and d[i] - low[i] > 0 and d[i + 1] < low[i]:   # the queue empties inside this piece
            frac = (d[i] - low[i]) / (d[i] - d[i + 1])
            x = t[i] + frac * (t[i + 1] - t[i])
            if x != t2[k - 1] and x != t[i + 1]:
                t2[k] = x
                a2[k] = _interp_at(x, t, a, i, 0.0)
                k += 1
    t2, a2 = t2[:k], a2[:k]
    s = np.empty(k)
    run = np.inf
    for i in range(k):
        c = (t2[i] - t0) * mbps * bytes_per_mbps
        run = min(run, a2[i] - c)
        s[i] = min(c + run, a2[i])
    return t2, a2, s


@_jit
def _tolerance(a2: np.ndarray) -> float:
    """queue._tolerance: bytes below which two cumulative volumes count as equal (1e-9 of the largest, >= 1 byte)."""
    return float(max(1e-9 * max(0.0, a2.max()), 1.0))


@_jit
def _search(arr: np.ndarray, key: float, right: bool, state: np.ndarray, last: np.ndarray) -> int:
    """np.searchsorted(arr, key, side) for the next key of a sequence, as numpy's binsearch walks it: its bounds
    carry over from the previous key (`state`, `last`), so an array out of order by a rounding gives numpy's
    index too."""
    n = arr.size
    if (last[0] <= key) if right else (last[0] < key):
        state[1] = n
    else:
        state[0] = 0
        state[1] = state[1] + 1 if state[1] < n else n
    last[0] = key
    lo, hi = state[0], state[1]
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        if (arr[mid] <= key) if right else (arr[mid] < key):
            lo = mid + 1
        else:
            hi = mid
    state[0], state[1] = lo, hi
    return int(lo)


@_jit
def _lag_at(u: float, sv: float, av: float, t2: np.ndarray, a2: np.ndarray, eps: float, state: np.ndarray,
            last: np.ndarray) -> float:
    """queue.lag_at at one time u (S(u) = sv, A(u) = av): the age of the oldest byte not yet sent."""
    k = a2.size
    j = _search(a2, sv + eps, True, state, last)
    if not (0 < j < k and av - sv > eps):
        return 0.0
    a0, a1, t0, t1 = a2[j - 1], a2[j], t2[j - 1], t2[j]
    frac = (sv - a0) / (a1 - a0) if a1 > a0 else 0.0
    return float(max(u - (t0 + frac * (t1 - t0)), 0.0))


@_jit
def _departures(t2: np.ndarray, a2: np.ndarray, s: np.ndarray, eps: float, lo: float, hi: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """queue.departure_lags within [lo, hi] (as compliance keeps them): each arrival kink's departure time and
    lag as its bytes leave, in kink order."""
    k = a2.size
    state, last = np.array([0, k], np.int64), np.full(1, -np.inf)
    dep_t, dep_lag = np.empty(k), np.empty(k)
    n = 0
    for m in range(1, k):
        if not a2[m] - a2[m - 1] > eps:
            continue
        level = a2[m]
        i = _search(s, level - eps, False, state, last)
        if i == 0:
            dep = t2[0]
        elif i >= k:
            dep = t2[k - 1]
        else:
            s0, s1 = s[i - 1], s[i]
            dep = t2[i - 1] + ((level - s0) / (s1 - s0) if s1 > s0 else 0.0) * (t2[i] - t2[i - 1])
        if lo <= dep <= hi:
            dep_t[n], dep_lag[n] = dep, max(dep - t2[m], 0.0)
            n += 1
    return dep_t[:n], dep_lag[:n]


@_jit
def _over_rpo_s(prev_g: float, g: float, prev_ok: bool, ok: bool, eps: float, du: float) -> float:
    """Seconds of a piece of `du` with lag over the RPO, g (S(u) - A(u - RPO)) linear across it: none, all, or
    the share on the far side of where g crosses -eps."""
    if prev_ok and ok:
        return 0.0 * du
    if not prev_ok and not ok:
        return 1.0 * du
    cross = (prev_g + eps) / (prev_g - g) if prev_g != g else 0.0
    cross = min(max(cross, 0.0), 1.0)
    good = cross if prev_ok else 1.0 - cross
    return (1.0 - good) * du


@_jit
def _walk(t2: np.ndarray, a2: np.ndarray, s: np.ndarray, rpo_s: float, edges: np.ndarray, lags: bool
          ) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """queue.compliance of the service (t2, a2, s) over [t2[0], t2[-1]]: compliance %, largest lag s (NaN unless
    `lags`), the evaluation points u, each piece's seconds over the RPO, the lag at each u and the departures'
    times and lags (empty unless `lags`). `edges`: sorted extra breakpoints within the window (local midnights)."""
    k = t2.size
    lo, hi = t2[0], t2[k - 1]
    eps = _tolerance(a2)
    state, last = np.array([0, k], np.int64), np.full(1, -np.inf)   # lag_at's search through A
    max_lag, dep_t, dep_lag = np.nan, np.empty(0), np.empty(0)
    if lags:   # the departures' lags, then each u's below (numpy's max over both, from 0)
        dep_t, dep_lag = _departures(t2, a2, s, eps, lo, hi)
        max_lag = max(0.0, dep_lag.max()) if dep_lag.size else 0.0
    room = 2 * k + edges.size
    us, bad, lag_u = np.empty(room), np.empty(room), np.empty(room)
    n_u = i = j = e = js = 0   # points so far; next breakpoint, breakpoint + RPO, edge; breakpoint <= u - RPO
    prev_g, prev_ok = 0.0, False
    while True:              # the union of breakpoints, breakpoints + RPO and edges within the window, ascending
        ui = t2[i] if i < k else np.inf
        uj = t2[j] + rpo_s if j < k and t2[j] + rpo_s <= hi else np.inf
        ue = edges[e] if e < edges.size else np.inf
        u = min(ui, uj, ue)
        if u == np.inf:
            break
        if ui == u:
            sv, av = s[i], a2[i]
            i += 1
        else:
            sv = _interp_at(u, t2, s, i - 1, 0.0)   # t2[i - 1] < u < t2[i]
            av = _interp_at(u, t2, a2, i - 1, 0.0) if lags else 0.0
        j += 1 if uj == u else 0
        e += 1 if ue == u else 0
        if lags:
            lag_u[n_u] = _lag_at(u, sv, av, t2, a2, eps, state, last)
            max_lag = max(max_lag, lag_u[n_u])
        x = u - rpo_s
        while js + 1 < k and t2[js + 1] <= x:
            js += 1
        g = sv - _interp_at(x, t2, a2, js, 0.0)
        ok = g >= -eps
        if n_u:
            bad[n_u - 1] = _over_rpo_s(prev_g, g, prev_ok, ok, eps, u - us[n_u - 1])
        us[n_u] = u
        n_u += 1
        prev_g, prev_ok = g, ok
    total = hi - lo
    pct = 100.0 if total <= 0 else 100.0 * (1.0 - _pairwise_sum(bad, n_u - 1) / total)
    return (float(min(max(pct, 0.0), 100.0)), max_lag, us[:n_u], bad[:n_u - 1], lag_u[:n_u if lags else 0], dep_t,
            dep_lag)


@_jit
def _replay(t: np.ndarray, a: np.ndarray, mbps: float, bytes_per_mbps: float, rpo_s: float, lags: bool
            ) -> tuple[float, float, float]:
    """(compliance %, largest lag s, largest backlog bytes) over [t[0], t[-1]] (the curve extended to its window's
    end) at `mbps`, as queue.compliance and Service.backlog give them; the lag NaN unless `lags`."""
    t2, a2, s = _served(t, a, mbps, bytes_per_mbps)
    backlog = 0.0
    for i in range(t2.size):
        backlog = max(backlog, a2[i] - s[i])
    pct, max_lag = _walk(t2, a2, s, rpo_s, np.empty(0), lags)[:2]
    return pct, max_lag, backlog


@_jit
def _at_samples(t2: np.ndarray, a2: np.ndarray, s: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """queue.lag_at(svc, x) and np.interp(x, svc.t, svc.backlog) at sorted times x within the service's span."""
    k = t2.size
    eps = _tolerance(a2)
    backlog = a2 - s
    state, last = np.array([0, k], np.int64), np.full(1, -np.inf)
    lag, bk = np.empty(x.size), np.empty(x.size)
    p = 0
    for n in range(x.size):
        u = x[n]
        while p + 1 < k and t2[p + 1] <= u:
            p += 1
        sv, av = _interp_at(u, t2, s, p, s[0]), _interp_at(u, t2, a2, p, a2[0])
        lag[n] = _lag_at(u, sv, av, t2, a2, eps, state, last)
        bk[n] = _interp_at(u, t2, backlog, p, backlog[0])
    return lag, bk


@_jit
def _required_100(t: np.ndarray, a: np.ndarray, rpo_s: float) -> float:
    """bandwidth.required_mbps_100's scan in bytes/s: the maximum of the same ratios over the same pairs.

    A row (first breakpoint i) is skipped in a round when even its largest volume over the round's span, over
    the round's shortest time, cannot beat the best so far: every float operation is monotone, so no skipped
    pair's ratio can exceed that bound, and the maximum (order-free) is the same float. The best starts from
    pairs of the first round's set (one RPO apart, and 64 apart), so most rows of a bursty curve are skipped."""
    n = t.size
    top = np.empty(n)   # running maximum of A: an upper bound of A over any span ending at j (A may dip by rounding)
    run = -np.inf
    for j in range(n):
        run = max(run, a[j])
        top[j] = run
    best, done, k = 0.0, 0, 64
    step = (t[n - 1] - t[0]) / (n - 1) if n > 1 else 1.0
    for off in (min(max(int(rpo_s / step), 1), 64, n - 1), min(64, n - 1)):   # seeds from the first round's pairs
        for i in range(n - off):
            best = max(best, (a[i + off] - a[i]) / (t[i + off] - t[i] + rpo_s))
    while True:
        k = min(k, n - 1)
        for i in range(n - done - 1):        # pairs done+1 .. k breakpoints apart
            last = min(i + k, n - 1)
            if (top[last] - a[i]) / (t[i + done + 1] - t[i] + rpo_s) <= best:
                continue
            for j in range(i + done + 1, last + 1):
                best = max(best, (a[j] - a[i]) / (t[j] - t[i] + rpo_s))
        done = k
        if k >= n - 1 or not _beats(t, a, top, k, best):
            break
        k *= 2
    return best


@_jit
def _beats(t: np.ndarray, a: np.ndarray, top: np.ndarray, k: int, best: float) -> bool:
    """Whether some span of K+1 .. 2K+1 breakpoints has an average rate above `best` (then a longer pair might
    beat it, and K doubles), rows skipped by the same monotone bound."""
    n = t.size
    for i in range(n - k - 1):
        last = min(i + 2 * k + 1, n - 1)
        if (top[last] - a[i]) / (t[i + k + 1] - t[i]) <= best:
            continue
        for j in range(i + k + 1, last + 1):
            if (a[j] - a[i]) / (t[j] - t[i]) > best:
                return True
    return False


@_jit
def _required_100_each(t: np.ndarray, a: np.ndarray, rpo_s: float) -> np.ndarray:
    """_required_100 of each column of `a` (one curve per column on the breakpoints `t`)."""
    out = np.empty(a.shape[1])
    for k in range(a.shape[1]):
        out[k] = _required_100(t, np.ascontiguousarray(a[:, k]), rpo_s)
    return out


def required_bytes_per_s_100_each(curve: queue.Curve, rpo_s: float) -> np.ndarray:
    """required_bytes_per_s_100 of each column of a 2-D curve (forecast traces), in one compiled call."""
    return np.asarray(_required_100_each(np.ascontiguousarray(curve.t, dtype=np.float64),
                                         np.asarray(curve.a, dtype=np.float64), float(rpo_s)), dtype=float)


def required_bytes_per_s_100(curve: queue.Curve, rpo_s: float) -> float:
    """The least constant rate (bytes/s) with lag <= RPO all the time: bandwidth.required_mbps_100 x 1 Mbps."""
    return float(_required_100(np.ascontiguousarray(curve.t, dtype=np.float64),
                               np.ascontiguousarray(curve.a, dtype=np.float64), float(rpo_s)))


def compliance_pct(curve: queue.Curve, mbps: float, rpo_min: float, start: queue.FifoStart | None = None) -> float:
    """rpo.run(curve, Capacity(mbps), rpo_min, lags=False)[1].pct, the same float, compiled (`start`:
    run_start(curve, rpo_min), worked out once when many rates are tried on one curve)."""
    start = run_start(curve, rpo_min) if start is None else start
    return float(_replay(start.t, start.a, float(mbps), BYTES_PER_MBPS, rpo_min * 60.0, False)[0])


@dataclass(frozen=True)
class Replay:
    """One curve drained at one constant rate: queue.compliance's figures with lags (and, at `at`, the lag and
    backlog rpo.what_if tabulates), the same floats as the numpy replay."""

    pct: float
    max_lag_s: float
    max_backlog_bytes: float
    piece_start: np.ndarray    # evaluation pieces, and each one's seconds over the RPO (for per-day roll-ups)
    piece_bad_s: np.ndarray
    peak_t: np.ndarray         # times at which lag candidates were evaluated, and the lags there
    peak_lag_s: np.ndarray
    lag_s: np.ndarray          # at `at`
    backlog_bytes: np.ndarray  # at `at`


def replay(curve: queue.Curve, mbps: float, rpo_min: float, edges: np.ndarray | None = None,
           at: np.ndarray | None = None) -> Replay:
    """rpo.run(curve, Capacity(mbps), rpo_min) with `edges` (e.g. local midnights) as extra breakpoints, compiled;
    with `at` (sorted times within the curve), also queue.lag_at and the interpolated backlog there. The
    per-piece arrays are filled only with `at`."""
    start = run_start(curve, rpo_min)
    t2, a2, s = _served(start.t, start.a, float(mbps), BYTES_PER_MBPS)
    e = np.zeros(0) if edges is None else np.unique(np.asarray(edges, dtype=np.float64))   # sorted, once each
    e = e[(e >= t2[0]) & (e <= t2[-1])]
    pct, max_lag, us, bad, lag_u, dep_t, dep_lag = _walk(t2, a2, s, rpo_min * 60.0, e, True)
    backlog = float((a2 - s).max(initial=0.0))
    if at is None:
        none = np.zeros(0)
        return Replay(float(pct), float(max_lag), backlog, none, none, none, none, none, none)
    lag_x, backlog_x = _at_samples(t2, a2, s, np.ascontiguousarray(at, dtype=np.float64))
    return Replay(float(pct), float(max_lag), backlog, us[:-1], bad, np.concatenate([us, dep_t]),
                  np.concatenate([lag_u, dep_lag]), lag_x, backlog_x)


def run_start(curve: queue.Curve, rpo_min: float) -> queue.FifoStart:
    """What every constant-rate run of `curve` against `rpo_min` starts from: the curve extended to its window's
    end, the last sample's end + RPO (rpo.run_start)."""
    return queue.fifo_start(curve, float(curve.t[-1]) + rpo_min * 60.0)
