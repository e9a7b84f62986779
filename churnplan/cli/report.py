"""`churnplan report`, `churnplan dashboard` and `churnplan demo`: the plan as files, as a web app, and end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress

from churnplan.analytics.model import Plan, PlanConfig
from churnplan import dashboard as dashboard_package
from churnplan.cli import validators as v
from churnplan.core import store, zones
from churnplan.cli.options import (config_from_options, estate_zone, fail, progress_bar, progress_step, read_and_plan,
                                    with_plan_options)
from churnplan.cli import serving as srv

console = Console(stderr=True)
APP = Path(dashboard_package.__file__).resolve().parent / "app.py"
WORKBOOK = "churnplan-report.xlsx"
HTML = "churnplan-report.html"


def write_all(plan: Plan, out: Path, tz: str, db: Path, progress: Progress) -> dict[str, Path]:
    """Workbook, HTML report and the CSV recommendations into `out`; returns what was written."""
    from churnplan.export import csv as csv_export
    from churnplan.export import excel, html

    out.mkdir(parents=True, exist_ok=True)
    with progress_step(progress, "writing Excel workbook"):
        excel.write_workbook(plan, out / WORKBOOK, tz=tz)
    with progress_step(progress, "writing HTML report"):
        html.write_report(plan, out / HTML, tz=tz, store_path=db)
    with progress_step(progress, "writing CSV recommendations"):
        csvs = csv_export.write_plan(plan, out) + [csv_export.write_summary(plan, out)]
    return {"workbook": out / WORKBOOK, "html": out / HTML, **{p.name: p for p in csvs}}


def _zone(tz: str | None) -> str:
    try:
        return zones.check_zone(tz) if tz else zones.local_zone()
    except ValueError as exc:
        raise fail(f"--tz: {exc}") from exc


def run_dashboard(db: Path, port: int, serving: srv.Serving | None = None) -> int:
    """Serve the dashboard (on 127.0.0.1 unless `serving` says otherwise) until interrupted; returns
    Streamlit's exit code."""
    serving = serving or srv.Serving()
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), *serving.streamlit_args(),
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer", "--", "--db", str(Path(db).resolve())]
    login = f", login: {serving.login}" if serving.login else ""
    console.print(f"dashboard: [bold]{serving.url(port)}[/]{login}  (Ctrl-C to stop)")
    proc = subprocess.Popen(cmd, env=serving.child_env(dict(os.environ)))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated CLI stops its server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_process(proc)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_process(proc: subprocess.Popen, timeout_s: float = 10) -> None:
    """Ask a child to stop (SIGTERM), and kill it if it has not within `timeout_s`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serving(options: dict[str, Any]) -> srv.Serving:
    """The serving options (srv.with_serving_options) resolved, or one line saying what is wrong."""
    try:
        return srv.resolve(**options)
    except srv.ServingError as exc:
        raise fail(str(exc)) from exc


def _check_store(db: Path) -> None:
    try:
        store.connect(db, read_only=True, retries=10).close()
    except store.StoreError as exc:
        raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    db_option = typer.Option(Path(store.DEFAULT_DB), "--db", help="DuckDB store file.")

    @app.command()
    @with_plan_options
    def report(
        db: Path = db_option,
        out: Path = typer.Option(Path("report"), "--out", help="Directory for the workbook, HTML, CSVs and summary.",
                                 callback=v.output_dir()),
        tz: str | None = typer.Option(
            None, "--tz", help="Time zone the report shows times and counts days in "
                               "(default: --timezone when given, else this machine's)."),
        **options: Any,
    ) -> None:
        """Write the Excel workbook, the offline HTML report and the CSV recommendations."""
        config = config_from_options(options)
        zone = _zone(tz or options["timezone"] or estate_zone(db))
        config = replace(config, timezone=zone)  # daily lag counted in the days the report labels
        with progress_bar() as progress:
            plan = read_and_plan(db, config, options["interval"], progress)
            written = write_all(plan, out, zone, db, progress)
        for kind, path in written.items():
            typer.echo(f"{kind}: {path}")

    @app.command()
    @srv.with_serving_options
    def dashboard(
        db: Path = db_option,
        port: int = typer.Option(8501, "--port", help="Port to listen on.", callback=v.port()),
        **serving_options: Any,
    ) -> None:
        """Serve the interactive dashboard (reads the store read-only); on 127.0.0.1 unless --address."""
        serving = _serving(serving_options)
        _check_store(db)
        raise typer.Exit(run_dashboard(db, port, serving))

    @app.command("dashboard-hash")
    def dashboard_hash(
        out: Path | None = typer.Option(None, "--out", help="Write the hash to this file (mode 600) "
                                                            "instead of printing it."),
    ) -> None:
        """Make a password hash for the dashboard's login (asks for the password twice)."""
        from churnplan.dashboard import passwords

        password = typer.prompt("Dashboard password", hide_input=True, confirmation_prompt=True)
        try:
            text = passwords.make(password)
        except passwords.HashError as exc:
            raise fail(str(exc)) from exc
        if out is None:
            typer.echo(text)
            return
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise fail(f"--out {out}: {exc.strerror}") from exc
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        console.print(f"wrote {out}; serve with --password-hash-file {out}")

    @app.command()
    @srv.with_serving_options
    def demo(
        db: Path = typer.Option(Path(store.DEFAULT_DB), "--db", help="Store to fill with the sample estate."),
        out: Path = typer.Option(Path("report"), "--out", help="Directory for the reports.", callback=v.output_dir()),
        no_dashboard: bool = typer.Option(False, "--no-dashboard", help="Stop after writing the reports."),
        port: int = typer.Option(8501, "--port", help="Dashboard port.", callback=v.port()),
        bandwidth: float | None = typer.Option(
            None, "--bandwidth", help="Bandwidth (Mbps) for the what-if; default: the plan's own rule (the bandwidth "
                                      "meeting the RPO 100 % of the time), as plan and report use.",
            callback=v.positive("Mbps")),
        tz: str | None = typer.Option(None, "--tz", help="Time zone for displayed times."),
        **serving_options: Any,
    ) -> None:
        """Sample estate -> store -> plan -> reports -> dashboard, in one go."""
        from churnplan.ingest import sample_estate as samples

        zone = _zone(tz or samples.SITE_TZ)   # the sample estate's zone, as the store records it
        serving = None if no_dashboard else _serving(serving_options)
        with progress_bar() as progress:
            with progress_step(progress, f"loading the sample estate into {db}") as task:
                try:
                    con = store.connect(db)
                except store.StoreError as exc:
                    raise fail(str(exc)) from exc
                try:
                    con.execute("SET enable_progress_bar = false")
                    counts = samples.load_into(con)
                finally:
                    con.close()
                progress.update(task, description=f"store {db}: {counts.vms} VMs, {counts.disks} disks, "
                                                  f"{counts.samples:,} samples")
            config = PlanConfig(bandwidth_mbps=bandwidth, timezone=zone)
            plan = read_and_plan(db, config, None, progress)  # one planned-bandwidth rule: plan's and report's
            written = write_all(plan, out, zone, db, progress)
        for kind, path in written.items():
            typer.echo(f"{kind}: {path}")
        typer.echo(f"open {written['html']} in a browser for the offline report")
        if serving is not None:
            raise typer.Exit(run_dashboard(db, port, serving))
