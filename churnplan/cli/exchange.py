"""`churnplan import parquet` and `churnplan export samples --parquet`: the Parquet spool layout in and out.

The layout (partitioned by vCenter and UTC day) is what `collect --spool` writes and what Spark reads.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from churnplan.cli.errors import connect_or_fail, fail
from churnplan.cli.imports import import_app
from churnplan.core import store
from churnplan.ingest.errors import IngestError
from churnplan.ingest.spool import Spool
from churnplan.ingest.spool_store import drain, export

console = Console(stderr=True)
export_app = typer.Typer(no_args_is_help=True, help="Export the store in exchange formats.")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def import_parquet(
    folder: Path = typer.Argument(..., help="A spool folder (from `collect --spool` or `export samples`)."),
    db: Path = typer.Option(Path(store.DEFAULT_DB), "--db", help="DuckDB store file."),
) -> None:
    """Bring a Parquet spool into the store; samples already stored are skipped, so importing again adds nothing."""
    if not folder.is_dir():
        raise fail(f"{folder}: no such folder")
    spool = Spool(folder)
    files = spool.files()
    if not files:
        raise fail(f"{folder}: holds no spool files (expected samples/vcenter=.../day=.../part-*.parquet)")
    con = connect_or_fail(db)
    try:
        with store.run(con, "parquet", str(folder)) as run, _progress() as bar:
            task = bar.add_task(f"{folder}: files", total=len(files))
            result = drain(spool, con, None, on_batch=lambda done, total: bar.update(task, completed=done))
            run.samples_added, run.samples_skipped = result.samples_added, result.samples_offered - result.samples_added
    except IngestError as exc:
        raise fail(exc) from None
    finally:
        con.close()
    console.print(f"{folder}: {result.files} file(s), {result.samples_added:,} samples added, "
                  f"{result.samples_offered - result.samples_added:,} already stored")


@export_app.command("samples")
def export_samples(
    parquet: Path = typer.Option(..., "--parquet", help="Empty (or new) folder to write the spool layout into."),
    db: Path = typer.Option(Path(store.DEFAULT_DB), "--db", help="DuckDB store file."),
) -> None:
    """Write the store's samples and inventory as Parquet, partitioned by vCenter and UTC day (for Spark)."""
    if parquet.exists() and not parquet.is_dir():
        raise fail(f"{parquet}: exists and is not a folder")
    if Spool(parquet).files():
        raise fail(f"{parquet}: already holds a spool; export into an empty folder (a second export would repeat "
                   "every sample)")
    try:
        con = store.connect(db, read_only=True)
    except store.StoreError as exc:
        raise fail(exc) from None
    try:
        with _progress() as bar:
            task = bar.add_task("samples by vCenter and day", total=None)
            counts = export(con, Spool(parquet),
                            on_partition=lambda done, total: bar.update(task, completed=done, total=total))
    except OSError as exc:
        raise fail(f"{parquet}: cannot write ({exc.strerror})") from None
    finally:
        con.close()
    console.print(f"{parquet}: {counts['samples']:,} samples, {counts['vms']} VMs, {counts['disks']} disks, "
                  f"{counts['vcenters']} vCenter(s)")


def register(app: typer.Typer) -> None:
    import_app.command("parquet")(import_parquet)
    app.add_typer(export_app, name="export")
