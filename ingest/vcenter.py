"""Live vCenter collection: discover inventory, then poll per-disk counters from each VM's watermark until done.

Every poll goes to the Parquet spool first (durable, whole files), then the spool is drained into the store
whenever the store's write lock can be had. A reader holding the store (a notebook, a DuckDB shell, a long
report) therefore never stops a collection: the collector keeps polling, says it is waiting, and retries with
backoff. A restart drains what an earlier run left in the spool. Re-draining is harmless (samples are keyed),
and each VM is asked only for samples newer than its watermark, so a crash neither loses nor duplicates samples.
Several vCenters are collected side by side; their rows are keyed by vcenter.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from pathlib import Path

import duckdb
import pandas as pd
from pyVmomi import vmodl
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from churnplan.analytics.facts import VCENTER
from churnplan.core import plausibility, store
from churnplan.core.store.runs import Run, RunStatus, finish_run, start_run
from churnplan.ingest import vcenter_perf as perf
from churnplan.ingest.collector_status import StatusFile
from churnplan.ingest.spool import Spool, consumer_key
from churnplan.ingest.spool_store import DrainResult, drain
from churnplan.ingest.vcenter_inventory import Inventory, discover
from churnplan.ingest.vcenter_session import Backoff, CollectorError, Credentials, VCenterSession

INVENTORY_REFRESH_S = 3600
STORE_RETRY_FIRST_S = 1.0
STORE_RETRY_MAX_S = 30.0
START_LOCK_WAIT_S = 5.0
log = logging.getLogger("churnplan.collect")


@dataclass
class Server:
    """One vCenter to collect from, with its own login and (optionally) its own VM list."""

    host: str
    port: int = 443
    credentials: Credentials | None = None
    vm_names: list[str] | None = None

    @property
    def vcenter(self) -> str:
        """The key this vCenter's rows carry in the store and the spool."""
        return self.host if self.port == 443 else f"{self.host}:{self.port}"


@dataclass
class CollectOptions:
    """What to collect from where, for how long, and where it goes (a store, a spool, or both).

    `server`/`port`/`credentials`/`vm_names` describe a single vCenter; `servers` lists several.
    Without `spool`, a private spool beside the store (`<db>.spool`) buffers polls and is emptied as it drains;
    with it, the spool is kept as the exchange layout (and drained into `db` too when a store is given).
    """

    server: str = ""
    credentials: Credentials | None = None
    db: Path | None = Path(store.DEFAULT_DB)
    port: int = 443
    vm_names: list[str] | None = None
    duration_s: float = 0.0
    poll_s: float = 900.0
    insecure: bool = False
    backfill: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    servers: list[Server] = field(default_factory=list)
    spool: Path | None = None
    call_timeout_s: float = 30.0
    drain_wait_s: float = 300.0
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not self.servers:
            if not self.server:
                raise ValueError("no vCenter to collect from: give --server or a config file with servers")
            self.servers = [Server(self.server, self.port, self.credentials, self.vm_names)]
        names = [s.vcenter for s in self.servers]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"a vCenter is listed twice: {', '.join(twice)}")
        if self.db is None and self.spool is None:
            raise ValueError("nowhere to write: give a store (--db), a spool (--spool), or both")

    @property
    def vcenter(self) -> str:
        return self.servers[0].vcenter

    @property
    def spool_root(self) -> Path:
        return self.spool if self.spool is not None else private_spool(self.db)


def private_spool(db: Path | None) -> Path:
    """Where the collector buffers polls for the store `db` when no spool is named: `<db>.spool` beside it."""
    return Path(f"{db}.spool")


@dataclass
class Summary:
    """Totals of one collection run (of one vCenter, or of all of them)."""

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


