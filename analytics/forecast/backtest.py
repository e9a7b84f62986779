"""Backtests: hold out the last days, learn from the rest, and compare each method's required bandwidth with
what the held-out days actually needed (the exact queue model on the measured churn).

Besides the forecast's calibrated median and P90 (the figures a buyer reads), two rows give the forecast's
point that each relative score rewards most (`relative_bayes_act`): they show how far the scores themselves
favour buying less than a calibrated quantile, without looking at the answers. Every row also carries a proper
score (`crps_log`), the one that judges the forecast's whole distribution and not one of its points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics import bandwidth, facts, rpo
from churnplan.analytics.forecast import scope as scope_forecast
from churnplan.analytics.forecast.series import regular
from churnplan.analytics.rpo import PreparedChurn
from churnplan.core.units import BYTES_PER_MBPS

SCORE_TAUS = {"forecast-mape": 0.5, "forecast-ql90": 0.9}  # the relative pinball loss each one minimises
METHODS = ("forecast", "forecast-p90", "replay", "dp-p95", "zplanner-p98", *SCORE_TAUS)
COLUMNS = ["scope", "rpo_min", "compliance_goal_pct", "method", "predicted_mbps", "actual_mbps", "error_pct",
           "met_goal", "lower_mbps", "upper_mbps", "in_interval", "crps_log", "pit"]
TAU = 0.9
LOG_FLOOR_MBPS = 1e-3      # needs below 1 kbps count as 1 kbps in the log score (a zero has no logarithm)


def split(prepared: PreparedChurn, test_days: float) -> tuple[PreparedChurn, PreparedChurn]:
    """(learning, held-out) halves: the held-out part is the last `test_days` days of sample end times."""
    if prepared.times.size == 0:
        raise ValueError("no samples to backtest")
    cut = float(prepared.times[-1]) - test_days * 86_400
    learn, test = prepared.times <= cut, prepared.times > cut
    if not learn.any():
        raise ValueError(f"the store spans less than the {test_days:g} held-out days")

    def part(mask: np.ndarray) -> PreparedChurn:
        return PreparedChurn(prepared.times[mask], prepared.interval_s, prepared.vms, prepared.vm_bytes[mask],
                             prepared.timezone)
    return part(learn), part(test)


def _need(prep: PreparedChurn, cols: np.ndarray, r: float, goals: tuple[float, ...]) -> dict[float, float]:
    """Required Mbps of the measured churn per goal (bandwidth.required_mbps_100 and least_mbps)."""
    curve = rpo.scope_curve(prep, cols, 1.0)
    always = bandwidth.required_mbps_100(curve, r * 60.0)
    memo: dict[float, float] = {}
    return {g: always if g >= 100 else bandwidth.least_mbps(prep, cols, r, g, 1.0, rel_tol=1e-3, hi_mbps=always,
                                                           curve=curve, memo=memo) for g in goals}


def backtest(prepared: PreparedChurn, test_days: float = 7.0, scopes: list[str] | None = None,
             rpos: tuple[float, ...] = scope_forecast.RPOS_MIN, goals: tuple[float, ...] = scope_forecast.GOALS_PCT,
             growth_pct: float = facts.PLANNER_DEFAULTS.growth_pct, n_traces: int = scope_forecast.N_TRACES,
             seed: int = 0, goal_traces: int = scope_forecast.GOAL_TRACES,
             progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per scope, RPO, goal and method (COLUMNS). `scopes` defaults to the estate and its process servers."""
    learn, test = split(prepared, test_days)
    scopes = scopes if scopes is not None else [rpo.ESTATE] + prepared.scopes()
    horizon = (float(test.times[-1]) - float(learn.times[-1])) / 86_400 if test.times.size else test_days
    rows = []
    for i, scope in enumerate(scopes):  # scopes; each vectorised over samples and traces
        if progress:
            progress(scope)
        cols = prepared.columns(scope)
        fc = scope_forecast.forecast_series(regular(learn, cols), scope, horizon, rpos, goals,
                                            n_traces=n_traces, seed=seed + i, goal_traces=goal_traces)
        rules = {m: float(v) for m, v in
                 rule_mbps(learn.scope_bytes(cols) / learn.interval_s / BYTES_PER_MBPS, growth_pct).items()}
        for r in rpos:
            actual = _need(test, cols, r, goals)
            replay = _need(learn, cols, r, goals)
            for g in goals:
                bw = fc.bandwidth[(fc.bandwidth["rpo_min"] == r) & (fc.bandwidth["compliance_goal_pct"] == g)].iloc[0]
                lo, hi = float(bw["lower_80"]), float(bw["upper_80"])
                preds = {"forecast": float(bw["median"]), "forecast-p90": float(bw["p90"]), "replay": replay[g],
                         **rules, **{m: relative_bayes_act(fc.needs[(r, g)], tau) for m, tau in SCORE_TAUS.items()}}
                for method in METHODS:
                    own = method == "forecast"   # its row carries its interval and all its draws
                    rows.append(score_row(scope, r, g, method, preds[method], actual[g], (lo, hi) if own else None,
                                          fc.needs[(r, g)] if own else np.array([preds[method]])))
    return pd.DataFrame(rows, columns=COLUMNS)


