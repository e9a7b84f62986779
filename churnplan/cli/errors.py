"""How a command refuses bad input: one red line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.markup import escape

from churnplan.core import store

console = Console(stderr=True)


def fail(message: object) -> typer.Exit:
    """Print `message` as an error (markup-escaped: it may hold paths and names) and give the Exit to raise."""
    console.print(f"[red]error:[/] {escape(str(message))}")
    return typer.Exit(2)


def connect_or_fail(db: Path) -> duckdb.DuckDBPyConnection:
    """The store at `db`, opened writable (created or migrated as needed), or a plain error saying why not."""
    try:
        return store.connect(db)
    except store.StoreError as exc:
        raise fail(exc) from None
