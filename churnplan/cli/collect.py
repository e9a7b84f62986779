"""`churnplan collect`: poll per-disk write/read rates and IOPS from one or more live vCenters into the store.

Settings come from the command line or a TOML config file (`--config`, for a service); the command line wins.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from churnplan.cli import validators as v
from churnplan.cli.errors import fail
from churnplan.core import sample_layout, store
from churnplan.core.durations import parse_duration
from churnplan.core.memory_cap import cap_memory
from churnplan.core.zones import check_zone
from churnplan.ingest.errors import IngestError
from churnplan.ingest.vcenter import CollectOptions, Collector, Server, log as collect_log
from churnplan.ingest.vcenter_config import (PASSWORD_ENV, USER_ENV, CollectConfig, load_config, parse_server,
                                             password_for, user_for)
from churnplan.ingest.vcenter_inventory import read_vm_list
from churnplan.ingest.vcenter_session import Backoff, CollectorError, Credentials

console = Console(stderr=True)

LOG_MAX_BYTES = 10 * 1024 ** 2
LOG_BACKUPS = 5
CLUSTER_MEMORY_LIMIT = "512MB"   # the rewrite spills beside the store, as an import's does
DEFAULTS = {"duration": "7d", "poll": "15m", "call_timeout": "30s", "drain_wait": "5m"}


def _prompt(label: str) -> str:
    return typer.prompt(label, hide_input=True)


def _log_to(path: Path) -> None:
    """Append the collector's messages to `path`, rotated at 10 MiB keeping 5 old files; times in UTC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS,
                                                   encoding="utf-8")
    formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    collect_log.addHandler(handler)
    collect_log.setLevel(logging.INFO)


def _stop_on_sigterm() -> None:
    """systemd stops a service with SIGTERM: end like Ctrl-C, so the run is recorded and the spool drained."""
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)


def _seconds(given: str | None, config: CollectConfig, key: str, option: str) -> float:
    if given is not None:
        return parse_duration(given, option)
    if key in config.settings:
        return float(config.settings[key])
    return parse_duration(DEFAULTS[key], option)


def build_options(server: list[str] | None, user: str | None, vm_list: Path | None, duration: str | None,
                  poll: str | None, once: bool, insecure: bool, backfill: bool, port: int, db: Path | None,
                  spool: Path | None, config_file: Path | None, call_timeout: str | None, drain_wait: str | None,
                  timezone: str | None) -> tuple[CollectOptions, Path | None]:
    """The collection the user asked for (command line over config file), and the log file if any."""
    config = load_config(config_file) if config_file else CollectConfig()
    s = config.settings
    duration_s = 0.0 if once else _seconds(duration, config, "duration", "--duration")
    poll_s = _seconds(poll, config, "poll", "--poll")
    call_timeout_s = _seconds(call_timeout, config, "call_timeout", "--call-timeout")
    for name, given, value in (("--poll", poll, poll_s), ("--call-timeout", call_timeout, call_timeout_s)):
        if value <= 0:
            raise ValueError(f"{name}: {given or value!r} must be longer than 0 s")
    servers = [parse_server(text, port) for text in server] if server else config.servers
    if not servers:
        raise ValueError("no vCenter: pass --server HOST (repeat it for several) or --config FILE with [[servers]]")
    names = read_vm_list(vm_list) if vm_list else None
    prompt = _prompt if sys.stdin.isatty() else None
    chosen = []
    for sc in servers:
        if names is not None and (server or sc.vm_names is None):
            sc.vm_names = names
        elif sc.vm_names is None and "vm_list" in s:
            sc.vm_names = read_vm_list(s["vm_list"])
        who = user_for(sc, user or s.get("user"), os.environ)
        sc.user = who
        chosen.append(Server(sc.host, sc.port, Credentials(who, password_for(sc, os.environ, prompt)), sc.vm_names))
    spool = spool or s.get("spool")
    db = db or s.get("db") or (None if spool else Path(store.DEFAULT_DB))
    zone = timezone or s.get("timezone")
    options = CollectOptions(servers=chosen, db=db, spool=spool, duration_s=duration_s, poll_s=poll_s,
                             insecure=insecure or bool(s.get("insecure")), backfill=backfill or bool(s.get("backfill")),
                             call_timeout_s=call_timeout_s,
                             drain_wait_s=_seconds(drain_wait, config, "drain_wait", "--drain-wait"),
                             timezone=check_zone(zone) if zone else None, backoff=Backoff())
    return options, s.get("log_file")