class Source:
    """One vCenter being collected: its session, inventory, counters and in-memory watermarks."""

    def __init__(self, server: Server, options: CollectOptions, on_reconnect: Callable[[str], None]) -> None:
        if server.credentials is None:
            raise ValueError(f"{server.vcenter}: no credentials")
        self.server = server
        self.vcenter = server.vcenter
        self.session = VCenterSession(server.host, server.port, server.credentials, options.insecure,
                                      options.backoff, options.call_timeout_s, on_reconnect=on_reconnect)
        self.inventory: Inventory | None = None
        self.counters: dict[int, str] = {}
        self.limit = VCENTER.max_query_metrics_default
        self.discovered_at = 0.0
        self.marks: dict[int, dict[str, datetime]] = {}   # interval_s -> vm_id -> newest sample end spooled
        self.summary = Summary("")
        self.failure: str | None = None   # why its last poll failed, while the other vCenters go on

    def remember(self, marks: pd.DataFrame) -> None:
        """Raise watermarks to those in `marks` (vm_id, interval_s, last_ts); never lowers one."""
        for vm_id, interval_s, last in marks[["vm_id", "interval_s", "last_ts"]].itertuples(index=False):
            last = pd.Timestamp(last)
            last = last.tz_localize(UTC) if last.tzinfo is None else last.tz_convert(UTC)
            held = self.marks.setdefault(int(interval_s), {})
            if vm_id not in held or held[vm_id] < last:
                held[vm_id] = last.to_pydatetime()


def _lock_holder(exc: BaseException) -> str | None:
    """'PID n' of the process holding a DuckDB lock, when the error names it."""
    match = re.search(r"PID (\d+)", str(exc))
    return f"PID {match.group(1)}" if match else None


