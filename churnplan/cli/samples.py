"""`churnplan samples`: load the bundled sample estate into a store, or regenerate its files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churnplan.ingest import sample_estate as samples

from churnplan.core import store
from churnplan.cli.errors import connect_or_fail

console = Console(stderr=True)


def samples_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file."),
    regenerate: bool = typer.Option(False, "--regenerate", help="Rewrite the Parquet files instead of loading."),
    directory: Path = typer.Option(samples.DEFAULT_DIR, "--dir", help="Where the sample estate's files live."),
    seed: int = typer.Option(samples.SEED, "--seed", help="Random seed (with --regenerate)."),
) -> None:
    """Load the bundled sample estate (60 VMs, 14 days) into the store; --regenerate rewrites its files."""
    if regenerate:
        with console.status("generating the sample estate"):
            paths = samples.write(directory, seed)
        for path in paths:
            console.print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB)")
        return
    con = connect_or_fail(db)
    with console.status("loading the sample estate"):
        before = store.counts(con).samples
        after = samples.load_into(con, directory)
    con.close()
    console.print(f"store {db}: {after.vms} VMs, {after.disks} disks, {after.samples:,} samples "
                  f"({after.samples - before:,} new)")


def register(app: typer.Typer) -> None:
    app.command("samples")(samples_cmd)
