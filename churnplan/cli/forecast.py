"""`churnplan forecast` and `churnplan backtest`: learned forecasts of churn, bandwidth and RPO compliance, and
how well they (and the replay and percentile rules) would have predicted held-out days."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from churnplan.analytics import rpo
from churnplan.analytics.forecast import backtest as bt
from churnplan.analytics.forecast import scope as fc
from churnplan.analytics.forecast.series import regular_times, whole_days
from churnplan.analytics.forecast.trend import AutoGrowth, auto_growth
from churnplan.analytics.model import PlanConfig
from churnplan.analytics import queue
from churnplan.cli import validators as v
from churnplan.cli.errors import fail, read_only_or_fail
from churnplan.cli.options import _when, checked_vcenters, progress_bar, progress_step, with_vcenter_option
from churnplan.core import store
from churnplan.core.durations import parse_duration

console = Console(stderr=True)


def _prepared(db: Path, start: str | None, end: str | None, timezone: str | None, progress,
              vcenter: list[str] | None = None) -> tuple[rpo.PreparedChurn, str]:
    """The store's churn by process server (the default plan's assignment and exclusions), read-only, in the
    time zone given or else the estate's (UTC when none is recorded); only the VMs of `vcenter` when given.

    Read and planned a block of VMs at a time (engines.store): memory holds the per-VM write series, not
    every sample."""
    from churnplan.engines.store import NoSamples, churn_by_process_server

    with read_only_or_fail(db) as con:   # an unknown --vcenter is refused before any progress line
        vcenters = checked_vcenters(con, db, vcenter) or None
        zone = timezone or store.estate_timezone(con) or "UTC"
        config = PlanConfig(start=_when(start, "--start"), end=_when(end, "--end"), timezone=zone,
                            vcenters=vcenters or ())
        with progress_step(progress, f"reading {db}: each VM's churn and its process server"):
            try:
                prepared = churn_by_process_server(con, config)
            except NoSamples:
                raise fail(f"{db}: no samples to forecast from (run `churnplan collect`, `churnplan import` or "
                           "`churnplan samples`)") from None
    return prepared, zone


def _scopes(prepared: rpo.PreparedChurn, vms: bool) -> list[str]:
    """The estate, each process server and (with --vms) every VM."""
    return [rpo.ESTATE] + prepared.scopes() + (list(prepared.vms["vm_id"].astype(str)) if vms else [])


@with_vcenter_option
def forecast_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path = typer.Option(..., "--out", help="Directory for forecast.csv and forecast.json."),
    horizon: str = typer.Option("90d", "--horizon", help="How far ahead, e.g. 7d, 90d or 12w."),
    rpo_min: float = typer.Option(15.0, "--rpo", help="RPO in minutes for the printed table (15/30/60 always)."),
    bandwidth: float | None = typer.Option(None, "--bandwidth", help="Bandwidth in Mbps: expected compliance."),
    start: str | None = typer.Option(None, "--start", help="First sample time to learn from (ISO, UTC)."),
    end: str | None = typer.Option(None, "--end", help="Last sample time to learn from (ISO, UTC)."),
    timezone: str | None = typer.Option(None, "--timezone", help="Time zone of the daily rhythm and dates "
                                        "(default: the estate's, recorded by import or `init --timezone`; else UTC).",
                                        callback=v.zone()),
    traces: int = typer.Option(fc.N_TRACES, "--traces", help="Monte-Carlo traces per scope."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same seed gives the same forecast)."),
    vms: bool = typer.Option(False, "--vms", help="Also forecast every VM (slower)."),
    vcenter: list[str] | None = None,
) -> None:
    """Forecast daily churn, required bandwidth per RPO and goal, and compliance, from the learned past."""
    try:
        horizon_days = parse_duration(horizon, "--horizon", bare_unit="d") / 86_400
        if horizon_days < 1:
            raise ValueError(f"--horizon {horizon!r}: forecast at least one day")
        if rpo_min <= 0 or (bandwidth is not None and bandwidth <= 0) or traces < 10:
            raise ValueError("--rpo and --bandwidth must be > 0 and --traces at least 10")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    rpos = tuple(sorted(set(fc.RPOS_MIN) | {rpo_min}))
    with progress_bar() as progress:
        prepared, zone = _prepared(db, start, end, timezone, progress, vcenter)
        scopes = _scopes(prepared, vms)
        with progress_step(progress, "forecasting") as task:
            result = fc.forecast(prepared, horizon_days, scopes, rpos, bandwidth_mbps=bandwidth, n_traces=traces,
                                 seed=seed, progress=lambda s: progress.update(task, description=f"forecasting {s}"))
            progress.update(task, description=f"forecast {len(result)} scope(s)")
    out.mkdir(parents=True, exist_ok=True)
    frame = fc.to_frame(result)
    frame.to_csv(out / "forecast.csv", index=False)
    settings = {"horizon_days": horizon_days, "rpos_min": list(rpos), "bandwidth_mbps": bandwidth,
                "traces": traces, "seed": seed, "timezone": zone, "vcenters": list(dict.fromkeys(vcenter or ())),
                **_learned(prepared)}
    (out / "forecast.json").write_text(json.dumps(fc.to_json(result, settings), indent=2, default=str))
    _print_forecast(result, rpo_min)
    console.print(fc.UNSEEN_BURSTS)
    for name in ("forecast.csv", "forecast.json"):
        console.print(f"wrote {out / name}")


def _learned(prepared: rpo.PreparedChurn) -> dict[str, object]:
    """What the forecast rests on: the first and last sample end learned (UTC) and the days between them."""
    if prepared.times.size == 0:
        return {"learned_first_utc": None, "learned_last_utc": None, "learned_days": 0.0}
    first, last = float(prepared.times[0]), float(prepared.times[-1])
    return {"learned_first_utc": pd.Timestamp(first, unit="s", tz="UTC").isoformat(),
            "learned_last_utc": pd.Timestamp(last, unit="s", tz="UTC").isoformat(),
            "learned_days": round((last - first + prepared.interval_s) / 86_400, 2)}


def _print_forecast(result: list[fc.ScopeForecast], rpo_min: float) -> None:
    table = Table(title=f"Forecast: bandwidth for RPO {rpo_min:g} min 100 % of the time, churn/day")
    for col in ("scope", "median Mbps", "P90 Mbps", "P95 Mbps", "churn GiB/day (80 %)", "growth %/month"):
        table.add_column(col, justify="left" if col == "scope" else "right")
    for f in result[:12]:
        bw = f.bandwidth[(f.bandwidth["rpo_min"] == rpo_min) & (f.bandwidth["compliance_goal_pct"] == 100.0)]
        b = bw.iloc[0] if len(bw) else None
        churn = (f"{f.daily['median'].mean():,.1f} ({f.daily['lower_80'].mean():,.1f}-"
                 f"{f.daily['upper_80'].mean():,.1f})") if len(f.daily) else "-"
        table.add_row(f.scope, *(f"{b[k]:,.1f}" if b is not None else "-" for k in ("median", "p90", "p95")), churn,
                      f"{f.growth.pct_per_month:+.1f} ({f.growth.lo_pct:+.1f}..{f.growth.hi_pct:+.1f})")
    Console().print(table)
    for f in result[:12]:
        for row in f.compliance[f.compliance["rpo_min"] == rpo_min].itertuples():
            Console().print(f"{f.scope}: at {row.bandwidth_mbps:g} Mbps expect {row.median:.2f} % within RPO "
                            f"{rpo_min:g} min (80 % interval {row.lower_80:.2f}-{row.upper_80:.2f} %)")


@with_vcenter_option
def backtest_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path = typer.Option(..., "--out", help="Directory for backtest.csv."),
    test_days: float = typer.Option(7.0, "--test-days", help="Days held out at the end."),
    growth: float = typer.Option(30.0, "--growth", help="Growth % of the dp-p95 rule."),
    timezone: str | None = typer.Option(None, "--timezone", help="Time zone of the daily rhythm (default: the "
                                        "estate's, recorded by import or `init --timezone`; else UTC).",
                                        callback=v.zone()),
    traces: int = typer.Option(fc.N_TRACES, "--traces", help="Monte-Carlo traces per scope."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    vms: bool = typer.Option(False, "--vms", help="Also backtest every VM (slower)."),
    vcenter: list[str] | None = None,
) -> None:
    """Hold out the last days, learn from the rest, and score each method's bandwidth against what was needed."""
    try:
        if test_days <= 0 or traces < 10:
            raise ValueError("--test-days must be > 0 and --traces at least 10")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with progress_bar() as progress:
        prepared, _ = _prepared(db, None, None, timezone, progress, vcenter)
        scopes = _scopes(prepared, vms)
        with progress_step(progress, "backtesting") as task:
            try:
                frame = bt.backtest(prepared, test_days, scopes, growth_pct=growth, n_traces=traces, seed=seed,
                                    progress=lambda s: progress.update(task, description=f"backtesting {s}"))
            except ValueError as exc:
                raise fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "backtest.csv", index=False)
    print_summary(bt.summarise(frame), f"Backtest: {test_days:g} held-out days, {frame['scope'].nunique()} scope(s)")
    console.print(calibration_line(frame))
    console.print(f"wrote {out / 'backtest.csv'}")