def rule_mbps(rate_mbps: np.ndarray, growth_pct: float = facts.PLANNER_DEFAULTS.growth_pct) -> dict[str, np.ndarray]:
    """The peers' rules of thumb over churn rates in Mbps (samples on the last axis; NaN: no sample): the
    Deployment Planner's 95th percentile x (1 + growth) (`dp-p95`) and zPlanner's 98th percentile
    (`zplanner-p98`); 0 where there is no sample."""
    rate = np.asarray(rate_mbps, dtype=float)
    if rate.shape[-1] == 0:
        return {"dp-p95": np.zeros(rate.shape[:-1]), "zplanner-p98": np.zeros(rate.shape[:-1])}
    p95, p98 = np.nan_to_num(np.nanpercentile(
        rate, [facts.PLANNER_DEFAULTS.percentile, facts.ZPLANNER_PERCENTILE], axis=-1))
    return {"dp-p95": p95 * (1 + growth_pct / 100.0), "zplanner-p98": p98}


def score_row(scope: str, r: float, g: float, method: str, pred: float, actual: float,
              interval: tuple[float, float] | None, draws: np.ndarray) -> dict[str, Any]:
    """One backtest row (COLUMNS); `draws` is the method's predictive distribution (a point method: its one
    value), and a method given its 80 % `interval` gets its coverage and PIT too."""
    err = 100.0 * (pred - actual) / actual if actual > 0 else float("nan")
    row = {"scope": scope, "rpo_min": r, "compliance_goal_pct": g, "method": method, "predicted_mbps": pred,
           "actual_mbps": actual, "error_pct": err, "met_goal": bool(pred >= actual),
           "lower_mbps": np.nan, "upper_mbps": np.nan, "in_interval": None,
           "crps_log": crps_log(draws, actual) if actual > 0 else float("nan"), "pit": np.nan}
    if interval is not None:
        row.update(lower_mbps=interval[0], upper_mbps=interval[1],
                   in_interval=bool(interval[0] <= actual <= interval[1]), pit=pit(draws, actual))
    return row


def quantile_loss(pred: np.ndarray, actual: np.ndarray, tau: float = TAU) -> np.ndarray:
    """Pinball loss at `tau` of each prediction, relative to the actual value."""
    u = np.asarray(actual, dtype=float) - np.asarray(pred, dtype=float)
    return np.asarray(np.maximum(tau * u, (tau - 1) * u) / np.asarray(actual, dtype=float), dtype=float)


