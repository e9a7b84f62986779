"""How a command refuses bad input: one red line on stderr and exit code 2, never a traceback.

Every error churnplan raises on purpose derives from core.errors.ChurnplanError; `CatchingGroup`, the CLI's
top-level command group, catches it once for every command. A bad option value click itself rejects (a word
where a number belongs) is shown the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from typer._click import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors its own click
from typer.core import TyperGroup

from churnplan.core import store
from churnplan.core.errors import ChurnplanError

console = Console(stderr=True)

MAX_MESSAGE_CHARS = 400  # a message never floods the terminal, whatever input it quotes


def say(message: object) -> None:
    """Print `message` as one red error line (markup-escaped: it may hold paths and names)."""
    text = " ".join(str(message).split())  # one line, whatever the message held
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    console.print(f"[red]error:[/] {escape(text)}", soft_wrap=True, highlight=False)


def fail(message: object) -> typer.Exit:
    """Print `message` as an error and give the Exit (code 2) to raise."""
    say(message)
    return typer.Exit(2)


class CatchingGroup(TyperGroup):
    """The top-level command group: a ChurnplanError or a rejected option value from any command becomes one
    red line and exit 2."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChurnplanError as exc:
            raise fail(exc) from None
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            raise fail(exc.format_message()) from None


@contextmanager
def read_only_or_fail(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store at `db` opened read-only (waiting a little for a writer), closed afterwards; or a plain error."""
    try:
        con = store.connect(db, read_only=True, retries=10)
    except store.StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        con.execute("SET enable_progress_bar = false")
        yield con
    finally:
        con.close()


def connect_or_fail(db: Path) -> duckdb.DuckDBPyConnection:
    """The store at `db`, opened writable (checked, created or migrated as needed), or a plain error saying why."""
    try:
        return store.connect(db)
    except store.StoreError as exc:
        raise fail(exc) from None