def collect_cmd(
    server: list[str] = typer.Option(None, "--server", help="vCenter host or host:port; repeat for several."),
    user: str | None = typer.Option(None, "--user", help=f"vCenter user (default: ${USER_ENV})."),
    vm_list: Path = typer.Option(None, "--vm-list", help="File naming the VMs to collect, one per line.",
                                 callback=v.input_file()),
    duration: str = typer.Option(None, "--duration",
                                 help="How long to collect: 30s, 15m, 2h, 7d; 0 = one poll (default 7d)."),
    poll: str = typer.Option(None, "--poll", help="Time between polls (vCenter keeps 20 s samples for 1 h). "
                                                  "(default 15m)", callback=v.duration()),
    once: bool = typer.Option(False, "--once", help="Poll once and stop (same as --duration 0)."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the vCenter's TLS certificate."),
    backfill: bool = typer.Option(False, "--backfill", help="Also pull the historical intervals vCenter holds."),
    port: int = typer.Option(443, "--port", help="vCenter HTTPS port (for --server without :port).",
                             callback=v.port()),
    db: Path = typer.Option(None, "--db", help=f"DuckDB store file (default {store.DEFAULT_DB}; none when only "
                                               "--spool is given)."),
    spool: Path = typer.Option(None, "--spool", help="Also (or, without --db, only) write the Parquet spool layout "
                                                     "here, for `import parquet` or Spark."),
    config: Path = typer.Option(None, "--config", help="TOML settings (servers, poll, duration, store, spool, "
                                                       "log file); options given here win."),
    log_file: Path = typer.Option(None, "--log-file", help="Append messages to this file (rotated at 10 MiB)."),
    call_timeout: str = typer.Option(None, "--call-timeout", callback=v.duration(),
                                     help="Give up on a vCenter call after this long and retry (default 30s)."),
    drain_wait: str = typer.Option(None, "--drain-wait", help="At the end, wait this long for a locked store "
                                                              "(default 5m)."),
    timezone: str = typer.Option(None, "--timezone", help="The estate's IANA time zone, recorded in the store.",
                                 callback=v.zone()),
) -> None:
    """Collect per-disk churn and IOPS from vCenters (passwords from the environment, a password file, or a prompt).

    Each poll goes to a Parquet spool first, then into the store when its lock is free: a reader holding the
    store never stops a collection. Passwords: the password_file named in --config, else
    CHURNPLAN_VCENTER_PASSWORD_<HOST>[_<PORT>] (host upper-cased, other characters as _), else
    CHURNPLAN_VCENTER_PASSWORD, else a prompt.
    """
    try:
        options, config_log = build_options(server, user, vm_list, duration, poll, once, insecure, backfill, port,
                                            db, spool, config, call_timeout, drain_wait, timezone)
    except (ValueError, CollectorError, IngestError) as exc:
        raise fail(exc) from None
    log_path = log_file or config_log
    if log_path is not None:
        try:
            _log_to(log_path)
        except OSError as exc:
            raise fail(f"{log_path}: cannot write the log file ({exc.strerror})") from None
    _stop_on_sigterm()
    collector = Collector(options, console)
    try:
        collector.run()
    except (CollectorError, store.StoreError) as exc:
        collect_log.error(str(exc))
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: samples collected so far are kept; run again to resume")
        raise typer.Exit(130) from None
    except Exception as exc:
        collect_log.exception("collection failed: %s", type(exc).__name__)
        console.print_exception(show_locals=False)
        console.print("[red]error:[/] collection failed (recorded in collection_runs); samples stored so far are kept")
        raise typer.Exit(1) from None
    if options.db is not None and any(s.added for s in collector.summaries().values()):
        _cluster(options.db)
    for vcenter, summary in collector.summaries().items():
        intervals = ", ".join(f"{n:,} at {i} s" for i, n in sorted(summary.by_interval.items())) or "none"
        where = (f"{summary.added:,} samples added ({intervals} collected), "
                 f"{summary.offered - summary.added:,} already stored" if options.db
                 else f"{summary.offered:,} samples spooled ({intervals})")
        line = (f"{vcenter}: {summary.vms} VMs, {summary.disks} disks, {summary.polls} poll(s), {where}, "
                f"{summary.reconnects} reconnect(s); run {summary.run_id or '(spool only)'}")
        console.print(line)
        collect_log.info(line)


def _cluster(db: Path) -> None:
    """Leave the store in planning order, as an import does (one rewrite after the collection, not per poll);
    a store another process holds stays as collected (plans read it correctly, a little slower)."""
    try:
        con = store.connect(db)
    except store.StoreBusy:
        console.print("the store is in use: samples stay in collection order until the next collection or import")
        return
    try:
        cap_memory(con, CLUSTER_MEMORY_LIMIT)
        with console.status("ordering the samples by VM, disk and time for planning"):
            sample_layout.cluster_samples(con)
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)


__all__ = ["PASSWORD_ENV", "USER_ENV", "register"]