def calibration_line(frame: pd.DataFrame) -> str:
    """How often the held-out need fell at or below the forecast's P10, P50, P90 and P95 (bt.calibration)."""
    return ("calibration: held-out need at or below the forecast's " + ", ".join(
        f"P{q:g} in {v:.0f} %" for q, v in bt.calibration(frame).items()) + " of rows (calibrated: the same %)")


def print_summary(summary: pd.DataFrame, title: str) -> None:
    """The per-method backtest table."""
    table = Table(title=title)
    for col in ("method", "cases", "MAPE %", "met goal %", "pred/actual", "QL τ0.9 %", "80 % cover %", "log CRPS"):
        table.add_column(col, justify="left" if col == "method" else "right", no_wrap=col == "method")
    for r in summary.itertuples():
        table.add_row(r.method, str(r.cases), f"{r.mape_pct:,.1f}", f"{r.met_goal_pct:.1f}", f"{r.mean_ratio:.2f}",
                      f"{r.quantile_loss_pct:.1f}", "" if pd.isna(r.coverage_80_pct) else f"{r.coverage_80_pct:.1f}",
                      f"{r.crps_log:.3f}")
    Console().print(table)
    console.print("MAPE: mean |predicted - actual| / actual; met goal: predicted >= actual; QL: quantile loss "
                  "at tau 0.9 relative to the actual (lower is better); cover: share inside the 80 % interval; "
                  "log CRPS: a proper score of the forecast's whole distribution (other methods: |ln(predicted / "
                  "actual)|; 0.69 is off by 2x; lower is better); "
                  "forecast-mape / forecast-ql90: the forecast's points these relative scores reward most, below "
                  "its calibrated median / P90 (not figures to buy against)")