class Collector:
    """Runs one `churnplan collect`: inventory, optional backfill, then polls until the duration is up."""

    def __init__(self, options: CollectOptions, console: Console | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.o = options
        self.clock = clock or (lambda: datetime.now(UTC))
        self.console = console or Console(stderr=True)
        self.spool = Spool(options.spool_root)
        self.consumer = consumer_key(options.db) if options.db is not None else ""
        self.status = StatusFile(options.spool_root, options.db, [s.vcenter for s in options.servers])
        self.sources = [Source(s, options, self._reconnect_reporter(s.vcenter)) for s in options.servers]
        self._retry_delay = 0.0
        self._next_store_try = 0.0
        self._waiting_since: float | None = None
        self._timezone_recorded = False

    # --- messages ----------------------------------------------------------------------------------------------
    def say(self, message: str, warning: bool = False) -> None:
        """Tell the operator (console) and the log file; messages never hold the password."""
        prefix = "[yellow]warning:[/] " if warning else ""
        self.console.print(prefix + escape(message))
        (log.warning if warning else log.info)(message)

    def _reconnect_reporter(self, vcenter: str) -> Callable[[str], None]:
        def report(message: str) -> None:
            self.console.print(f"[yellow]{escape(message)}[/]")
            log.warning(message)
            waiting = "logging in again" in message
            self.status.vcenter(vcenter)["state"] = "waiting on vCenter" if waiting else "collecting"
            if waiting:
                self.status.error(vcenter, message)
            self.status.save()
        return report

    @property
    def limit(self) -> int:
        return self.sources[0].limit

    # --- the store, when it can be had ----------------------------------------------------------------------
    def _open_store(self, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection | None:
        """The store opened for writing, or None while another process holds its lock."""
        assert self.o.db is not None
        retries = int(wait_s / 0.5)
        try:
            return store.connect(self.o.db, retries=retries, retry_wait_s=0.5)
        except store.StoreBusy as exc:
            self._note_waiting(exc.__cause__ or exc)
            return None

    def _note_waiting(self, cause: BaseException) -> None:
        now = time.monotonic()
        pending = len(self.spool.pending(self.consumer))
        if self._waiting_since is None:
            self._waiting_since = now
            holder = _lock_holder(cause)
            self.say(f"store {self.o.db} is locked by another process{f' ({holder})' if holder else ''}; "
                     f"collecting on into the spool {self.o.spool_root} and writing to the store when it frees",
                     warning=True)
        self._retry_delay = min(max(STORE_RETRY_FIRST_S, self._retry_delay * 2), STORE_RETRY_MAX_S)
        self._next_store_try = now + self._retry_delay
        self.status.data.update(store_state="waiting for the store lock", pending_files=pending,
                                waiting_since=self.status.data["waiting_since"] or
                                datetime.now(UTC).isoformat(timespec="seconds"))
        self.status.save()
        log.info("store locked; %d spool file(s) wait; next try in %g s", pending, self._retry_delay)

    def _with_store(self, action: Callable[[duckdb.DuckDBPyConnection], None], wait_s: float = 0.0) -> bool:
        """Open the store, drain the spool into it, run `action`; False (and a waiting status) while locked."""
        con = self._open_store(wait_s)
        if con is None:
            return False
        try:
            self._start_runs(con)
            self._stored(drain(self.spool, con, self.consumer, delete=self.o.spool is None))
            action(con)   # after the drain is counted, so run records include it
        finally:
            con.close()
        return True

    def _stored(self, result: DrainResult) -> None:
        if self._waiting_since is not None:
            self.say(f"store {self.o.db} free again after {time.monotonic() - self._waiting_since:.0f} s: "
                     f"{result.files} spool file(s), {result.samples_added:,} new samples written")
        self._waiting_since = None
        self._retry_delay = 0.0
        for source in self.sources:
            added = result.added_by_vcenter.get(source.vcenter, 0)
            source.summary.added += added
            self.status.vcenter(source.vcenter)["samples_stored"] += added
        self.status.data.update(store_state="ok", waiting_since=None, pending_files=0)
        self.status.save()

    def _store_now(self) -> bool:
        """Drain the spool into the store if one is configured and the lock is free (or spool only: True)."""
        if self.o.db is None:
            return True
        return self._with_store(lambda con: None)

    def _start_runs(self, con: duckdb.DuckDBPyConnection) -> None:
        for source in self.sources:
            if not source.summary.run_id:
                source.summary.run_id = start_run(
                    con, "vcenter", source.vcenter, self._started,
                    self._started + timedelta(seconds=self.o.duration_s))
                self.status.vcenter(source.vcenter)["run_id"] = source.summary.run_id
        if self.o.timezone and not self._timezone_recorded:
            store.record_estate_timezone(con, self.o.timezone)
            self._timezone_recorded = True

    # --- the run -----------------------------------------------------------------------------------------------
    def run(self) -> Summary:
        """Collect; each vCenter's collection_runs record ends 'ok', 'failed' or 'interrupted' whatever happens."""
        self._started = self.clock()
        self.spool.remove_stale_temporaries()
        if self.o.timezone:   # the layout carries the site's zone to whoever reads it (import parquet, Spark)
            self.spool.record_estate_zone(self.o.timezone)
        self.status.save()
        self._resume()
        status, detail = "failed", None
        try:
            self._collect()
            status = "ok"
        except KeyboardInterrupt:
            status, detail = "interrupted", "stopped; run again to resume from the watermarks"
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            for source in self.sources:
                self.status.error(source.vcenter, detail)
            raise
        finally:
            for source in self.sources:
                source.summary.reconnects = source.session.reconnects
                source.session.logout()
            self._finish(status, detail)
        failed = [s for s in self.sources if s.failure]
        if failed:   # recorded per vCenter above; the command still ends in an error naming them
            raise CollectorError("; ".join(s.failure or "" for s in failed)
                                 + (" (the other vCenters were collected to the end)"
                                    if len(failed) < len(self.sources) else ""))
        return self.summary()

    def summary(self) -> Summary:
        """This run's totals over all vCenters (the one vCenter's own when there is one)."""
        if len(self.sources) == 1:
            return self.sources[0].summary
        total = Summary(",".join(s.summary.run_id for s in self.sources))
        for s in (source.summary for source in self.sources):
            total.vms += s.vms
            total.disks += s.disks
            total.polls = max(total.polls, s.polls)
            total.added += s.added
            total.offered += s.offered
            total.reconnects += s.reconnects
            for interval, n in s.by_interval.items():
                total.by_interval[interval] = total.by_interval.get(interval, 0) + n
        return total

    def summaries(self) -> dict[str, Summary]:
        return {s.vcenter: s.summary for s in self.sources}

    def _resume(self) -> None:
        """Drain what an earlier run left in the spool, start the run records, and load every watermark."""
        store_marks: dict[str, pd.DataFrame] = {}

        def read_marks(con: duckdb.DuckDBPyConnection) -> None:
            for source in self.sources:
                store_marks[source.vcenter] = store.vcenter_watermarks(con, source.vcenter)

        if self.o.db is not None:
            leftover = len(self.spool.pending(self.consumer))
            if self._with_store(read_marks, wait_s=START_LOCK_WAIT_S):
                for source in self.sources:
                    source.summary.added = 0   # what an earlier run left is not this run's
                    self.status.vcenter(source.vcenter)["samples_stored"] = 0
                if leftover:
                    self.say(f"took in {leftover} spool file(s) an earlier run left in {self.o.spool_root}")
        for source in self.sources:
            if source.vcenter in store_marks:
                source.remember(store_marks[source.vcenter])
            source.remember(self.spool.watermarks(source.vcenter))

    def _finish(self, status: str, detail: str | None) -> None:
        """Write what is left into the store (waiting up to drain_wait_s for its lock) and close the run records."""
        def close_runs(con: duckdb.DuckDBPyConnection) -> None:
            for source in self.sources:
                s = source.summary
                own, why = ("failed", source.failure) if source.failure and status == "ok" else (status, detail)
                finish_run(con, Run(s.run_id, vms=s.vms, disks=s.disks, samples_added=s.added,
                                    samples_skipped=s.offered - s.added, window_start=s.window_start,
                                    window_end=s.window_end, detail=why), RunStatus(own))

        done = self.o.db is None
        if not done:
            deadline = time.monotonic() + self.o.drain_wait_s
            while not (done := self._with_store(close_runs)):
                if time.monotonic() >= deadline:
                    break
                time.sleep(max(0.0, min(self._next_store_try, deadline) - time.monotonic()))
        if not done:
            pending = len(self.spool.pending(self.consumer))
            self.say(f"the store {self.o.db} stayed locked for {self.o.drain_wait_s:g} s after the collection; "
                     f"{pending} spool file(s) wait in {self.o.spool_root}: the next `churnplan collect` takes them "
                     f"in, or run `churnplan import parquet {self.o.spool_root} --db {self.o.db}`", warning=True)
        self.status.data["state"] = {"ok": "finished"}.get(status, status) if done else "finished, spool not drained"
        for source in self.sources:
            self.status.vcenter(source.vcenter)["state"] = (
                "failed" if source.failure and status == "ok" else "done" if status == "ok" else status)
        self.status.save()

    def _collect(self) -> None:
        for source in self.sources:
            self._connect(source)
        self._store_now()
        if self.o.poll_s > VCENTER.realtime_retention_s:
            self.say(f"polling every {self.o.poll_s:g} s but vCenter keeps real-time samples only "
                     f"{VCENTER.realtime_retention_s} s: samples between polls will be lost", warning=True)
        if self.o.backfill:
            for source in self.sources:
                self._backfill(source)
            self._store_now()
        begin = time.monotonic()
        polls = 0
        with self._progress() as progress:
            overall = progress.add_task("collecting", total=max(self.o.duration_s, 1))
            while True:
                added = sum(self._poll_isolated(source, progress) for source in self.sources)
                polls += 1
                if self.o.db is None or time.monotonic() >= self._next_store_try:
                    self._store_now()
                elapsed = time.monotonic() - begin
                progress.update(overall, completed=min(elapsed, self.o.duration_s) if self.o.duration_s else 1,
                                description=f"poll {polls}: +{added:,} samples spooled, "
                                            f"{sum(s.summary.added for s in self.sources):,} stored")
                next_at = polls * self.o.poll_s
                if self.o.duration_s <= 0 or next_at > self.o.duration_s:
                    break
                self._wait(begin + next_at)

    def _poll_isolated(self, source: Source, progress: Progress) -> int:
        """One real-time poll of one vCenter. With several vCenters, one that stays unreachable through the
        re-login backoff is retried at the next poll while the others go on (vCenter keeps an hour of samples)."""
        try:
            if time.monotonic() - source.discovered_at > INVENTORY_REFRESH_S:
                self._refresh_inventory(source)
            added = self._poll(source, VCENTER.realtime_interval_s, VCENTER.realtime_retention_s, progress)
        except CollectorError as exc:
            if len(self.sources) == 1:
                raise
            source.failure = str(exc)
            self.say(f"{exc}; the other vCenters go on, and this one is tried again at the next poll", warning=True)
            self.status.error(source.vcenter, str(exc))
            self.status.vcenter(source.vcenter)["state"] = "unreachable"
            self.status.save()
            return 0
        if source.failure:
            self.say(f"{source.vcenter}: collecting again")
            source.failure = None
        source.summary.polls += 1
        return added

    def _wait(self, until: float) -> None:
        """Sleep until the next poll, trying the store in between while it is locked and the spool has files."""
        while (left := until - time.monotonic()) > 0:
            if self._waiting_since is not None and time.monotonic() >= self._next_store_try:
                self._store_now()
                continue
            wake = self._next_store_try if self._waiting_since is not None else until
            time.sleep(max(0.0, min(left, wake - time.monotonic())))

    def _progress(self) -> Progress:
        return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=self.console, transient=False)

    def _connect(self, source: Source) -> None:
        source.session.call(lambda content: None)
        self._refresh_inventory(source)
        source.counters = source.session.call(lambda c: perf.counter_keys(perf.perf_manager(c)))
        source.limit = source.session.call(perf.max_query_metrics)
        self.status.vcenter(source.vcenter)["state"] = "collecting"
        self.say(f"{source.vcenter}: {source.summary.vms} VMs, {source.summary.disks} disks; "
                 f"up to {source.limit} metrics per query")

    def _refresh_inventory(self, source: Source) -> None:
        vcenter, names = source.vcenter, source.server.vm_names
        inventory = source.session.call(lambda c: discover(c, vcenter, names))
        if inventory.missing_names:
            self.say(f"{len(inventory.missing_names)} VM(s) from the list not found in {vcenter}: "
                     f"{', '.join(inventory.missing_names[:10])}" + (" ..." if len(inventory.missing_names) > 10
                                                                     else ""), warning=True)
        if inventory.skipped:
            self.say(f"{len(inventory.skipped)} template(s) or unreadable VM(s) skipped")
        if inventory.vms.empty:
            raise CollectorError(f"{vcenter}: no VMs to collect" + (" (none of the listed names exist)"
                                                                     if names else ""))
        about, stats_level = source.session.call(
            lambda c: (c.about.fullName, min((i.level for i in perf.perf_manager(c).historicalInterval or []
                                               if i.enabled and i.level is not None), default=None)))
        self.spool.write("vcenters", pd.DataFrame([{"vcenter": vcenter, "version": about,
                                                    "stats_level": stats_level}]))
        self.spool.write("vms", inventory.vms)
        self.spool.write("disks", inventory.disks)
        source.inventory = inventory
        source.discovered_at = time.monotonic()
        source.summary.vms, source.summary.disks = len(inventory.vms), len(inventory.disks)

    def _backfill(self, source: Source) -> None:
        intervals = source.session.call(lambda c: list(perf.perf_manager(c).historicalInterval or []))
        usable = [i for i in intervals if i.enabled]
        if not usable:
            self.say(f"{source.vcenter} keeps no historical statistics intervals; nothing to backfill", warning=True)
            return
        with self._progress() as progress:
            for interval in sorted(usable, key=lambda i: i.samplingPeriod):
                if interval.level is None or interval.level < VCENTER.disk_counter_min_level:
                    self.say(
                        f"statistics level for '{interval.name}' ({interval.samplingPeriod} s) "
                        f"is {interval.level}; vCenter keeps per-disk counters only at level "
                        f"{VCENTER.disk_counter_min_level} or above, so it holds no disk history to backfill. "
                        f"Raise the level to {VCENTER.disk_counter_min_level} in vCenter > Configure > "
                        "Statistics to keep it from now on.", warning=True)
                    continue
                self._poll(source, interval.samplingPeriod, interval.length, progress)

    def _query(self, source: Source, specs: list[perf.Spec], interval_s: int,
               end: datetime) -> list[perf.QueryResult]:
        """One batch; if vCenter rejects it (say a VM was deleted since discovery), ask VM by VM and skip the bad."""
        def ask(c, chosen):
            return perf.query(perf.perf_manager(c), chosen, source.counters, interval_s, end)
        try:
            return [source.session.call(lambda c: ask(c, specs))]
        except vmodl.MethodFault as exc:
            if len(specs) == 1:
                self.say(f"{specs[0].vm_id}: vCenter refused its performance query ({type(exc).__name__}); "
                         "skipped this poll", warning=True)
                source.discovered_at = float("-inf")  # look at the inventory again before the next poll
                return []
        return [r for spec in specs for r in self._query(source, [spec], interval_s, end)]

    def _poll(self, source: Source, interval_s: int, retention_s: int, progress: Progress) -> int:
        """Ask every powered-on VM for its samples since its watermark; spool the new ones; return their count."""
        end = perf.aligned_end(self.clock(), interval_s)
        inventory = source.inventory
        assert inventory is not None
        instances = inventory.disks.groupby("vm_id")["instance"].agg(tuple).to_dict()
        vm_ids = [v for v in inventory.powered_on_ids() if instances.get(v)]
        marks = source.marks.setdefault(interval_s, {})
        starts, gaps = perf.start_times(vm_ids, marks, end, retention_s)
        if gaps:
            self.say(f"{len(gaps)} VM(s) of {source.vcenter} were last collected more than {retention_s} s ago; "
                     f"vCenter no longer holds the {interval_s} s samples in between", warning=True)
        requests = [perf.Request(v, starts[v], instances[v]) for v in vm_ids if v in starts]
        queries = perf.plan_queries(requests, sorted(source.counters), source.limit)
        task = progress.add_task(f"{source.vcenter}: {interval_s} s samples to {end:%H:%M:%S}Z", total=len(queries))
        frames, misaligned = [], 0
        for specs in queries:
            for result in self._query(source, specs, interval_s, end):
                frames.append(result.frame)
                misaligned += result.misaligned
            progress.advance(task)
        progress.remove_task(task)
        if misaligned:
            self.say(f"{misaligned} series came back with fewer values than timestamps and were left out",
                     warning=True)
        samples = perf.pivot(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
                             source.vcenter, interval_s)
        samples = newer_than_marks(samples, marks)
        implausible = plausibility.implausible_rows(samples, now=self.clock()) if len(samples) else None
        if implausible is not None and implausible.any():
            fault = plausibility.first_fault(samples[implausible], now=self.clock())
            self.say(f"{int(implausible.sum())} implausible sample(s) from {source.vcenter} left out "
                     f"(e.g. {fault.field if fault else '?'}: {fault.message if fault else ''})", warning=True)
            samples = samples[~implausible].reset_index(drop=True)
        self.spool.write("samples", samples)
        summary = source.summary
        if not samples.empty:
            newest = samples.groupby("vm_id")["ts"].max()
            marks.update({vm_id: ts.to_pydatetime() for vm_id, ts in newest.items()})
        summary.offered += len(samples)
        summary.by_interval[interval_s] = summary.by_interval.get(interval_s, 0) + len(samples)
        if requests:
            first = min(r.start for r in requests)
            summary.window_start = min(summary.window_start or first, first)
            summary.window_end = max(summary.window_end or end, end)
        state = self.status.vcenter(source.vcenter)
        state.update(state="collecting", polls=state["polls"] + 1, last_poll=self.clock().isoformat(timespec="seconds"),
                     samples_spooled=state["samples_spooled"] + len(samples))
        if not samples.empty:
            newest_ts = samples["ts"].max().isoformat()
            state["newest_sample"] = max(state["newest_sample"] or newest_ts, newest_ts)
        self.status.save()
        return len(samples)


def newer_than_marks(samples: pd.DataFrame, marks: dict[str, datetime]) -> pd.DataFrame:
    """The samples after their VM's watermark (vCenter repeats the sample at the start of a query's window)."""
    if samples.empty or not marks:
        return samples
    mark = pd.to_datetime(samples["vm_id"].map(marks), utc=True)
    return samples[mark.isna() | (pd.to_datetime(samples["ts"], utc=True) > mark)].reset_index(drop=True)