def crps_log(draws: np.ndarray, actual: float) -> float:
    """Continuous ranked probability score of equally likely `draws` for `actual`, both taken as natural logs
    of the need (floored at LOG_FLOOR_MBPS): E|X - y| - E|X - X'| / 2 (Gneiting and Raftery, "Strictly proper
    scoring rules", JASA 2007). It is proper, so the forecast cannot gain by buying less or more than it
    believes; on the log it weighs a shortfall and an excess of the same factor alike (0.69: off by 2x either
    way); for a single point it is |ln(predicted / actual)|, so point methods are scored on the same scale."""
    x = np.sort(np.log(np.maximum(np.asarray(draws, dtype=float), LOG_FLOOR_MBPS)))
    y = np.log(max(float(actual), LOG_FLOOR_MBPS))
    n = x.size
    if n == 0:
        return float("nan")
    spread = float((2.0 * np.arange(1, n + 1) - n - 1) @ x) / (n * n)   # E|X - X'| / 2 from the sorted draws
    return float(np.abs(x - y).mean()) - spread


def pit(draws: np.ndarray, actual: float) -> float:
    """Probability integral transform: the share of the forecast's draws below `actual` (ties count half).
    Over many cases a calibrated forecast's PITs are uniform: the need falls below its P90 in 90 % of them."""
    x = np.asarray(draws, dtype=float)
    return float((x < actual).mean() + 0.5 * (x == actual).mean()) if x.size else float("nan")


def relative_bayes_act(draws: np.ndarray, tau: float) -> float:
    """The prediction with the least expected relative pinball loss at `tau` (at 0.5: the least expected
    absolute percentage error) when the actual is one of the equally likely `draws`: their tau-quantile
    weighted by 1/draw (Gneiting 2011, "Making and evaluating point forecasts"). It lies at or below the
    plain quantile, since a relative score charges an excess over a small need more than over a large one.
    Draws of 0 (a need no relative score can be taken of) are left out; 0 when none is left."""
    x = np.asarray(draws, dtype=float)
    x = x[x > 0]
    if x.size == 0:
        return 0.0
    return float(np.quantile(x, tau, weights=1.0 / x, method="inverted_cdf"))


def calibration(frame: pd.DataFrame, quantiles_pct: tuple[float, ...] = (10.0, 50.0, 90.0, 95.0)) -> dict[float, float]:
    """Per forecast quantile q: the % of forecast rows whose held-out need fell at or below it (from the rows'
    PITs; calibrated: q itself)."""
    p = frame.loc[frame["method"] == "forecast", "pit"].dropna().to_numpy(dtype=float)
    return {q: 100.0 * float((p <= q / 100.0).mean()) if p.size else float("nan") for q in quantiles_pct}


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: cases, MAPE %, share that met the goal %, mean predicted/actual, mean relative quantile loss
    at tau 0.9 %, (forecast only) the 80 % interval's coverage %, and the mean log CRPS (crps_log: the forecast's
    whole distribution, each other method's one point). Rows whose actual need is 0 are left out of the relative
    figures."""
    out = []
    for method in [m for m in METHODS if m in set(frame["method"])]:
        f = frame[(frame["method"] == method) & (frame["actual_mbps"] > 0)]
        cov = f["in_interval"].dropna().astype(bool)
        out.append({"method": method, "cases": len(f),
                    "mape_pct": float(np.abs(f["error_pct"]).mean()),
                    "met_goal_pct": 100.0 * float(f["met_goal"].astype(bool).mean()),
                    "mean_ratio": float((f["predicted_mbps"] / f["actual_mbps"]).mean()),
                    "quantile_loss_pct": 100.0 * float(quantile_loss(f["predicted_mbps"], f["actual_mbps"]).mean()),
                    "coverage_80_pct": 100.0 * float(cov.mean()) if len(cov) else float("nan"),
                    "crps_log": float(f["crps_log"].mean())})
    return pd.DataFrame(out)
