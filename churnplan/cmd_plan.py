"""`churnplan plan`: size ASR replication from the store and write the plan's CSVs and summary.json."""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from analytics.cost import load_prices
from analytics.model import PlanConfig, ThrottleSchedule
from analytics.plan import build_plan
from churnplan import store
from churnplan.export import csv as csv_export

console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def parse_hours(text: str) -> float:
    """'72h', '3d', '90m' or a bare number of hours."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hdm]?)\s*", text or "")
    if not m:
        raise ValueError(f"--ir-goal {text!r}: use e.g. 72h, 3d or 90m")
    value, unit = float(m.group(1)), m.group(2) or "h"
    return value * {"h": 1.0, "d": 24.0, "m": 1 / 60}[unit]


def parse_work_hours(text: str) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not m:
        raise ValueError(f"--work-hours {text!r}: use HH:MM-HH:MM, e.g. 09:00-18:00")
    h1, m1, h2, m2 = map(int, m.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"--work-hours {text!r}: {exc}") from exc
    if end <= start:
        raise ValueError(f"--work-hours {text!r}: the end must be after the start")
    return start, end


def _when(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{flag} {text!r}: use an ISO date or time, e.g. 2026-11-09 or 2026-11-09T08:00") from exc


def plan_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path = typer.Option(..., "--out", help="Directory for vms.csv, disks.csv, ... and summary.json."),
    rpo: float = typer.Option(15.0, "--rpo", help="Desired RPO in minutes."),
    percentile: float = typer.Option(95.0, "--percentile", help="Percentile of churn/IOPS used as the peak."),
    growth: float = typer.Option(30.0, "--growth", help="Growth factor in percent applied to churn."),
    bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="Available bandwidth in Mbps (what-if)."),
    compression: float = typer.Option(1.0, "--compression", help="Bytes sent per byte written (0.5 halves it)."),
    work_hours: Optional[str] = typer.Option(None, "--work-hours", help="Throttle work hours, e.g. 09:00-18:00."),
    work_mbps: Optional[float] = typer.Option(None, "--work-mbps", help="Throttle bandwidth in work hours (Mbps)."),
    offhours_mbps: Optional[float] = typer.Option(None, "--offhours-mbps", help="Throttle bandwidth off hours (Mbps)."),
    timezone: str = typer.Option("UTC", "--timezone", help="Time zone of the work hours and daily figures."),
    exclude_disks: Optional[list[str]] = typer.Option(None, "--exclude-disks",
                                                      help="Glob on 'vmname/instance' or the disk label (repeatable)."),
    start: Optional[str] = typer.Option(None, "--start", help="First sample time to use (ISO, UTC)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last sample time to use (ISO, UTC)."),
    architecture: str = typer.Option("classic", "--architecture", help="classic or modernized."),
    ir_goal: str = typer.Option("72h", "--ir-goal", help="Goal to finish initial replication, e.g. 72h or 3d."),
    interval: Optional[int] = typer.Option(None, "--interval", help="Sample interval in seconds (default: longest span)."),
    prices: Optional[Path] = typer.Option(None, "--prices", help="Price JSON (default: the shipped dated example)."),
) -> None:
    """Plan ASR replication: churn, compatibility, disks, process servers, bandwidth, RPO, IR and cost."""
    try:
        throttle = None
        if any(x is not None for x in (work_hours, work_mbps, offhours_mbps)):
            if work_mbps is None or offhours_mbps is None:
                raise ValueError("a throttle needs both --work-mbps and --offhours-mbps")
            ws, we = parse_work_hours(work_hours or "09:00-18:00")
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"--timezone {timezone!r}: unknown time zone") from exc
            throttle = ThrottleSchedule(work_start=ws, work_end=we, work_mbps=work_mbps,
                                        offhours_mbps=offhours_mbps, timezone=timezone)
        if architecture not in ("classic", "modernized"):
            raise ValueError(f"--architecture {architecture!r}: use 'classic' or 'modernized'")
        config = PlanConfig(rpo_min=rpo, percentile=percentile, growth_pct=growth, bandwidth_mbps=bandwidth,
                            compression=compression, throttle=throttle, exclude_disks=tuple(exclude_disks or ()),
                            start=_when(start, "--start"), end=_when(end, "--end"), architecture=architecture,
                            ir_goal_hours=parse_hours(ir_goal), prices=load_prices(prices) if prices else None)
    except ValueError as exc:
        raise _fail(str(exc))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(f"reading {db}", total=None)
        try:
            con = store.connect(db, read_only=True, retries=5)
        except store.StoreError as exc:
            raise _fail(str(exc))
        try:
            vms, disks = store.load_vms(con), store.load_disks(con)
            samples = store.load_samples(con, interval, config.start, config.end)
        finally:
            con.close()
        if samples.empty:
            raise _fail(f"{db}: no samples to plan from (run `churnplan collect`, `churnplan import` or "
                        "`churnplan samples`)")
        progress.update(task, description=f"read {len(vms)} VMs, {len(disks)} disks, {len(samples):,} samples",
                        total=1, completed=1)
        task = progress.add_task("planning", total=None)
        try:
            plan = build_plan(vms, disks, samples, config)
        except ValueError as exc:
            raise _fail(str(exc))
        progress.update(task, description="planned", total=1, completed=1)
        paths = csv_export.write_plan(plan, out) + [csv_export.write_summary(plan, out)]
    _print_summary(plan.summary)
    for p in paths:
        console.print(f"wrote {p}")


def _print_summary(s: dict) -> None:
    table = Table(title="ASR replication plan", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("days profiled", f"{s['days_profiled']:.1f} at {s['interval_s']:.0f} s"),
        ("VMs (Yes / Yes* / No)", f"{s['vms']} ({s['compatible_vms']} / {s['compatible_with_premium_vms']} / "
                                  f"{s['incompatible_vms']})"),
        ("disks (excluded)", f"{s['disks']} ({s['excluded_disks']})"),
        ("typical churn/day", f"{s['typical_churn_gb_day']:,.0f} GB"),
        ("bandwidth for RPO 100 % of the time", f"{s['required_mbps_100pct']:,.1f} Mbps"),
        ("planned bandwidth" + (" (throttle weekly average)" if s["config"]["throttle"] else ""),
         f"{s['planned_mbps']:,.1f} Mbps"),
        ("RPO compliance / max lag", f"{s['compliance_pct']:.2f} % / {s['max_lag_min']:.1f} min"),
        ("configuration servers / all process servers", f"{s['configuration_servers']} / {s['process_servers']}"),
        ("premium disks", f"{s['premium_disks']}"),
        ("initial replication", "not possible at this bandwidth" if s["ir_hours"] is None
         else f"{s['ir_hours']:,.1f} h in {s['ir_batches']} batch(es)"),
        ("monthly cost", f"{s['monthly_cost']:,.0f} {s['currency']} (prices of {s['prices_date']})"),
    ]
    if s.get("required_mbps_90pct") is not None:
        rows.insert(5, ("bandwidth for RPO 90 % of the time", f"{s['required_mbps_90pct']:,.1f} Mbps"))
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