def growth_from_store(con, config: PlanConfig, interval: int | None) -> AutoGrowth:
    """--growth auto: the estate's daily churn (whole local days, one SQL sum per sample time) fitted for growth;
    the config's growth under 14 days."""
    vcenters = config.vcenters or None
    iv = interval or store.default_interval(con, vcenters)
    if not iv:
        return auto_growth(np.zeros(0), np.zeros(0), None, config.growth_pct)
    series = store.estate_series(con, iv, vcenters)
    t = queue.to_epoch(series["ts"])
    lo = -np.inf if config.start is None else pd.Timestamp(config.start, tz="UTC").value / 1e9 \
        if pd.Timestamp(config.start).tzinfo is None else pd.Timestamp(config.start).value / 1e9
    hi = np.inf if config.end is None else pd.Timestamp(config.end, tz="UTC").value / 1e9 \
        if pd.Timestamp(config.end).tzinfo is None else pd.Timestamp(config.end).value / 1e9
    keep = (t >= lo) & (t <= hi)
    values = series["write_kbps"].fillna(0.0).to_numpy()[keep] * 1024.0 * iv
    days = whole_days(regular_times(t[keep], float(iv), values, config.timezone))
    return auto_growth(days.day, days.values.sum(axis=1) / 2**30, days.weekday, config.growth_pct)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_cmd)
    app.command("backtest")(backtest_cmd)
