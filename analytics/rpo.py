"""RPO what-if: lag, compliance and daily peaks of a scope's replication queue at a bandwidth or throttle schedule.

`prepare` aggregates samples once into bytes per sample time and VM; `what_if` then simulates one scope
(the estate on one link, or one process server) with the pinned FIFO model of analytics.queue, plus the
per-VM fair-share mode that says which VMs miss the RPO.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from churnplan.analytics import constant_rate, queue, sample_grid
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.analytics.config import ThrottleSchedule
from churnplan.analytics.vocabulary import Scope, protected
from churnplan.analytics.workers import WORKERS
from churnplan.core.units import KIB, bytes_to_mib

ESTATE = Scope.ESTATE
_PREPARE_VMS = 256   # VMs per block when the time x VM matrix is filled
_CURVES_KEPT = 256   # arrival curves a churn keeps (each 16 bytes per sample time), then starts afresh


@dataclass(frozen=True)
class PreparedChurn:
    """Bytes written per sample end time (rows) and VM (columns), before growth and compression."""

    times: np.ndarray          # epoch seconds, sorted unique sample end times
    interval_s: float
    vms: pd.DataFrame          # vcenter, vm_id, name, scope (process server, or 'estate'), one row per column
    vm_bytes: np.ndarray       # shape (len(times), len(vms))
    timezone: str = "UTC"
    # caches of figures worked out once (init=False: dataclasses.replace starts a copy with empty ones)
    _sums: dict[bytes, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)
    _curves: dict[tuple[bytes, float], queue.Curve] = field(default_factory=dict, init=False, repr=False,
                                                              compare=False)
    _cols: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def scope_bytes(self, cols: np.ndarray) -> np.ndarray:
        """Bytes per sample time summed over the VMs in `cols`, computed once per set of columns."""
        key = np.asarray(cols).tobytes()
        if key not in self._sums:
            every = cols.size == self.vm_bytes.shape[1] and np.array_equal(cols, np.arange(cols.size))
            total: np.ndarray = (self.vm_bytes if every else self.vm_bytes[:, cols]).sum(axis=1)
            self._sums[key] = total
        return self._sums[key]

    def columns(self, scope: str) -> np.ndarray:
        """Column indices of the VMs in `scope` ('estate' = all, else a process server or a vm_id), found once."""
        if scope not in self._cols:
            self._cols[scope] = _columns(self.vms, scope)
        return self._cols[scope]

    def curve(self, cols: np.ndarray, factor: float) -> queue.Curve:
        """Cumulative arrivals of the VMs in `cols`, writes scaled by `factor`, worked out once per columns and
        factor (the bandwidth search and the simulation of a scope replay the same curve)."""
        key = (np.asarray(cols).tobytes(), float(factor))
        curve = self._curves.get(key)
        if curve is None:
            if len(self._curves) >= _CURVES_KEPT:   # a long-lived churn (the dashboard's) asked at many factors
                self._curves.clear()
            curve = self._curves[key] = queue.arrival_curve(self.times, self.interval_s,
                                                            self.scope_bytes(cols) * factor)
        return curve

    def for_scope(self, scope: str) -> PreparedChurn:
        """The churn of `scope`'s VMs only (the estate: all of them, this same object), so a scope can be
        simulated, sized and cached on its own (per process server, or by a distributed engine)."""
        if scope == ESTATE:
            return self
        cols = self.columns(scope)
        return PreparedChurn(self.times, self.interval_s, self.vms.iloc[cols].reset_index(drop=True),
                             np.ascontiguousarray(self.vm_bytes[:, cols]), self.timezone)

    def scopes(self) -> list[str]:
        """The process servers (every scope but 'estate'), sorted."""
        return sorted(s for s in set(self.vms["scope"]) if s != ESTATE)


def _columns(vms: pd.DataFrame, scope: str) -> np.ndarray:
    """Rows of `vms` (vcenter, vm_id, name, scope) in `scope` ('estate' = all, else a process server or a vm_id)."""
    if scope == ESTATE:
        return np.arange(len(vms))
    mask = (vms["scope"] == scope).to_numpy() | (vms["vm_id"] == scope).to_numpy()
    if not mask.any():
        known = sorted(set(vms["scope"])) + [ESTATE]
        raise ValueError(f"unknown scope {scope!r}; known scopes: {', '.join(map(str, known))}")
    return np.nonzero(mask)[0]


def vm_keys(frame: pd.DataFrame) -> pd.Series:
    """One string per VM (vcenter, vm_id), to match VMs between frames."""
    return frame["vcenter"].astype(str) + "\x1f" + frame["vm_id"].astype(str)


def prepare(samples: pd.DataFrame | pl.DataFrame | SampleGrid, assignment: pd.DataFrame | None = None,
            excluded: pd.DataFrame | None = None, timezone: str = "UTC") -> PreparedChurn:
    """Aggregate samples (one interval) into a time x VM byte matrix, once, for fast what-ifs.

    `samples`: a pandas or polars sample frame, or its SampleGrid (per disk, or already summed per VM).
    `assignment`: vcenter, vm_id[, name][, process_server][, compatibility], e.g. Plan.vms; when given, VMs
    absent from it or not protected (vocabulary.protected; else without a process server) are left out, so
    'estate' is the plan's estate.
    `excluded`: disks (vcenter, vm_id, instance[, excluded]) whose samples leave all sums.
    """
    return prepare_by_scope(samples, assignment, excluded, timezone, ())[ESTATE]


def prepare_by_scope(samples: pd.DataFrame | pl.DataFrame | SampleGrid, assignment: pd.DataFrame | None = None,
                     excluded: pd.DataFrame | None = None, timezone: str = "UTC",
                     scopes: Iterable[str] = ()) -> dict[str, PreparedChurn]:
    """`prepare`'s churn (under 'estate') and, for each of `scopes`, its `for_scope`: the same matrices, each
    scope's filled straight from the per-VM rows of the samples (a few contiguous rows each) instead of
    gathered column by column from the estate's time x VM matrix."""
    grid = sample_grid.from_frame(samples)
    if excluded is not None:
        grid = grid.without(sample_grid.marked_excluded(excluded))
    per_vm = grid.by_vm()
    code_keys = per_vm.keys
    if assignment is not None:
        vms = assignment.copy()
        if "compatibility" in vms.columns:  # a plan's VMs: only the protected ones replicate
            vms = vms[protected(vms)]
        elif "process_server" in vms.columns:  # an assignment alone: VMs without a server do not replicate
            vms = vms[vms["process_server"].fillna("").astype(str) != ""]
        vms["name"] = vms["name"] if "name" in vms.columns else vms["vm_id"]
        vms["scope"] = vms["process_server"] if "process_server" in vms.columns else ESTATE
        vms = vms[["vcenter", "vm_id", "name", "scope"]].reset_index(drop=True)
        vms["scope"] = vms["scope"].fillna(ESTATE).astype(str)
        row_of_vm = pd.Index(vm_keys(code_keys)).get_indexer(vm_keys(vms)) if len(vms) else np.zeros(0, int)
    else:
        vms = code_keys.copy()
        vms["name"] = vms["vm_id"]
        vms["scope"] = ESTATE
        row_of_vm = np.arange(len(vms))
    present = per_vm.present_times()
    vms = vms.reset_index(drop=True)
    times = per_vm.times[present]
    cols = {scope: _columns(vms, scope) for scope in dict.fromkeys([ESTATE, *scopes])}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:   # each matrix is a transpose: memory-bound, GIL released
        matrices = dict(zip(cols, pool.map(lambda c: _bytes_matrix(per_vm, row_of_vm[c], present), cols.values()),
                            strict=True))
    return {scope: PreparedChurn(times, per_vm.interval_s, vms if scope == ESTATE else
                                 vms.iloc[c].reset_index(drop=True), matrices[scope], timezone)
            for scope, c in cols.items()}


