"""Per-disk performance queries: counter lookup, QueryPerf batching under maxQueryMetrics, pivot to store samples.

Every metric names its disk instance explicitly (never "*"), so a query's metric count is known before it is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC

import numpy as np
import pandas as pd
from pyVmomi import vim

from churnplan.analytics.facts import VCENTER
from churnplan.core.store import SAMPLE_COLUMNS
from churnplan.ingest.vcenter_session import CollectorError

# vCenter counter (group.name.rollup) -> store column. KB/s and commands per second, averaged over the interval.
DISK_COUNTERS = {
    "virtualDisk.write.average": "write_kbps",
    "virtualDisk.read.average": "read_kbps",
    "virtualDisk.numberWriteAveraged.average": "write_iops",
    "virtualDisk.numberReadAveraged.average": "read_iops",
}
MAX_QUERY_METRICS_OPTION = "config.vpxd.stats.maxQueryMetrics"


@dataclass(frozen=True)
class Request:
    """One VM's disks to ask for, from `start` (exclusive) onwards."""

    vm_id: str
    start: datetime
    instances: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """One QuerySpec: a VM, its start, and the (counter key, instance) metrics it asks for."""

    vm_id: str
    start: datetime
    metrics: tuple[tuple[int, str], ...]


def perf_manager(content: vim.ServiceInstanceContent) -> vim.PerformanceManager:
    """The server's PerformanceManager (optional in the API): without one there are no counters to collect."""
    if content.perfManager is None:
        raise CollectorError(f"{content.about.fullName} offers no performance manager: is the server a vCenter?")
    return content.perfManager


def counter_keys(perf_manager: vim.PerformanceManager) -> dict[int, str]:
    """Counter key -> DISK_COUNTERS name, for the counters this vCenter publishes."""
    keys = {}
    for info in perf_manager.perfCounter:
        name = f"{info.groupInfo.key}.{info.nameInfo.key}.{info.rollupType}"
        if name in DISK_COUNTERS:
            keys[info.key] = name
    missing = set(DISK_COUNTERS) - set(keys.values())
    if missing:
        raise CollectorError(f"vCenter does not publish the disk counters {', '.join(sorted(missing))}")
    return keys


def max_query_metrics(content: vim.ServiceInstanceContent) -> int:
    """vCenter's per-query metric limit from its advanced settings, or the documented default when unset."""
    if content.setting is None:  # no advanced settings to read: the default applies
        return VCENTER.max_query_metrics_default
    try:
        options = content.setting.QueryOptions(MAX_QUERY_METRICS_OPTION)
    except vim.fault.InvalidName:
        return VCENTER.max_query_metrics_default
    for option in options or []:
        try:
            value = int(str(option.value).strip())
        except ValueError:
            continue
        if value > 0:
            return value
    return VCENTER.max_query_metrics_default  # unset, or <= 0 meaning "no limit": the default is always safe


def plan_queries(requests: list[Request], counter_ids: list[int], limit: int) -> list[list[Spec]]:
    """Split every (VM, instance, counter) metric into queries of at most `limit` metrics, one Spec per VM per query.

    A VM with more metrics than the limit is spread over consecutive queries; each metric is asked for exactly once.
    """
    if limit < 1:
        raise ValueError(f"maxQueryMetrics must be positive, got {limit}")
    flat = [(r, (c, inst)) for r in requests for inst in r.instances for c in counter_ids]
    queries = []
    for first in range(0, len(flat), limit):
        specs: dict[str, tuple[Request, list]] = {}
        for request, metric in flat[first:first + limit]:
            specs.setdefault(request.vm_id, (request, []))[1].append(metric)
        queries.append([Spec(r.vm_id, r.start, tuple(m)) for r, m in specs.values()])
    return queries


def _query_specs(specs: list[Spec], interval_s: int, end: datetime) -> list[vim.PerformanceManager.QuerySpec]:
    out = []
    for spec in specs:
        samples = math.ceil((end - spec.start).total_seconds() / interval_s) + 1
        out.append(vim.PerformanceManager.QuerySpec(
            entity=vim.VirtualMachine(spec.vm_id), intervalId=interval_s, startTime=spec.start, endTime=end,
            maxSample=samples,
            metricId=[vim.PerformanceManager.MetricId(counterId=c, instance=i) for c, i in spec.metrics]))
    return out


@dataclass
class QueryResult:
    """Long-format values of one query, and how many series could not be lined up with their timestamps."""

    frame: pd.DataFrame   # vm_id, instance, counter, ts, value
    misaligned: int = 0


def query(perf_manager: vim.PerformanceManager, specs: list[Spec], counters: dict[int, str], interval_s: int,
          end: datetime) -> QueryResult:
    """Run one QueryPerf and flatten it; vCenter's -1 ("no value") becomes NaN."""
    results = perf_manager.QueryPerf(_query_specs(specs, interval_s, end)) or []
    parts, misaligned = [], 0
    for entity in results:
        times = pd.to_datetime([s.timestamp for s in entity.sampleInfo or []], utc=True)
        for series in entity.value or []:
            values = np.asarray(series.value or [], dtype="float64")
            if len(values) != len(times):
                misaligned += len(values) > 0  # values that cannot be matched to sample times are not guessed at
                continue
            values[values < 0] = np.nan
            parts.append(pd.DataFrame({
                "vm_id": entity.entity._moId, "instance": series.id.instance,
                "counter": DISK_COUNTERS.get(counters.get(series.id.counterId, "")), "ts": times, "value": values}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["vm_id", "instance", "counter", "ts", "value"])
    return QueryResult(frame, misaligned)


def pivot(long: pd.DataFrame, vcenter: str, interval_s: int) -> pd.DataFrame:
    """Long counter values -> one store sample row per (VM, instance, end time); rows with no value dropped."""
    if long.empty:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    wide = long.dropna(subset=["counter"]).groupby(["vm_id", "instance", "ts", "counter"])["value"].first()
    wide = wide.unstack("counter")
    wide = wide.reindex(columns=list(DISK_COUNTERS.values())).dropna(how="all").reset_index()
    wide.insert(0, "vcenter", vcenter)
    wide["interval_s"] = interval_s
    return wide[SAMPLE_COLUMNS]


def aligned_end(now: datetime, interval_s: int) -> datetime:
    """The latest interval boundary at or before `now` (UTC): sample end times fall on these boundaries."""
    seconds = math.floor(now.timestamp() / interval_s) * interval_s
    return datetime.fromtimestamp(seconds, tz=UTC)


def start_times(vm_ids: list[str], watermarks: dict[str, datetime], end: datetime,
                retention_s: int) -> tuple[dict[str, datetime], list[str]]:
    """Where each VM's query starts: its watermark, but no earlier than vCenter still holds; and VMs with a gap."""
    oldest = end - timedelta(seconds=retention_s)
    starts, gaps = {}, []
    for vm_id in vm_ids:
        mark = watermarks.get(vm_id)
        if mark is not None and mark < oldest:
            gaps.append(vm_id)
        start = oldest if mark is None else max(mark, oldest)
        if start < end:
            starts[vm_id] = start
    return starts, gaps
