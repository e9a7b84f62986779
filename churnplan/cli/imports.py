"""`churnplan import powercli|rvtools|bitbrains`: load Get-Stat CSVs, RVTools inventories and Bitbrains traces."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable
from zoneinfo import ZoneInfo

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from churnplan.cli import validators as v
from churnplan.core import sample_layout, store
from churnplan.cli.errors import connect_or_fail, fail
from churnplan.core.memory_cap import cap_memory
from churnplan.ingest import bitbrains, powercli, rvtools
from churnplan.ingest.errors import IngestError
from churnplan.core.zones import local_zone

console = Console(stderr=True)
T = TypeVar("T")
import_app = typer.Typer(no_args_is_help=True, help="Import telemetry or inventory exported by other tools.")

_SHOWN = 25  # rows of an unmatched-VM table before "... and N more"


IMPORT_MEMORY_LIMIT = "512MB"   # a 754 MiB Get-Stat CSV: 0.74 GB peak RSS capped, 2.98 GB uncapped


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=console, transient=True)


def _import_each(db: Path, batches: list[list[Path]],
                 run: Callable[[duckdb.DuckDBPyConnection, list[Path], Callable[[str], None]], T],
                 report: Callable[[str, T], None]) -> None:
    """Import batches of files one transaction each, showing progress; stop at the first bad file."""
    con = connect_or_fail(db)
    cap_memory(con, IMPORT_MEMORY_LIMIT)   # staging tables spill beside the store: memory does not grow with the file
    done, samples_before = 0, store.counts(con).samples
    try:
        with _progress() as bar:
            for batch in batches:
                label = escape(", ".join(p.name for p in batch))
                task = bar.add_task(f"{label}: starting", total=None)

                def step(msg: str, task=task, label=label) -> None:
                    bar.update(task, description=f"{label}: {escape(msg)}")

                result = run(con, batch, step)
                bar.remove_task(task)
                done += 1
                report(label, result)
            if store.counts(con).samples != samples_before:   # new samples: keep the table in planning order
                bar.add_task("ordering the samples by VM, disk and time for planning", total=None)
                sample_layout.cluster_samples(con)
    except IngestError as exc:
        if done:
            console.print(f"{done} file(s) before it were imported and stay in the store.")
        raise fail(exc) from None
    finally:
        con.close()


@import_app.command("powercli")
def import_powercli(
    files: list[Path] = typer.Argument(..., help="CSV files written by Get-Stat ... | Export-Csv.",
                                       callback=v.input_files()),
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file."),
    vcenter: str | None = typer.Option(
        None, "--vcenter", help="vCenter key for the VMs (default: match stored VMs, else 'powercli')."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA zone the timestamps are written in.",
                                 callback=v.zone()),
    dayfirst: bool | None = typer.Option(
        None, "--dayfirst/--monthfirst", help="Read 01/02/2026 as 1 February / as 2 January."),
    date_format: str | None = typer.Option(
        None, "--date-format", help="strptime format of the Timestamp column, e.g. '%d/%m/%Y %H:%M:%S'.",
        callback=v.date_format()),
) -> None:
    """Import per-disk write/read rates and IOPS from PowerCLI Get-Stat CSV exports (one transaction per file)."""
    def one(con: Any, batch: list[Path], step: Any) -> Any:
        result = powercli.import_file(con, batch[0], vcenter=vcenter, timezone=timezone, dayfirst=dayfirst,
                                      date_format=date_format, progress=step)
        if timezone != "UTC":   # the export's local zone is the estate's, unless one was recorded already
            store.set_estate_timezone(con, timezone, overwrite=False)
        return result

    _import_each(
        db, [[f] for f in files], one,
        lambda _label, result: _report_powercli(result))


def _report_powercli(r: powercli.PowerCliImport) -> None:
    zone = ZoneInfo(local_zone())

    def local(ts: datetime) -> str:  # the store's naive UTC, shown on this machine's clock
        return f"{ts.replace(tzinfo=UTC).astimezone(zone):%Y-%m-%d %H:%M}"

    window = (f"{local(r.window_start)} .. {local(r.window_end)} {zone.key}"
              if r.window_start is not None and r.window_end is not None else "no rows")
    added = (f"{r.samples_added:,} new samples" if r.samples_added else
             "0 new samples (all already stored: re-import adds nothing)" if r.samples else "0 samples")
    skipped = f", {r.samples_skipped:,} already stored" if r.samples_added and r.samples_skipped else ""
    lun = f"; {r.skipped_lun_rows:,} per-LUN disk.* rows skipped" if r.skipped_lun_rows else ""
    console.print(
        f"[green]{escape(str(r.path))}[/]: {r.records:,} rows -> {added}{skipped}; {r.vms} VMs "
        f"({r.vms_created} new), {r.disks} disks, interval {'/'.join(map(str, r.intervals)) or '-'} s, "
        f"{window}; timestamps read as {r.timestamps}{lun}")


@import_app.command("rvtools")
def import_rvtools(
    files: list[Path] = typer.Argument(
        ..., help="An RVTools .xlsx export, or the per-sheet .csv files of one export (vInfo, vDisk, vPartition).",
        callback=v.input_files()),
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file."),
    vcenter: str | None = typer.Option(
        None, "--vcenter", help="vCenter key (default: the export's 'VI SDK Server', else 'rvtools')."),
) -> None:
    """Import VM and disk inventory from RVTools, matched to telemetry already in the store."""
    xlsx = [f for f in files if f.suffix.lower() in (".xlsx", ".xlsm")]
    rest = [f for f in files if f not in xlsx]
    batches = [[f] for f in xlsx] + ([rest] if rest else [])
    _import_each(db, batches, lambda con, batch, step: rvtools.import_files(con, batch, vcenter=vcenter,
                                                                            progress=step), _report_rvtools)


def _report_rvtools(label: str, result: rvtools.RvtoolsImport) -> None:
    console.print(f"[green]{label}[/]: {escape(rvtools.summary_line(result))}")
    _unmatched_table(result)


def _unmatched_table(r: rvtools.RvtoolsImport) -> None:
    for title, names in (("Inventory without telemetry (no samples stored yet)", r.inventory_without_telemetry),
                         ("Telemetry without inventory (stored samples no VM of this export matched)",
                          r.telemetry_without_inventory)):
        if not names:
            continue
        table = Table(title=f"{title}: {len(names)}", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("VM")
        for i, name in enumerate(names[:_SHOWN], 1):
            table.add_row(str(i), escape(name))
        if len(names) > _SHOWN:
            table.add_row("", f"... and {len(names) - _SHOWN} more")
        console.print(table)


@import_app.command("bitbrains")
def import_bitbrains(
    files: list[Path] = typer.Argument(..., help="GWA-T-12 Bitbrains trace files (one VM each, .csv or .csv.gz).",
                                       callback=v.input_files()),
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file."),
) -> None:
    """Import Bitbrains VM traces as VM-level 300 s churn (one transaction per file)."""
    _import_each(db, [[f] for f in files], lambda con, batch, _step: bitbrains.import_traces(con, batch),
                 lambda label, added: console.print(f"[green]{label}[/]: {added:,} new samples"))
