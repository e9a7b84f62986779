"""`churnplan collect`: poll per-disk write/read rates and IOPS from a live vCenter into the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from churnplan.cli import validators as v
from churnplan.core import store
from churnplan.cli.errors import fail
from churnplan.core.durations import parse_duration
from churnplan.ingest.vcenter import CollectOptions, Collector
from churnplan.ingest.vcenter_inventory import read_vm_list
from churnplan.ingest.vcenter_session import CollectorError, Credentials

console = Console(stderr=True)

USER_ENV = "CHURNPLAN_VCENTER_USER"
PASSWORD_ENV = "CHURNPLAN_VCENTER_PASSWORD"


def _password(user: str, server: str) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if not sys.stdin.isatty():
        raise CollectorError(f"no password: set {PASSWORD_ENV} or run interactively to be prompted")
    return typer.prompt(f"password for {user}@{server}", hide_input=True)


def collect_cmd(
    server: str = typer.Option(..., "--server", help="vCenter host name or address."),
    user: str = typer.Option(None, "--user", help=f"vCenter user (default: ${USER_ENV})."),
    vm_list: Path = typer.Option(None, "--vm-list", help="File naming the VMs to collect, one per line.",
                                 callback=v.input_file()),
    duration: str = typer.Option("7d", "--duration", help="How long to collect: 30s, 15m, 2h, 7d; 0 = one poll."),
    poll: str = typer.Option("15m", "--poll", help="Time between polls (vCenter keeps 20 s samples for 1 h).",
                             callback=v.duration()),
    once: bool = typer.Option(False, "--once", help="Poll once and stop (same as --duration 0)."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the vCenter's TLS certificate."),
    backfill: bool = typer.Option(False, "--backfill", help="Also pull the historical intervals vCenter holds."),
    port: int = typer.Option(443, "--port", help="vCenter HTTPS port.", callback=v.port()),
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file."),
) -> None:
    """Collect per-disk churn and IOPS from vCenter (password from $CHURNPLAN_VCENTER_PASSWORD or a prompt)."""
    try:
        duration_s = 0.0 if once else parse_duration(duration, "--duration")
        poll_s = parse_duration(poll, "--poll")
        if poll_s <= 0:
            raise ValueError(f"--poll: {poll!r} must be longer than 0 s")
        names = read_vm_list(vm_list) if vm_list else None
        user = user or os.environ.get(USER_ENV)
        if not user:
            raise ValueError(f"no vCenter user: pass --user or set {USER_ENV}")
        options = CollectOptions(server=server, port=port, credentials=Credentials(user, _password(user, server)),
                                 db=db, vm_names=names, duration_s=duration_s, poll_s=poll_s, insecure=insecure,
                                 backfill=backfill)
    except (ValueError, CollectorError) as exc:
        raise fail(exc) from None
    try:
        summary = Collector(options, console).run()
    except (CollectorError, store.StoreError) as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: samples stored so far are kept; run again to resume")
        raise typer.Exit(130)
    except Exception:
        console.print_exception(show_locals=False)
        console.print("[red]error:[/] collection failed (recorded in collection_runs); samples stored so far are kept")
        raise typer.Exit(1)
    intervals = ", ".join(f"{n:,} at {i} s" for i, n in sorted(summary.by_interval.items())) or "none"
    console.print(f"{options.vcenter}: {summary.vms} VMs, {summary.disks} disks, {summary.polls} poll(s), "
                  f"{summary.added:,} samples added ({intervals}), {summary.offered - summary.added:,} already "
                  f"stored, {summary.reconnects} reconnect(s); run {summary.run_id}")


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)