def scope_frame(names: Iterable[str]) -> pd.DataFrame:
    """The `vms` of a PreparedChurn whose columns are scopes (one per process server, its VMs' bytes summed)."""
    names = list(names)
    return pd.DataFrame({"vcenter": "", "vm_id": names, "name": names, "scope": names})


def _bytes_matrix(per_vm: SampleGrid, row_of_vm: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Bytes per present sample time (rows) of the grid rows `row_of_vm` (columns; -1: a VM without samples, 0)."""
    found = row_of_vm >= 0
    matrix = np.zeros((int(present.sum()), row_of_vm.size))
    rows, cols = row_of_vm[found], np.nonzero(found)[0]
    for at in range(0, rows.size, _PREPARE_VMS):  # VMs a block at a time: one matrix, no full-size temporary
        kbps = per_vm.write_kbps[rows[at:at + _PREPARE_VMS]]
        if not per_vm.dense:
            np.nan_to_num(kbps, nan=0.0, copy=False)
        if not present.all():
            kbps = kbps[:, present]
        kbps *= float(KIB) * per_vm.interval_s
        into = cols[at:at + _PREPARE_VMS]
        whole = into[-1] - into[0] + 1 == into.size   # consecutive columns: a slice, written twice as fast
        matrix[:, slice(into[0], into[-1] + 1) if whole else into] = kbps.T
    return matrix


@dataclass
class WhatIf:
    """Outcome of one scope at one bandwidth or schedule."""

    scope: str
    rpo_min: float
    compliance_pct: float
    max_lag_min: float
    lag: pd.DataFrame          # ts, lag_min, backlog_mib (at each sample end)
    daily: pd.DataFrame        # date, peak_lag_min, violations_min (local dates)
    vm_misses: pd.DataFrame    # vm_id, name, compliance_pct, max_lag_min (fair-share mode), worst first
    max_backlog_mib: float = 0.0


def scope_curve(prepared: PreparedChurn, cols: np.ndarray, factor: float) -> queue.Curve:
    """Cumulative arrivals of the VMs in `cols`, writes scaled by `factor` (growth x compression)."""
    return prepared.curve(cols, factor)


def run(curve: queue.Curve, capacity: queue.Capacity, rpo_min: float, lags: bool = True,
        edges_tz: str | None = None, start: queue.FifoStart | None = None
        ) -> tuple[queue.Service, queue.Compliance, tuple[float, float]]:
    """FIFO service of `curve` and its compliance over [first sample start, last sample end + RPO] (`start`:
    run_start(curve, rpo_min), shared by runs of one curve at several constant rates)."""
    rpo_s = rpo_min * 60.0
    window = (float(curve.t[0]), float(curve.t[-1]) + rpo_s)
    svc = queue.serve_fifo(curve, capacity, window[1], start)
    edges = queue.day_edges(*window, edges_tz) if edges_tz else None
    return svc, queue.compliance(svc, rpo_s, window, edges, lags=lags), window


def run_start(curve: queue.Curve, rpo_min: float) -> queue.FifoStart:
    """What every constant-rate `run` of `curve` against `rpo_min` starts from."""
    return constant_rate.run_start(curve, rpo_min)


def simulate(prepared: PreparedChurn, cols: np.ndarray, capacity: queue.Capacity, rpo_min: float,
             factor: float, lags: bool = True, edges_tz: str | None = None
             ) -> tuple[queue.Service, queue.Compliance, tuple[float, float]]:
    """FIFO service and compliance for the VMs in `cols` with writes scaled by `factor`."""
    return run(scope_curve(prepared, cols, factor), capacity, rpo_min, lags, edges_tz)


def what_if(prepared: PreparedChurn, *, bandwidth_mbps: float | None = None,
            throttle: ThrottleSchedule | None = None, rpo_min: float = 15, growth_pct: float = 0,
            compression: float = 1.0, scope: str = ESTATE, per_vm: bool = True, series: bool = True) -> WhatIf:
    """Simulate `scope` draining at `bandwidth_mbps` (or `throttle`, which wins) against an RPO of `rpo_min`.

    Compliance is the exact time-weighted share of [first sample start, last sample end + RPO] with
    lag <= RPO (the tail gives the last writes their full RPO). Daily figures use local dates of the
    throttle's time zone, else the prepared one. `series` False: only the figures (compliance, largest lag
    and backlog), the lag series and the daily table left empty.
    """
    if rpo_min <= 0:
        raise ValueError(f"rpo_min must be > 0, got {rpo_min}")
    capacity = queue.Capacity(None if throttle is not None else bandwidth_mbps, throttle)
    cols = prepared.columns(scope)
    factor = compression * (1.0 + growth_pct / 100.0)
    tz = throttle.timezone if throttle is not None else prepared.timezone
    if prepared.times.size == 0:
        return WhatIf(scope, rpo_min, 100.0, 0.0, _no_lag(), _no_daily(), _no_misses())
    x = prepared.times
    if throttle is None and bandwidth_mbps is not None and not (per_vm and series):   # the compiled replay
        curve = scope_curve(prepared, cols, factor)
        edges = queue.day_edges(float(curve.t[0]), float(curve.t[-1]) + rpo_min * 60.0, tz)
        r = constant_rate.replay(curve, bandwidth_mbps, rpo_min, edges, at=x if series else None)
        if not series:
            return WhatIf(scope, rpo_min, r.pct, r.max_lag_s / 60.0, _no_lag(), _no_daily(), _no_misses(),
                          bytes_to_mib(r.max_backlog_bytes))
        return WhatIf(scope, rpo_min, r.pct, r.max_lag_s / 60.0, _lag_frame(x, r.lag_s, r.backlog_bytes),
                      _daily(r.piece_start, r.piece_bad_s, r.peak_t, r.peak_lag_s, tz), _no_misses(),
                      bytes_to_mib(r.max_backlog_bytes))
    svc, comp, window = simulate(prepared, cols, capacity, rpo_min, factor, edges_tz=tz)
    backlog = svc.backlog
    if not series:
        return WhatIf(scope, rpo_min, comp.pct, comp.max_lag_s / 60.0, _no_lag(), _no_daily(), _no_misses(),
                      bytes_to_mib(float(backlog.max(initial=0.0))))
    lag = _lag_frame(x, queue.lag_at(svc, x), np.interp(x, svc.t, backlog))
    daily = _daily(comp.piece_start, comp.piece_bad_s, comp.peak_t, comp.peak_lag_s, tz)
    misses = _vm_misses(prepared, cols, svc, factor, rpo_min, window) if per_vm else _no_misses()
    return WhatIf(scope, rpo_min, comp.pct, comp.max_lag_s / 60.0, lag, daily, misses,
                  bytes_to_mib(float(backlog.max(initial=0.0))))


def _lag_frame(x: np.ndarray, lag_s: np.ndarray, backlog_bytes: np.ndarray) -> pd.DataFrame:
    """The lag series: ts, lag_min, backlog_mib at each sample end `x`."""
    return pd.DataFrame({"ts": queue.from_epoch(x), "lag_min": lag_s / 60.0,
                         "backlog_mib": bytes_to_mib(backlog_bytes)})


def _daily(piece_start: np.ndarray, piece_bad_s: np.ndarray, peak_t: np.ndarray, peak_lag_s: np.ndarray,
           tz: str) -> pd.DataFrame:
    """Per local date: the largest lag and the minutes over the RPO (date, peak_lag_min, violations_min)."""
    bad = pd.Series(piece_bad_s / 60.0).groupby(queue.local_days(piece_start, tz)).sum()   # grouped by day
    peak = pd.Series(peak_lag_s / 60.0).groupby(queue.local_days(peak_t, tz)).max()         # numbers, in order
    daily = pd.DataFrame({"peak_lag_min": peak, "violations_min": bad}).fillna(0.0)
    daily.index = pd.Index(pd.DatetimeIndex(daily.index).date, dtype=object)   # then named by calendar date
    return daily.rename_axis("date").reset_index()


_NO_LAG = pd.DataFrame({"ts": pd.Series(dtype="datetime64[ns, UTC]"), "lag_min": [], "backlog_mib": []})
_NO_DAILY = pd.DataFrame(columns=["date", "peak_lag_min", "violations_min"])
_NO_MISSES = pd.DataFrame(columns=["vm_id", "name", "compliance_pct", "max_lag_min"])


def _no_lag() -> pd.DataFrame:   # empty tables are copies of one made once (a copy costs a tenth of a new frame)
    return _NO_LAG.copy()


def _no_daily() -> pd.DataFrame:
    return _NO_DAILY.copy()


def _no_misses() -> pd.DataFrame:
    return _NO_MISSES.copy()


def _vm_misses(prepared: PreparedChurn, cols: np.ndarray, fifo: queue.Service, factor: float,
               rpo_min: float, window: tuple[float, float]) -> pd.DataFrame:
    """Per-VM compliance when VMs share the link equally (S_i linear between grid breakpoints)."""
    arr = queue.arrival_curve(prepared.times, prepared.interval_s, prepared.vm_bytes[:, cols] * factor)
    s_vm, a_vm = queue.fair_share(arr, fifo)
    pct, lag = np.empty(cols.size), np.empty(cols.size)
    for i in range(cols.size):  # one pass per VM, each vectorised over time
        svc = queue.Service(fifo.t, a_vm[:, i], s_vm[:, i], fifo.c)
        c = queue.compliance(svc, rpo_min * 60.0, window)
        pct[i], lag[i] = c.pct, c.max_lag_s / 60.0
    vms = prepared.vms.iloc[cols]
    out = pd.DataFrame({"vm_id": vms["vm_id"].to_numpy(), "name": vms["name"].to_numpy(),
                        "compliance_pct": pct, "max_lag_min": lag})
    return out.sort_values(["compliance_pct", "max_lag_min"], ascending=[True, False], ignore_index=True)
