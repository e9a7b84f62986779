"""Live vCenter collection: discover inventory, then poll per-disk counters from each VM's watermark until done.

Each poll asks from the stored watermark onward and stores its samples in one transaction, so a crash or a lost
connection neither loses nor duplicates samples. The store is opened only while writing, so other tools can read
it between polls.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from pathlib import Path
from collections.abc import Callable, Iterator

import duckdb
import pandas as pd
from pyVmomi import vmodl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from churnplan.analytics.facts import VCENTER
from churnplan.core import plausibility, store
from churnplan.ingest import vcenter_perf as perf
from churnplan.ingest.vcenter_inventory import Inventory, discover
from churnplan.ingest.vcenter_session import Backoff, CollectorError, Credentials, VCenterSession

INVENTORY_REFRESH_S = 3600


@dataclass
class CollectOptions:
    """What to collect from where, for how long."""

    server: str
    credentials: Credentials
    db: Path = Path(store.DEFAULT_DB)
    port: int = 443
    vm_names: list[str] | None = None
    duration_s: float = 0.0
    poll_s: float = 900.0
    insecure: bool = False
    backfill: bool = False
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def vcenter(self) -> str:
        """The key this vCenter's rows carry in the store."""
        return self.server if self.port == 443 else f"{self.server}:{self.port}"


@dataclass
class Summary:
    """Totals of one collection run."""

    run_id: str
    vms: int = 0
    disks: int = 0
    polls: int = 0
    added: int = 0
    offered: int = 0
    reconnects: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    by_interval: dict[int, int] = field(default_factory=dict)


