"""One scope's forecast: daily churn with 80 % and 95 % intervals, required bandwidth per RPO and goal as a
median and upper bounds, and compliance at a given bandwidth, all from Monte-Carlo traces run through the
exact queue model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics import queue, rpo
from churnplan.analytics.forecast import need
from churnplan.analytics.forecast.series import Series, calendar, regular, whole_days
from churnplan.analytics.rpo import PreparedChurn
from churnplan.analytics.forecast.traces import Model, Traces, learn, simulate
from churnplan.analytics.forecast.trend import GrowthFit

RPOS_MIN = (15.0, 30.0, 60.0)
GOALS_PCT = (100.0, 99.0, 95.0, 90.0)
N_TRACES = 200
GOAL_TRACES = 32           # traces searched for goals below 100 % (a bisection of simulations each)
UNSEEN_BURSTS = ("The futures reuse the bursts seen in the learned days (scaled only by the fitted trend) and invent "
                 "no larger ones, so a burst larger than any learned (a month-end or quarterly job not yet seen) is "
                 "not covered by the P90/P95.")   # what the upper bounds cover, said wherever they are shown
_Q = {"lower_95": 2.5, "lower_80": 10.0, "median": 50.0, "upper_80": 90.0, "p90": 90.0, "p95": 95.0,
      "upper_95": 97.5}


@dataclass
class ScopeForecast:
    """Forecast of one scope. Frames: history (date, gib); daily (date, median, lower_80, upper_80, lower_95,
    upper_95 in GiB/day); bandwidth (rpo_min, compliance_goal_pct, median, lower_80, upper_80, p90, p95 in
    Mbps); compliance (rpo_min, bandwidth_mbps, median, lower_80, upper_80 in %)."""

    scope: str
    growth: GrowthFit
    history: pd.DataFrame
    daily: pd.DataFrame
    bandwidth: pd.DataFrame
    compliance: pd.DataFrame
    model: Model = field(repr=False)
    traces: Traces = field(repr=False)
    needs: dict[tuple[float, float], np.ndarray] = field(repr=False)  # (RPO, goal): each trace's Mbps


def _quantiles(values: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    """The interval quantiles of `values` along `axis`."""
    return {k: np.percentile(values, q, axis=axis) for k, q in _Q.items()}


def daily_churn(traces: Traces) -> pd.DataFrame:
    """GiB/day per whole local horizon day: median and 80 % / 95 % intervals across traces."""
    if traces.bytes.shape[1] == 0:
        return pd.DataFrame(columns=["date", "median", "lower_80", "upper_80", "lower_95", "upper_95"])
    cal = calendar(traces.times, traces.interval_s, traces.timezone)
    starts = np.searchsorted(cal.day, np.arange(int(cal.day.max()) + 1))
    sums = np.add.reduceat(traces.bytes, starts, axis=1) / 2**30
    counts = np.diff(np.append(starts, cal.day.size))
    full = counts >= 0.9 * 86_400 / traces.interval_s
    q = _quantiles(sums[:, full])
    dates = (cal.first_date + pd.to_timedelta(np.arange(starts.size)[full], unit="D")).date
    return pd.DataFrame({"date": dates, **{k: q[k] for k in ("median", "lower_80", "upper_80", "lower_95",
                                                              "upper_95")}})


def history(series: Series) -> pd.DataFrame:
    """Measured GiB/day of the whole local days learned."""
    days = whole_days(series)
    return pd.DataFrame({"date": (days.first_date + pd.to_timedelta(days.day, unit="D")).date,
                         "gib": days.values.sum(axis=1) / 2**30})


def trace_needs(traces: Traces, rpos: tuple[float, ...], goals: tuple[float, ...],
                goal_traces: int = GOAL_TRACES) -> dict[tuple[float, float], np.ndarray]:
    """Required Mbps per trace for each (RPO, goal); goals below 100 % on the first `goal_traces` traces."""
    out = {}
    for r in rpos:
        always = need.required_mbps_100(traces.times, traces.interval_s, traces.bytes, r * 60.0)
        k = min(goal_traces, always.size)
        below = need.least_mbps(traces.times, traces.interval_s, traces.bytes[:k], r, goals, always[:k])
        for g in goals:
            out[(r, g)] = always if g >= 100 else below[g]
    return out


def forecast_series(series: Series, scope: str, horizon_days: float, rpos: tuple[float, ...] = RPOS_MIN,
                    goals: tuple[float, ...] = GOALS_PCT, bandwidth_mbps: float | None = None,
                    n_traces: int = N_TRACES, seed: int = 0, goal_traces: int = GOAL_TRACES) -> ScopeForecast:
    """Learn `series` and forecast `horizon_days` ahead (see the module docstring)."""
    rng = np.random.default_rng(seed)
    model = learn(series)
    traces = simulate(model, horizon_days, n_traces, rng)
    needs = trace_needs(traces, rpos, goals, goal_traces)
    bw = pd.DataFrame([{"rpo_min": r, "compliance_goal_pct": g,
                        **{k: float(v) for k, v in _quantiles(x).items() if k not in ("lower_95", "upper_95")}}
                       for (r, g), x in needs.items()])
    comp_rows = []
    if bandwidth_mbps is not None:
        k = min(goal_traces, traces.bytes.shape[0])
        for r in rpos:
            pct = need.compliance_pct(traces.times, traces.interval_s, traces.bytes[:k], r, bandwidth_mbps)
            q = _quantiles(pct)
            comp_rows.append({"rpo_min": r, "bandwidth_mbps": bandwidth_mbps, "median": float(q["median"]),
                              "lower_80": float(q["lower_80"]), "upper_80": float(q["upper_80"])})
    comp = pd.DataFrame(comp_rows, columns=["rpo_min", "bandwidth_mbps", "median", "lower_80", "upper_80"])
    return ScopeForecast(scope, model.growth, history(series), daily_churn(traces), bw, comp, model, traces, needs)


def compliance_on(forecast: ScopeForecast, day: pd.Timestamp | str, rpo_min: float, mbps: float,
                  n: int = GOAL_TRACES) -> dict[str, float]:
    """Expected compliance % on one future local date at `mbps`: median and 80 % interval over traces."""
    tr = forecast.traces
    local = queue.from_epoch(tr.times - tr.interval_s).tz_convert(tr.timezone).date
    mask = local == pd.Timestamp(day).date()
    if not mask.any():
        raise ValueError(f"{day} is not within the forecast horizon")
    pct = need.compliance_pct(tr.times[mask], tr.interval_s, tr.bytes[:n, mask], rpo_min, mbps)
    q = _quantiles(pct)
    return {"median": float(q["median"]), "lower_80": float(q["lower_80"]), "upper_80": float(q["upper_80"])}


def forecast(prepared: PreparedChurn, horizon_days: float, scopes: list[str] | None = None,
             rpos: tuple[float, ...] = RPOS_MIN, goals: tuple[float, ...] = GOALS_PCT,
             bandwidth_mbps: float | None = None, n_traces: int = N_TRACES, seed: int = 0,
             progress: Callable[[str], None] | None = None) -> list[ScopeForecast]:
    """Forecasts of `scopes` of a PreparedChurn (default: the estate and its process servers)."""
    scopes = scopes if scopes is not None else [rpo.ESTATE] + prepared.scopes()
    out = []
    for i, scope in enumerate(scopes):  # scopes; each vectorised over samples and traces
        if progress:
            progress(scope)
        out.append(forecast_series(regular(prepared, prepared.columns(scope)), scope, horizon_days, rpos, goals,
                                   bandwidth_mbps, n_traces, seed + i))
    return out


FRAME_COLUMNS = ["scope", "measure", "date", "rpo_min", "compliance_goal_pct", "bandwidth_mbps", "median",
                 "lower_80", "upper_80", "lower_95", "upper_95", "p90", "p95"]


def to_frame(forecasts: list[ScopeForecast]) -> pd.DataFrame:
    """One long table: measure 'churn_gib_day' per date, 'required_mbps' per RPO and goal, 'compliance_pct'
    per RPO at the given bandwidth."""
    parts = []
    for f in forecasts:
        parts.append(f.daily.assign(scope=f.scope, measure="churn_gib_day"))
        parts.append(f.bandwidth.assign(scope=f.scope, measure="required_mbps"))
        if len(f.compliance):
            parts.append(f.compliance.assign(scope=f.scope, measure="compliance_pct"))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()
    return frame.reindex(columns=FRAME_COLUMNS)


def to_json(forecasts: list[ScopeForecast], settings: dict[str, Any]) -> dict[str, Any]:
    """JSON-able forecast: settings, and per scope its growth fit, history and tables."""
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: (str(v) if k == "date" else (None if isinstance(v, float) and not np.isfinite(v) else v))
                 for k, v in row.items()} for row in frame.to_dict("records")]
    return {"settings": settings, "notes": [UNSEEN_BURSTS], "scopes": [
        {"scope": f.scope, "growth": {**f.growth.as_dict(), "note": f.growth.note()},
         "history_gib_day": records(f.history), "churn_gib_day": records(f.daily),
         "required_mbps": records(f.bandwidth), "compliance_pct": records(f.compliance)} for f in forecasts]}


def daily_need(forecast: ScopeForecast, rpo_min: float) -> pd.DataFrame:
    """Required Mbps for `rpo_min` 100 % of each whole local horizon day (each day's traces run through the
    exact need, all days and traces at once): date, median, upper_80 (P90), p95."""
    tr = forecast.traces
    if tr.bytes.shape[1] == 0:
        return pd.DataFrame(columns=["date", "median", "upper_80", "p95"])
    cal = calendar(tr.times, tr.interval_s, tr.timezone)
    spd = int(round(86_400 / tr.interval_s))
    starts = np.searchsorted(cal.day, np.arange(int(cal.day.max()) + 1))
    counts = np.diff(np.append(starts, cal.day.size))
    full = np.nonzero(counts == spd)[0]
    if full.size == 0:
        return pd.DataFrame(columns=["date", "median", "upper_80", "p95"])
    idx = starts[full][:, None] + np.arange(spd)[None, :]
    blocks = tr.bytes[:, idx].reshape(-1, spd)          # (traces x days) rows of one day each
    per = need.required_mbps_100(tr.times[:spd], tr.interval_s, blocks, rpo_min * 60.0)
    per = per.reshape(tr.bytes.shape[0], full.size)
    q = _quantiles(per)
    return pd.DataFrame({"date": (cal.first_date + pd.to_timedelta(full, unit="D")).date,
                         "median": q["median"], "upper_80": q["upper_80"], "p95": q["p95"]})
