"""The `churnplan` command line: one typer app; each concern registers its commands from its own module."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churnplan.cli import collect as cmd_collect
from churnplan.cli import exchange as cmd_exchange
from churnplan.cli import forecast as cmd_forecast
from churnplan.cli import imports as cmd_import
from churnplan.cli import plan as cmd_plan
from churnplan.cli import report as cmd_report
from churnplan.cli import samples as cmd_samples
from churnplan.cli import costing as cmd_cost
from churnplan.cli import outage as cmd_outage
from churnplan.cli import quality as cmd_quality
from churnplan.cli import sizing as cmd_sizing
from churnplan.cli import status as cmd_status

from churnplan.core import store

from churnplan import __version__
from churnplan.cli.errors import CatchingGroup, connect_or_fail, fail

app = typer.Typer(cls=CatchingGroup, add_completion=True, no_args_is_help=True,
                  help="Plan Azure Site Recovery replication of VMware estates from measured disk churn.")
console = Console(stderr=True)

DbOption = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file.")

# Modules that add commands: each defines register(app). Order is the order of --help.
_COMMAND_MODULES = (cmd_samples, cmd_collect, cmd_status, cmd_import, cmd_exchange, cmd_plan, cmd_report,
                    cmd_forecast, cmd_quality, cmd_outage, cmd_cost, cmd_sizing)


def _show_version(value: bool) -> None:
    """--version is eager: it answers before Click asks for a command."""
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", help="Show the version and exit.",
                                       callback=_show_version, is_eager=True)) -> None:
    """Plan Azure Site Recovery replication of VMware estates from measured disk churn."""


@app.command()
def init(db: Path = DbOption,
         timezone: str | None = typer.Option(None, "--timezone",
                                             help="Record the estate's time zone (IANA, e.g. Europe/Amsterdam); "
                                                  "the report and dashboard default to it.")) -> None:
    """Create (or migrate) the store, optionally record the estate's time zone, and show what it holds."""
    from churnplan.core.zones import check_zone

    if timezone is not None:
        try:
            check_zone(timezone)
        except ValueError as exc:
            raise fail(f"--timezone: {exc}") from exc
    con = connect_or_fail(db)
    if timezone is not None:
        store.set_estate_timezone(con, timezone)
    c = store.counts(con)
    zone = store.estate_timezone(con)
    con.close()
    console.print(f"store {db}: schema v{store.SCHEMA_VERSION}, {c.vms} VMs, {c.disks} disks, {c.samples:,} samples"
                  + (f", estate time zone {zone}" if zone else ""))


for _module in _COMMAND_MODULES:
    _module.register(app)