@contextlib.contextmanager
def _store(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = store.connect(db, retries=120, retry_wait_s=0.5)
    try:
        yield con
    finally:
        con.close()


def _watermarks(db: Path, vcenter: str, interval_s: int) -> dict[str, datetime]:
    with _store(db) as con:
        return store.watermarks(con, vcenter, interval_s)


class Collector:
    """Runs one `churnplan collect`: inventory, optional backfill, then polls until the duration is up."""

    def __init__(self, options: CollectOptions, console: Console | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.o = options
        self.clock = clock or (lambda: datetime.now(UTC))
        self.console = console or Console(stderr=True)
        self.session = VCenterSession(options.server, options.port, options.credentials, options.insecure,
                                      options.backoff, on_reconnect=self._say_reconnect)
        self.inventory: Inventory | None = None
        self.counters: dict[int, str] = {}
        self.limit = VCENTER.max_query_metrics_default
        self._discovered_at = 0.0

    def _say_reconnect(self, message: str) -> None:
        self.console.print(f"[yellow]{message}[/]")

    def run(self) -> Summary:
        """Collect; the collection_runs record ends 'ok', 'failed' or 'interrupted' whatever happens."""
        started = self.clock()
        summary = Summary("")
        try:
            with store.run(lambda: _store(self.o.db), "vcenter", self.o.vcenter, started,
                           started + timedelta(seconds=self.o.duration_s)) as run:
                summary.run_id = run.run_id
                try:
                    self._collect(summary)
                finally:
                    summary.reconnects = self.session.reconnects
                    run.vms, run.disks = summary.vms, summary.disks
                    run.samples_added, run.samples_skipped = summary.added, summary.offered - summary.added
                    run.window_start, run.window_end = summary.window_start, summary.window_end
        finally:
            self.session.logout()
        return summary

    def _collect(self, summary: Summary) -> None:
        self.session.call(lambda content: None)
        self._refresh_inventory(summary)
        self.counters = self.session.call(lambda c: perf.counter_keys(c.perfManager))
        self.limit = self.session.call(perf.max_query_metrics)
        self.console.print(f"{self.o.vcenter}: {summary.vms} VMs, {summary.disks} disks; "
                           f"up to {self.limit} metrics per query")
        if self.o.poll_s > VCENTER.realtime_retention_s:
            self.console.print(f"[yellow]warning:[/] polling every {self.o.poll_s:g} s but vCenter keeps real-time "
                               f"samples only {VCENTER.realtime_retention_s} s: samples between polls will be lost")
        if self.o.backfill:
            self._backfill(summary)
        begin = time.monotonic()
        with self._progress() as progress:
            overall = progress.add_task("collecting", total=max(self.o.duration_s, 1))
            while True:
                if time.monotonic() - self._discovered_at > INVENTORY_REFRESH_S:
                    self._refresh_inventory(summary)
                added = self._poll(summary, VCENTER.realtime_interval_s, VCENTER.realtime_retention_s,
                                   progress)
                summary.polls += 1
                elapsed = time.monotonic() - begin
                progress.update(overall, completed=min(elapsed, self.o.duration_s) if self.o.duration_s else 1,
                                description=f"poll {summary.polls}: +{added:,} samples, {summary.added:,} in all")
                next_at = summary.polls * self.o.poll_s
                if self.o.duration_s <= 0 or next_at > self.o.duration_s:
                    break
                time.sleep(max(0.0, next_at - (time.monotonic() - begin)))

    def _progress(self) -> Progress:
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=self.console, transient=False)

    def _refresh_inventory(self, summary: Summary) -> None:
        inventory = self.session.call(lambda c: discover(c, self.o.vcenter, self.o.vm_names))
        if inventory.missing_names:
            self.console.print(f"[yellow]warning:[/] {len(inventory.missing_names)} VM(s) from the list not found "
                               f"in {self.o.vcenter}: {', '.join(inventory.missing_names[:10])}"
                               + (" ..." if len(inventory.missing_names) > 10 else ""))
        if inventory.skipped:
            self.console.print(f"{len(inventory.skipped)} template(s) or unreadable VM(s) skipped")
        if inventory.vms.empty:
            raise CollectorError(f"{self.o.vcenter}: no VMs to collect"
                                 + (" (none of the listed names exist)" if self.o.vm_names else ""))
        about, stats_level = self.session.call(
            lambda c: (c.about.fullName, min((i.level for i in c.perfManager.historicalInterval or []
                                               if i.enabled), default=None)))
        with _store(self.o.db) as con, store.transaction(con):
            store.upsert_vcenter(con, self.o.vcenter, about, stats_level)
            store.upsert_vms(con, inventory.vms)
            store.upsert_disks(con, inventory.disks)
        self.inventory = inventory
        self._discovered_at = time.monotonic()
        summary.vms, summary.disks = len(inventory.vms), len(inventory.disks)

    def _backfill(self, summary: Summary) -> None:
        intervals = self.session.call(lambda c: list(c.perfManager.historicalInterval or []))
        usable = [i for i in intervals if i.enabled]
        if not usable:
            self.console.print(f"[yellow]warning:[/] {self.o.vcenter} keeps no historical statistics intervals; "
                               "nothing to backfill")
            return
        with self._progress() as progress:
            for interval in sorted(usable, key=lambda i: i.samplingPeriod):
                if interval.level < VCENTER.disk_counter_min_level:
                    self.console.print(
                        f"[yellow]warning:[/] statistics level for '{interval.name}' ({interval.samplingPeriod} s) "
                        f"is {interval.level}; vCenter keeps per-disk counters only at level "
                        f"{VCENTER.disk_counter_min_level} or above, so it holds no disk history to backfill. "
                        f"Raise the level to {VCENTER.disk_counter_min_level} in vCenter > Configure > "
                        "Statistics to keep it from now on.")
                    continue
                self._poll(summary, interval.samplingPeriod, interval.length, progress)

    def _query(self, specs: list[perf.Spec], interval_s: int, end: datetime) -> list[perf.QueryResult]:
        """One batch; if vCenter rejects it (say a VM was deleted since discovery), ask VM by VM and skip the bad."""
        def ask(c, chosen):
            return perf.query(c.perfManager, chosen, self.counters, interval_s, end)
        try:
            return [self.session.call(lambda c: ask(c, specs))]
        except vmodl.MethodFault as exc:
            if len(specs) == 1:
                self.console.print(f"[yellow]warning:[/] {specs[0].vm_id}: vCenter refused its performance query "
                                   f"({type(exc).__name__}); skipped this poll")
                self._discovered_at = float("-inf")  # look at the inventory again before the next poll
                return []
        return [r for spec in specs for r in self._query([spec], interval_s, end)]

    def _poll(self, summary: Summary, interval_s: int, retention_s: int, progress: Progress) -> int:
        """Ask every powered-on VM for its samples since its watermark; store them; return rows added."""
        end = perf.aligned_end(self.clock(), interval_s)
        inventory = self.inventory
        instances = inventory.disks.groupby("vm_id")["instance"].agg(tuple).to_dict()
        vm_ids = [v for v in inventory.powered_on_ids() if instances.get(v)]
        starts, gaps = perf.start_times(vm_ids, _watermarks(self.o.db, self.o.vcenter, interval_s), end,
                                        retention_s)
        if gaps:
            self.console.print(f"[yellow]warning:[/] {len(gaps)} VM(s) were last collected more than {retention_s} s "
                               f"ago; vCenter no longer holds the {interval_s} s samples in between")
        requests = [perf.Request(v, starts[v], instances[v]) for v in vm_ids if v in starts]
        queries = perf.plan_queries(requests, sorted(self.counters), self.limit)
        task = progress.add_task(f"{interval_s} s samples to {end:%H:%M:%S}Z", total=len(queries))
        frames, misaligned = [], 0
        for specs in queries:
            for result in self._query(specs, interval_s, end):
                frames.append(result.frame)
                misaligned += result.misaligned
            progress.advance(task)
        progress.remove_task(task)
        if misaligned:
            self.console.print(f"[yellow]warning:[/] {misaligned} series came back with fewer values than "
                               "timestamps and were left out")
        samples = perf.pivot(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
                             self.o.vcenter, interval_s)
        implausible = plausibility.implausible_rows(samples, now=self.clock()) if len(samples) else None
        if implausible is not None and implausible.any():
            fault = plausibility.first_fault(samples[implausible], now=self.clock())
            self.console.print(f"[yellow]warning:[/] {int(implausible.sum())} implausible sample(s) left out "
                               f"(e.g. {fault.field if fault else '?'}: {fault.message if fault else ''})")
            samples = samples[~implausible]
        with _store(self.o.db) as con, store.transaction(con):
            added = store.insert_samples(con, samples)
        summary.added += added
        summary.offered += len(samples)
        summary.by_interval[interval_s] = summary.by_interval.get(interval_s, 0) + added
        if requests:
            first = min(r.start for r in requests)
            summary.window_start = min(summary.window_start or first, first)
            summary.window_end = max(summary.window_end or end, end)
        return added
