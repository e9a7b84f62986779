"""`churnplan report`, `churnplan dashboard` and `churnplan demo`: the plan as files, as a web app, and end to end."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from analytics.model import Plan, PlanConfig, ThrottleSchedule
from churnplan import store
from churnplan.export import charts

console = Console(stderr=True)
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
WORKBOOK = "churnplan-report.xlsx"
HTML = "churnplan-report.html"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                    transient=False)


def build(db: Path, config: PlanConfig, interval: int | None, progress: Progress) -> Plan:
    """Read the store (read-only, closed again at once) and plan it."""
    from analytics.plan import build_plan

    task = progress.add_task(f"reading {db}", total=None)
    try:
        con = store.connect(db, read_only=True, retries=10)
    except store.StoreError as exc:
        raise _fail(str(exc)) from exc
    try:
        con.execute("SET enable_progress_bar = false")  # rich shows progress; DuckDB's bar would garble it
        vms, disks = store.load_vms(con), store.load_disks(con)
        samples = store.load_samples(con, interval, config.start, config.end)
    finally:
        con.close()
    progress.update(task, description=f"read {len(vms)} VMs, {len(disks)} disks, {len(samples):,} samples",
                    completed=1, total=1)
    if samples.empty:
        raise _fail(f"{db}: no samples to plan from (run `churnplan collect` or `churnplan demo`)")
    task = progress.add_task("planning", total=None)
    try:
        plan = build_plan(vms, disks, samples, config)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    progress.update(task, description="planned", completed=1, total=1)
    return plan


def write_all(plan: Plan, out: Path, tz: str, db: Path, progress: Progress) -> dict[str, Path]:
    """Workbook, HTML report and the CSV recommendations into `out`; returns what was written."""
    from churnplan.export import csv as csv_export
    from churnplan.export import excel, html

    out.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("writing Excel workbook", total=None)
    excel.write_workbook(plan, out / WORKBOOK, tz=tz)
    progress.update(task, completed=1, total=1)
    task = progress.add_task("writing HTML report", total=None)
    html.write_report(plan, out / HTML, tz=tz, store_path=db)
    progress.update(task, completed=1, total=1)
    task = progress.add_task("writing CSV recommendations", total=None)
    csvs = csv_export.write_plan(plan, out) + [csv_export.write_summary(plan, out)]
    progress.update(task, completed=1, total=1)
    return {"workbook": out / WORKBOOK, "html": out / HTML, **{p.name: p for p in csvs}}


def _config(rpo: float, percentile: float, growth: float, bandwidth: float | None, compression: float,
            work_hours: str | None, work_mbps: float | None, offhours_mbps: float | None, timezone: str,
            exclude_disks: list[str] | None, start: str | None, end: str | None, architecture: str,
            ir_goal: str, prices: Path | None) -> PlanConfig:
    """The same plan options as `churnplan plan`, checked the same way."""
    from analytics.cost import load_prices
    from churnplan.cmd_plan import _when, parse_hours, parse_work_hours

    try:
        throttle = None
        if any(x is not None for x in (work_hours, work_mbps, offhours_mbps)):
            if work_mbps is None or offhours_mbps is None:
                raise ValueError("a throttle needs both --work-mbps and --offhours-mbps")
            ws, we = parse_work_hours(work_hours or "09:00-18:00")
            charts.check_zone(timezone)
            throttle = ThrottleSchedule(work_start=ws, work_end=we, work_mbps=work_mbps,
                                        offhours_mbps=offhours_mbps, timezone=timezone)
        if architecture not in ("classic", "modernized"):
            raise ValueError(f"--architecture {architecture!r}: use 'classic' or 'modernized'")
        return PlanConfig(rpo_min=rpo, percentile=percentile, growth_pct=growth, bandwidth_mbps=bandwidth,
                          compression=compression, throttle=throttle, exclude_disks=tuple(exclude_disks or ()),
                          start=_when(start, "--start"), end=_when(end, "--end"), architecture=architecture,
                          ir_goal_hours=parse_hours(ir_goal), prices=load_prices(prices) if prices else None)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _zone(tz: str | None) -> str:
    try:
        return charts.check_zone(tz) if tz else charts.local_zone()
    except ValueError as exc:
        raise _fail(f"--tz: {exc}") from exc


def run_dashboard(db: Path, port: int) -> int:
    """Serve the dashboard on 127.0.0.1 until interrupted; returns Streamlit's exit code."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer", "--", "--db", str(Path(db).resolve())]
    console.print(f"dashboard: [bold]http://127.0.0.1:{port}[/]  (Ctrl-C to stop)")
    proc = subprocess.Popen(cmd)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated CLI stops its server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _check_store(db: Path) -> None:
    try:
        store.connect(db, read_only=True, retries=10).close()
    except store.StoreError as exc:
        raise _fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    db_option = typer.Option(Path(store.DEFAULT_DB), "--db", help="DuckDB store file.")

    @app.command()
    def report(
        db: Path = db_option,
        out: Path = typer.Option(Path("report"), "--out", help="Directory for the workbook, HTML, CSVs and summary."),
        rpo: float = typer.Option(15.0, "--rpo", help="Desired RPO in minutes."),
        percentile: float = typer.Option(95.0, "--percentile", help="Percentile of churn/IOPS used as the peak."),
        growth: float = typer.Option(30.0, "--growth", help="Growth factor in percent applied to churn."),
        bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="Available bandwidth in Mbps (what-if)."),
        compression: float = typer.Option(1.0, "--compression", help="Bytes sent per byte written (0.5 halves it)."),
        work_hours: Optional[str] = typer.Option(None, "--work-hours", help="Throttle work hours, e.g. 09:00-18:00."),
        work_mbps: Optional[float] = typer.Option(None, "--work-mbps", help="Throttle bandwidth in work hours (Mbps)."),
        offhours_mbps: Optional[float] = typer.Option(None, "--offhours-mbps",
                                                      help="Throttle bandwidth off hours (Mbps)."),
        timezone: str = typer.Option("UTC", "--timezone", help="Time zone of the work hours and daily figures."),
        exclude_disks: Optional[list[str]] = typer.Option(
            None, "--exclude-disks", help="Glob on 'vmname/instance' or the disk label (repeatable)."),
        start: Optional[str] = typer.Option(None, "--start", help="First sample time to use (ISO, UTC)."),
        end: Optional[str] = typer.Option(None, "--end", help="Last sample time to use (ISO, UTC)."),
        architecture: str = typer.Option("classic", "--architecture", help="classic or modernized."),
        ir_goal: str = typer.Option("72h", "--ir-goal", help="Goal to finish initial replication, e.g. 72h or 3d."),
        interval: Optional[int] = typer.Option(None, "--interval", help="Sample interval in seconds."),
        prices: Optional[Path] = typer.Option(None, "--prices", help="Price JSON (default: the shipped example)."),
        tz: Optional[str] = typer.Option(None, "--tz", help="Time zone for displayed times (default: this machine's)."),
    ) -> None:
        """Write the Excel workbook, the offline HTML report and the CSV recommendations."""
        config = _config(rpo, percentile, growth, bandwidth, compression, work_hours, work_mbps, offhours_mbps,
                         timezone, exclude_disks, start, end, architecture, ir_goal, prices)
        zone = _zone(tz)
        with _progress() as progress:
            plan = build(db, config, interval, progress)
            written = write_all(plan, out, zone, db, progress)
        for kind, path in written.items():
            typer.echo(f"{kind}: {path}")

    @app.command()
    def dashboard(
        db: Path = db_option,
        port: int = typer.Option(8501, "--port", help="Port on 127.0.0.1."),
    ) -> None:
        """Serve the interactive dashboard on 127.0.0.1 (reads the store read-only)."""
        _check_store(db)
        raise typer.Exit(run_dashboard(db, port))

    @app.command()
    def demo(
        db: Path = typer.Option(Path(store.DEFAULT_DB), "--db", help="Store to fill with the sample estate."),
        out: Path = typer.Option(Path("report"), "--out", help="Directory for the reports."),
        no_dashboard: bool = typer.Option(False, "--no-dashboard", help="Stop after writing the reports."),
        port: int = typer.Option(8501, "--port", help="Dashboard port on 127.0.0.1."),
        bandwidth: Optional[float] = typer.Option(
            None, "--bandwidth", help="Bandwidth (Mbps) for the what-if; default: the plan's 95 % recommendation."),
        tz: Optional[str] = typer.Option(None, "--tz", help="Time zone for displayed times."),
    ) -> None:
        """Sample estate -> store -> plan -> reports -> dashboard, in one go."""
        from churnplan import samples

        zone = _zone(tz)
        with _progress() as progress:
            task = progress.add_task(f"loading the sample estate into {db}", total=None)
            try:
                con = store.connect(db)
            except store.StoreError as exc:
                raise _fail(str(exc)) from exc
            try:
                con.execute("SET enable_progress_bar = false")
                counts = samples.load_into(con)
            finally:
                con.close()
            progress.update(task, completed=1, total=1,
                            description=f"store {db}: {counts.vms} VMs, {counts.disks} disks, "
                                        f"{counts.samples:,} samples")
            config = PlanConfig(bandwidth_mbps=bandwidth)
            plan = build(db, config, None, progress)
            if bandwidth is None:
                chosen = _recommended_mbps(plan)
                if chosen:
                    progress.console.print(f"what-if at the plan's recommendation: {chosen:,.0f} Mbps "
                                           f"(RPO {plan.config.rpo_min:g} min met 95 % of the time)")
                    plan = build(db, PlanConfig(bandwidth_mbps=chosen), None, progress)
            written = write_all(plan, out, zone, db, progress)
        for kind, path in written.items():
            typer.echo(f"{kind}: {path}")
        typer.echo(f"open {written['html']} in a browser for the offline report")
        if not no_dashboard:
            raise typer.Exit(run_dashboard(db, port))


def _recommended_mbps(plan: Plan) -> float | None:
    """The plan's bandwidth for the estate at its RPO met 95 % of the time (the planner's usual figure)."""
    bw = plan.bandwidth
    if bw.empty:
        return None
    pick = bw[(bw["rpo_min"] == plan.config.rpo_min) & (bw["compliance_goal_pct"] == 95.0)]
    if "scope" in pick:
        estate = pick[pick["scope"] == "estate"]
        pick = estate if len(estate) else pick
    return float(pick["required_mbps"].iloc[0]) if len(pick) else None
