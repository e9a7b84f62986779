"""The link each queue drains into: the bandwidth given, the throttle schedule, or the plan's own requirement.

A process server gets its share of a given bandwidth or schedule in proportion to its churn per day; with
nothing given every scope gets the bandwidth it needs to meet the RPO all of the time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from churnplan.analytics.config import PlanConfig, ThrottleSchedule
from churnplan.analytics.stages.bandwidth_table import BandwidthTable
from churnplan.analytics.vocabulary import Scope
from churnplan.core.units import HOURS_PER_WEEK, SECONDS_PER_HOUR


@dataclass(frozen=True)
class Link:
    """A constant bandwidth or a throttle schedule (which wins when both are set)."""

    bandwidth_mbps: float | None = None
    throttle: ThrottleSchedule | None = None


def work_hours_per_week(throttle: ThrottleSchedule) -> float:
    """Hours per week the schedule's work-hours bandwidth applies."""
    span = datetime.combine(datetime.min, throttle.work_end) - datetime.combine(datetime.min, throttle.work_start)
    return span.total_seconds() / SECONDS_PER_HOUR * len(throttle.workdays)


def planned_mbps(config: PlanConfig, table: BandwidthTable) -> float:
    """The link the plan counts on: the given bandwidth, a schedule's weekly average, else the 100 % figure."""
    if config.throttle is not None:  # the schedule's weekly average carries initial replication
        th = config.throttle
        work_h = work_hours_per_week(th)
        return (th.work_mbps * work_h + th.offhours_mbps * (HOURS_PER_WEEK - work_h)) / HOURS_PER_WEEK
    if config.bandwidth_mbps is not None:
        return config.bandwidth_mbps
    return table.required(Scope.ESTATE, config.rpo_min, 100.0) or 0.0


def links(config: PlanConfig, servers: pd.DataFrame, table: BandwidthTable, estate_gib_day: float) -> dict[str, Link]:
    """The link of the estate and of each process server."""
    names = [str(s) for s in servers["server"]] if len(servers) else []
    share = {str(s): (float(g) / estate_gib_day if estate_gib_day > 0 else 1.0 / max(len(servers), 1))
             for s, g in zip(names, servers["churn_gib_day"] if len(servers) else [], strict=True)}
    out = {}
    for scope in [Scope.ESTATE.value] + names:
        k = 1.0 if scope == Scope.ESTATE else share[scope]
        if config.throttle is not None:
            th = config.throttle
            out[scope] = Link(throttle=replace(th, work_mbps=th.work_mbps * k, offhours_mbps=th.offhours_mbps * k))
        elif config.bandwidth_mbps is not None:
            out[scope] = Link(bandwidth_mbps=config.bandwidth_mbps * k)
        else:
            out[scope] = Link(bandwidth_mbps=table.required(scope, config.rpo_min, 100.0) or 0.0)
    return out
