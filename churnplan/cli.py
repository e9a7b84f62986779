"""The `churnplan` command line: one typer app; each concern registers its commands from its own module."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from rich.console import Console

from churnplan import __version__, store

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Plan Azure Site Recovery replication of VMware estates from measured disk churn.")
console = Console(stderr=True)

DbOption = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file.")

# Modules that add commands: each defines register(app). Order is the order of --help.
_COMMAND_MODULES = (
    "churnplan.cmd_samples",
    "churnplan.cmd_collect",
    "churnplan.cmd_import",
    "churnplan.cmd_plan",
    "churnplan.cmd_report",
)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", help="Show the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


@app.command()
def init(db: Path = DbOption) -> None:
    """Create (or migrate) the store and show what it holds."""
    try:
        con = store.connect(db)
    except store.StoreError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2)
    c = store.counts(con)
    con.close()
    console.print(f"store {db}: schema v{store.SCHEMA_VERSION}, {c.vms} VMs, {c.disks} disks, {c.samples:,} samples")


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
        continue
    _module.register(app)
