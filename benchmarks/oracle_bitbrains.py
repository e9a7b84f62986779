"""What a forecast that knew the true distribution would score on the Bitbrains estates (the issue's criteria).

    python benchmarks/oracle_bitbrains.py                # 12 estates x RPO 15/30/60 x learn 14 and 21 days
    python benchmarks/oracle_bitbrains.py --discrete     # the days as they are, without the kernel
    python benchmarks/oracle_bitbrains.py --forecast 20  # and churnplan's forecast, 20 drawn cases each

Each estate's days are taken as independent draws from its own 28 real days (the protocol's estates, as in
backtest_bitbrains.py), each drawn day scaled by a lognormal kernel (Silverman's bandwidth of the log daily
needs at RPO 15 min), so the needs are continuous. A learning window (14 or 21 days) and the held-out week
are drawn from that distribution again and again. A window's need for an RPO is the largest of its days'
needs (on the real traces, within a few per cent of the need of the window's whole trace: printed). The rules
are taken over the drawn days' samples as the backtest takes them (backtest.rule_mbps), replay is the
learning window's need.

The forecast here is the oracle: it knows the distribution, so its median, P90 and 80 % interval are the true
quantiles of the held-out week's need (met in 50 and 90 % of draws, the interval covering 80 %), and its
log CRPS is that of the true distribution. backtest.summarise scores every method as the backtest does, and
the issue's criteria are checked on it (backtest_bitbrains.checks). A criterion the oracle fails is one no
calibrated forecast can be expected to pass on estates whose days are like these.

`--forecast N` also lays N drawn cases per estate and learning length end to end as sample traces and runs
the real backtest on them (churnplan's forecast learns the drawn days), beside the oracle's log CRPS and PIT
for the same held-out weeks: how far the forecast is from the best any forecast could do, free of the real
month's drift.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from churnplan.analytics import bandwidth, rpo
from churnplan.analytics.forecast import backtest
from churnplan.analytics.forecast.traces import silverman
from churnplan.cli.forecast import calibration_line
from churnplan.core.units import BYTES_PER_MBPS
from churnplan.ingest import bitbrains

sys.path.insert(0, str(Path(__file__).parent))
import backtest_bitbrains as bb  # the protocol's loader, estates and criteria

LEARN_DAYS = (14, 21)
TEST_DAYS = 7
ORACLE_DRAWS = 20_000      # held-out weeks drawn to know the oracle's quantiles
SCORE_DRAWS = 1_000        # of them, the ones its log CRPS and PIT are taken over


@dataclass(frozen=True)
class EstateDays:
    """One estate's real days: the need of each day alone (Mbps, per RPO), its churn rates (Mbps per sample,
    days x samples, NaN where a day has fewer samples) and the month's first midnight."""

    need_mbps: dict[float, np.ndarray]
    rate_mbps: np.ndarray
    day0: pd.Timestamp

    def kernel(self) -> float:
        """Width of the lognormal that scales a drawn day: Silverman's bandwidth of the log daily needs at the
        shortest RPO (one width for all RPOs, so a drawn day is one day at each)."""
        need = self.need_mbps[min(self.need_mbps)]
        return silverman(np.log(np.maximum(need, backtest.LOG_FLOOR_MBPS)))


def needs_mbps(prep: rpo.PreparedChurn, rpos: tuple[float, ...]) -> dict[float, float]:
    """The estate's need for each RPO 100 % of the time over `prep` (the exact queue model, as the backtest's)."""
    curve = rpo.scope_curve(prep, prep.columns(rpo.ESTATE), 1.0)
    return {r: bandwidth.required_mbps_100(curve, r * 60.0) for r in rpos}


