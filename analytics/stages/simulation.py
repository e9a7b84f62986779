"""Stage 5, simulation: each scope's FIFO queue replayed on its link at every RPO target; the estate's
compliance-by-bandwidth curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import constant_rate, queue, rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.rpo import WhatIf
from churnplan.analytics.stages.links import Link
from churnplan.analytics.workers import WORKERS
from churnplan.analytics.vocabulary import Scope
from churnplan.core.units import SECONDS_PER_DAY

CURVE_POINTS = 16
RPO_COLUMNS = ["scope", "bandwidth_mbps", "rpo_min", "compliance_pct", "max_lag_min"]


@dataclass(frozen=True)
class Simulation:
    """Every scope's outcome: compliance per RPO, and lag and daily figures at the desired RPO."""

    rpo: pd.DataFrame                   # scope, bandwidth_mbps (NaN under a throttle), rpo_min, compliance_pct, ...
    outcomes: Mapping[str, WhatIf]      # per scope, at the desired RPO
    lag_series: pd.DataFrame            # ts, scope, lag_min, backlog_mib
    daily_lag: pd.DataFrame             # date, scope, peak_lag_min, violations_min

    @property
    def estate(self) -> WhatIf:
        """The estate's outcome at the desired RPO."""
        return self.outcomes[Scope.ESTATE]


def simulate_scope(churn: rpo.PreparedChurn, scope: str, link: Link, rpo_min: float, config: PlanConfig,
                   per_vm: bool = False, series: bool = True) -> rpo.WhatIf:
    """One scope's queue (its VMs' churn only, x growth x compression) drained by `link` against `rpo_min`
    (`series` False: its figures only, no lag series or daily table)."""
    return rpo.what_if(churn, bandwidth_mbps=link.bandwidth_mbps, throttle=link.throttle, rpo_min=rpo_min,
                       growth_pct=config.growth_pct, compression=config.compression, scope=scope, per_vm=per_vm,
                       series=series)


def simulate(churns: Mapping[str, rpo.PreparedChurn], links: Mapping[str, Link], rpos: Sequence[float],
             config: PlanConfig) -> Simulation:
    """Every scope at every RPO (in parallel: scopes are independent and numpy releases the GIL).

    Per-VM fair-share misses are worked out for the estate at the desired RPO when a link was given.
    """
    given = config.link_given
    cases = [(scope, r) for scope in churns for r in rpos]

    def run(case: tuple[str, float]) -> rpo.WhatIf:
        scope, r = case
        per_vm = given and r == config.rpo_min and scope == Scope.ESTATE
        return simulate_scope(churns[scope], scope, links[scope], r, config, per_vm,
                              series=r == config.rpo_min)   # the other RPOs give only their table rows

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(run, cases))
    rows, outcomes = [], {}
    for (scope, r), w in zip(cases, results, strict=True):
        mbps = links[scope].bandwidth_mbps if links[scope].throttle is None else None
        rows.append((scope, float("nan") if mbps is None else mbps, r, w.compliance_pct, w.max_lag_min))
        if r == config.rpo_min:
            outcomes[scope] = w
    lag = pd.concat([w.lag.assign(scope=s) for s, w in outcomes.items()], ignore_index=True)
    daily = pd.concat([whole_days(w.daily, w.lag, churns[s]).assign(scope=s) for s, w in outcomes.items()],
                      ignore_index=True)
    return Simulation(rpo=pd.DataFrame(rows, columns=RPO_COLUMNS), outcomes=outcomes,
                      lag_series=lag[["ts", "scope", "lag_min", "backlog_mib"]],
                      daily_lag=daily[["date", "scope", "peak_lag_min", "violations_min"]])


def whole_days(daily: pd.DataFrame, lag: pd.DataFrame, churn: rpo.PreparedChurn) -> pd.DataFrame:
    """The daily rows of days holding at least half the samples of the fullest day: a day with a few samples (the
    window's partial first or last day, e.g. a 15th day of one sample after 14 whole days) is dropped from daily
    tables, not shown as a day. A profile shorter than a day keeps its one day."""
    if daily.empty or lag.empty:
        return daily
    local = pd.DatetimeIndex(pd.to_datetime(lag["ts"], utc=True)).tz_convert(churn.timezone).tz_localize(None)
    days, counts = np.unique(local.to_numpy().astype("datetime64[D]"), return_counts=True)   # samples per local day
    per_day = dict(zip(pd.DatetimeIndex(days).date, counts.tolist(), strict=True))
    half = min(float(counts.max()), SECONDS_PER_DAY / churn.interval_s) / 2
    keep = [per_day.get(pd.Timestamp(d).date(), 0) >= half for d in daily["date"]]
    return daily[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def compliance_curve(curve: queue.Curve, top_mbps: float, rpo_min: float) -> pd.DataFrame:
    """Compliance of the estate at CURVE_POINTS bandwidths up to `top_mbps` (the 100 % figure)."""
    top = max(top_mbps, 1e-6)
    rows = []
    for mbps in np.linspace(top / CURVE_POINTS, top, CURVE_POINTS):
        pct = constant_rate.compliance_pct(curve, float(mbps), rpo_min)
        rows.append({"scope": Scope.ESTATE.value, "bandwidth_mbps": float(mbps), "compliance_pct": pct})
    return pd.DataFrame(rows)