def estate_days(wide: pd.DataFrame, vms: list[str], day0: pd.Timestamp, rpos: tuple[float, ...]) -> EstateDays:
    """Each of the month's days taken on its own: its need per RPO (the exact queue model) and its rates."""
    needs: dict[float, list[float]] = {r: [] for r in rpos}
    rates = []
    for k in range(bb.MONTH_DAYS):
        prep = bb.case(wide, vms, day0, (k, k, k + 1))
        for r, need in needs_mbps(prep, rpos).items():
            needs[r].append(need)
        rates.append(prep.scope_bytes(prep.columns(rpo.ESTATE)) / prep.interval_s / BYTES_PER_MBPS)
    padded = np.full((len(rates), 86_400 // bitbrains.INTERVAL_S), np.nan)
    for k, r in enumerate(rates):
        padded[k, :r.size] = r
    return EstateDays({r: np.asarray(v) for r, v in needs.items()}, padded, day0)


def draw(days: EstateDays, shape: tuple[int, int], rng: np.random.Generator,
         smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exchangeable days: which real day each is (uniformly) and the factor that scales it."""
    h = days.kernel() if smooth else 0.0
    day = rng.integers(0, days.rate_mbps.shape[0], size=shape)
    return day, np.exp(rng.normal(0.0, h, size=shape)) if h > 0 else np.ones(shape)


def true_weeks(days: EstateDays, r: float, rng: np.random.Generator, smooth: bool = True) -> np.ndarray:
    """ORACLE_DRAWS needs of a held-out week at RPO `r`: the true distribution the oracle knows."""
    day, scale = draw(days, (ORACLE_DRAWS, TEST_DAYS), rng, smooth)
    return np.asarray((days.need_mbps[r][day] * scale).max(axis=1))


def window_need_ratios(wide: pd.DataFrame, vms: list[str], day0: pd.Timestamp, days: EstateDays,
                       rpos: tuple[float, ...]) -> list[float]:
    """The need of each protocol window (learning and held-out) over the largest need of its days: how well
    'a window needs what its worst day needs' holds on the real traces."""
    out = []
    for a, b, c in bb.SPLITS:
        for lo, hi in ((a, b), (b, c)):
            for r, need in needs_mbps(bb.case(wide, vms, day0, (lo, lo, hi)), rpos).items():
                worst = float(days.need_mbps[r][lo:hi].max())
                if worst > 0:
                    out.append(need / worst)
    return out


def oracle_rows(days: EstateDays, r: float, learn_days: int, pairs: int, rng: np.random.Generator,
                smooth: bool = True) -> pd.DataFrame:
    """`pairs` (learning window, held-out week) draws of exchangeable days at RPO `r`, scored per method in
    backtest.COLUMNS (the forecast: the oracle's true quantiles and distribution)."""
    weeks = true_weeks(days, r, rng, smooth)
    p10, p50, p90 = np.quantile(weeks, [0.1, 0.5, 0.9])
    truth = weeks[:SCORE_DRAWS]
    day, scale = draw(days, (pairs, learn_days + TEST_DAYS), rng, smooth)
    drawn = days.need_mbps[r][day] * scale
    replay, actual = drawn[:, :learn_days].max(axis=1), drawn[:, learn_days:].max(axis=1)
    learn_rates = (days.rate_mbps[day[:, :learn_days]] * scale[:, :learn_days, None]).reshape(pairs, -1)
    preds = {"forecast": np.full(pairs, p50), "forecast-p90": np.full(pairs, p90), "replay": replay,
             **backtest.rule_mbps(learn_rates),
             **{m: np.full(pairs, backtest.relative_bayes_act(weeks, tau)) for m, tau in backtest.SCORE_TAUS.items()}}
    rows = []
    for method in backtest.METHODS:
        own = method == "forecast"
        rows += [backtest.score_row(rpo.ESTATE, r, 100.0, method, float(p), float(y), (p10, p90) if own else None,
                                    truth if own else np.array([p]))
                 for p, y in zip(preds[method], actual, strict=True)]
    return pd.DataFrame(rows, columns=backtest.COLUMNS)


def synthetic_case(days: EstateDays, day: np.ndarray, scale: np.ndarray) -> rpo.PreparedChurn:
    """The drawn days' samples one after another from the month's first midnight, the estate as one column
    (a missing sample writes nothing, as in the backtest's cases)."""
    iv = float(bitbrains.INTERVAL_S)
    written = np.nan_to_num(days.rate_mbps[day] * scale[:, None]) * BYTES_PER_MBPS * iv
    times = days.day0.value / 1e9 + iv * np.arange(1, written.size + 1)
    vms = pd.DataFrame({"vcenter": bitbrains.VCENTER, "vm_id": ["drawn"], "name": ["drawn"], "scope": rpo.ESTATE})
    return rpo.PreparedChurn(times, iv, vms, written.reshape(-1, 1))


def forecast_rows(days: EstateDays, learn_days: int, cases: int, rng: np.random.Generator, traces: int,
                  smooth: bool = True) -> pd.DataFrame:
    """`cases` drawn (learning window, held-out week) traces run through the real backtest: the forecast learns
    the drawn days' samples. Its rows carry the oracle's log CRPS and PIT for the same held-out need."""
    rpos = tuple(days.need_mbps)
    truth = {r: true_weeks(days, r, rng, smooth) for r in rpos}
    frames = []
    for i in range(cases):
        day, scale = draw(days, (1, learn_days + TEST_DAYS), rng, smooth)
        f = backtest.backtest(synthetic_case(days, day[0], scale[0]), test_days=TEST_DAYS, scopes=[rpo.ESTATE],
                              rpos=rpos, goals=(100.0,), n_traces=traces, seed=i)
        weeks = f["rpo_min"].map(truth)
        f["oracle_crps_log"] = [backtest.crps_log(w[:SCORE_DRAWS], y) for w, y in zip(weeks, f["actual_mbps"],
                                                                                      strict=True)]
        f["oracle_pit"] = [backtest.pit(w[:SCORE_DRAWS], y) for w, y in zip(weeks, f["actual_mbps"],
                                                                             strict=True)]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=bb.DATASET)
    ap.add_argument("--estates", type=int, default=12)
    ap.add_argument("--pairs", type=int, default=500, help="Draws of (learning window, held-out week) per estate, "
                                                          "RPO and learning length.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--discrete", action="store_true", help="Draw the 28 real days as they are (no kernel).")
    ap.add_argument("--forecast", type=int, default=0, metavar="N",
                    help="Also run churnplan's forecast on N drawn cases per estate and learning length, and set "
                         "it beside the oracle on the same held-out weeks.")
    ap.add_argument("--traces", type=int, default=200, help="The forecast's simulated traces (with --forecast).")
    args = ap.parse_args()
    if not args.dataset.is_dir():
        sys.exit(f"no Bitbrains traces at {args.dataset}")
    rng, fc_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(2))
    rpos = (15.0, 30.0, 60.0)
    wide = bb.load(args.dataset)
    day0, groups = bb.estates(wide, args.estates, 12)
    frames, forecasts, ratios = [], [], []
    for e, vms in enumerate(groups):
        days = estate_days(wide, vms, day0, rpos)
        ratios += window_need_ratios(wide, vms, day0, days, rpos)
        for learn_days in LEARN_DAYS:
            for r in rpos:
                frames.append(oracle_rows(days, r, learn_days, args.pairs, rng, not args.discrete)
                              .assign(estate=e + 1, learn_days=learn_days))
            if args.forecast:
                forecasts.append(forecast_rows(days, learn_days, args.forecast, fc_rng, args.traces, not args.discrete)
                                 .assign(estate=e + 1, learn_days=learn_days))
    q = np.quantile(ratios, [0.0, 0.5, 1.0])
    print(f"a window's need / its worst day's need, {len(ratios)} real windows: "
          f"min {q[0]:.3f}, median {q[1]:.3f}, max {q[2]:.3f}")
    setting = (f"{len(groups)} estates x RPO 15/30/60 x learn {'/'.join(map(str, LEARN_DAYS))} days, "
               f"exchangeable days {'as they are' if args.discrete else 'kernel-smoothed'}")
    _report(pd.concat(frames, ignore_index=True), f"{setting} x {args.pairs} draws; forecast = the oracle")
    if forecasts:
        frame = pd.concat(forecasts, ignore_index=True)
        _report(frame, f"{setting} x {args.forecast} cases; forecast = churnplan's, learned from the drawn days")
        own = frame[(frame["method"] == "forecast") & (frame["actual_mbps"] > 0)]
        pit = own["oracle_pit"].to_numpy()
        print(f"  the oracle on the same held-out weeks: log CRPS {own['oracle_crps_log'].mean():.2f} (the "
              f"forecast's {own['crps_log'].mean():.2f}); need at or below its P50 in "
              f"{100 * (pit <= 0.5).mean():.0f} %, its P90 in {100 * (pit <= 0.9).mean():.0f} % of rows")


def _report(frame: pd.DataFrame, title: str) -> None:
    """The backtest's summary of `frame`, the issue's criteria, calibration, and the quantile losses per estate."""
    summary = backtest.summarise(frame)
    print(f"\n{title}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    for name, ok in bb.checks(summary).items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print(f"  {calibration_line(frame)}")
    per = {e: backtest.summarise(rows).set_index("method")["quantile_loss_pct"]
           for e, rows in frame.groupby("estate")}
    print("  per estate, quantile loss % (forecast-p90 / replay / dp-p95):")
    print("  " + "  ".join(f"{e}: {s['forecast-p90']:.0f}/{s['replay']:.0f}/{s['dp-p95']:.0f}" for e, s in per.items()))


if __name__ == "__main__":
    main()
