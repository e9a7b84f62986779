"""The plan options `churnplan plan` and `churnplan report` share: declared once, parsed once, planned once."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from pathlib import Path
from typing import Any
from collections.abc import Callable

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from churnplan.analytics.model import Plan, PlanConfig, ThrottleSchedule
from churnplan.analytics.vocabulary import Architecture
from churnplan.core import store
from churnplan.cli import validators as v
from churnplan.cli.errors import fail
from churnplan.core.errors import OptionError
from churnplan.core.durations import parse_duration
from churnplan.core.units import SECONDS_PER_HOUR
from churnplan.core.zones import check_zone

console = Console(stderr=True)
_DEFAULT = PlanConfig()  # the option defaults are the planner's, declared once in analytics.facts


def progress_bar() -> Progress:
    """A spinner with elapsed time on stderr, for reading the store and planning."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)


@contextmanager
def progress_step(progress: Progress, description: str) -> Iterator[TaskID]:
    """One unsized progress line, shown done when the block finishes; yields its task id."""
    task = progress.add_task(description, total=None)
    try:
        yield task
    except BaseException:
        progress.remove_task(task)  # a refusal is its one error line, not a half-drawn step
        raise
    progress.update(task, completed=1, total=1)


def _growth_option(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | float | None:
    """--growth: 'auto' as given, else a percentage checked like the other numbers (0 or more)."""
    if value is None or str(value).strip().lower() == "auto":
        return value
    try:
        number = float(value)
    except ValueError:
        raise OptionError(v.flag(param), f"{value!r} is not a number; give a percentage of 0 or more, or auto") \
            from None
    return v.non_negative("%")(ctx, param, number)


def _option(name: str, annotation: Any, default: Any, flag: str, help: str,
            callback: Callable[..., Any] | None = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=typer.Option(default, flag, help=help, callback=callback))


PLAN_OPTIONS = [
    _option("rpo", float, _DEFAULT.rpo_min, "--rpo", "Desired RPO in minutes.", v.positive("min")),
    _option("percentile", float, _DEFAULT.percentile, "--percentile", "Percentile of churn/IOPS used as the peak.",
            v.percentile()),
    _option("growth", str, f"{_DEFAULT.growth_pct:g}", "--growth",
            "Growth in percent applied to churn, or 'auto': fitted from the measured trend.", _growth_option),
    _option("bandwidth", float | None, None, "--bandwidth", "Available bandwidth in Mbps (what-if).",
            v.positive("Mbps")),
    _option("compression", float, _DEFAULT.compression, "--compression",
            "Bytes sent per byte written (0.5 halves it).", v.positive()),
    _option("work_hours", str | None, None, "--work-hours", "Throttle work hours, e.g. 09:00-18:00."),
    _option("work_mbps", float | None, None, "--work-mbps", "Throttle bandwidth in work hours (Mbps).",
            v.paired_rate("offhours_mbps")),
    _option("offhours_mbps", float | None, None, "--offhours-mbps", "Throttle bandwidth off hours (Mbps).",
            v.paired_rate("work_mbps")),
    _option("timezone", str, _DEFAULT.timezone, "--timezone", "Time zone of the work hours and daily figures.",
            v.zone()),
    _option("exclude_disks", list[str] | None, None, "--exclude-disks",
            "Glob on 'vmname/instance' or the disk label (repeatable)."),
    _option("start", str | None, None, "--start", "First sample time to use (ISO, UTC).",
            v.when("end")),
    _option("end", str | None, None, "--end", "Last sample time to use (ISO, UTC).",
            v.when("start", later=True)),
    _option("architecture", str, _DEFAULT.architecture, "--architecture", "classic or modernized."),
    _option("ir_goal", str, f"{_DEFAULT.ir_goal_hours:g}h", "--ir-goal",
            "Goal to finish initial replication, e.g. 72h or 3d.", v.duration("h")),
    _option("interval", int | None, None, "--interval", "Sample interval in seconds (default: longest span).",
            v.positive("s")),
    _option("prices", Path | None, None, "--prices", "Price JSON (default: the shipped dated example).",
            v.input_file()),
]


def with_plan_options(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command that takes **options the shared plan options, after its own parameters."""
    own = [p for p in inspect.signature(func).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = inspect.Signature(own + PLAN_OPTIONS)  # type: ignore[attr-defined]
    return func


def _ir_goal_hours(text: str) -> float:
    """'72h', '3d', '90m' or a bare number of hours."""
    try:
        return parse_duration(text, "--ir-goal", bare_unit="h") / SECONDS_PER_HOUR
    except ValueError:
        raise ValueError(f"--ir-goal {text!r}: use e.g. 72h, 3d or 90m") from None


def parse_work_hours(text: str) -> tuple[time, time]:
    """'HH:MM-HH:MM' as (start, end) local clock times; the end must come after the start."""
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
    """An ISO date or time given to `flag` (None when not given)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{flag} {text!r}: use an ISO date or time, e.g. 2026-11-09 or 2026-11-09T08:00") from exc


def config_from_options(options: dict[str, Any]) -> PlanConfig:
    """A PlanConfig from the parsed PLAN_OPTIONS; bad values raise typer.Exit(2) with a plain message."""
    from churnplan.analytics.cost import load_prices

    o = options
    try:
        throttle = None
        check_zone(o["timezone"])
        if any(o[k] is not None for k in ("work_hours", "work_mbps", "offhours_mbps")):
            if o["work_mbps"] is None or o["offhours_mbps"] is None:
                raise ValueError("a throttle needs both --work-mbps and --offhours-mbps")
            ws, we = parse_work_hours(o["work_hours"] or "09:00-18:00")
            throttle = ThrottleSchedule(work_start=ws, work_end=we, work_mbps=o["work_mbps"],
                                        offhours_mbps=o["offhours_mbps"], timezone=o["timezone"])
        if o["architecture"] not in tuple(Architecture):
            choices = " or ".join(repr(a.value) for a in Architecture)
            raise ValueError(f"--architecture {o['architecture']!r}: use {choices}")
        return PlanConfig(
            rpo_min=o["rpo"], percentile=o["percentile"], bandwidth_mbps=o["bandwidth"],
            growth_auto=str(o["growth"]).lower() == "auto",
            growth_pct=_DEFAULT.growth_pct if str(o["growth"]).lower() == "auto" else float(o["growth"]),
            compression=o["compression"], throttle=throttle, timezone=o["timezone"],
            exclude_disks=tuple(o["exclude_disks"] or ()),
            start=_when(o["start"], "--start"), end=_when(o["end"], "--end"),
            architecture=Architecture(o["architecture"]),
            ir_goal_hours=_ir_goal_hours(o["ir_goal"]), prices=load_prices(o["prices"]) if o["prices"] else None)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def read_and_plan(db: Path, config: PlanConfig, interval: int | None, progress: Progress) -> Plan:
    """Plan the store (read-only, retrying while a writer holds it), reading its samples a block of VMs at a
    time (churnplan.engines.store: memory bounded by one block, not the estate), and close it again."""
    from churnplan.engines.store import NoSamples, plan_from_store

    try:  # checked before the first progress line, so a refused store shows one line and nothing else
        con = store.connect(db, read_only=True, retries=10)
    except store.StoreError as exc:
        raise fail(str(exc)) from None
    with progress_step(progress, f"reading and planning {db}") as task:
        try:
            con.execute("SET enable_progress_bar = false")  # rich shows progress; DuckDB's bar would garble it
            auto = None
            if config.growth_auto:  # --growth auto: the fitted trend replaces the growth before planning
                from dataclasses import replace

                from churnplan.cli.forecast import growth_from_store

                auto = growth_from_store(con, config, interval)
                config = replace(config, growth_pct=auto.growth_pct)
                console.print(f"growth auto: {auto.note()}")
            plan = plan_from_store(con, config, interval, empty_ok=False)
            if auto is not None:
                plan.summary.config["growth_auto"] = auto.as_dict()
        except NoSamples:
            raise fail(f"{db}: no samples to plan from (run `churnplan collect`, `churnplan import` or "
                       "`churnplan samples`)") from None
        except ValueError as exc:
            raise fail(str(exc)) from exc
        finally:
            con.close()
        progress.update(task, description=f"planned {plan.summary.vms} VMs, {plan.summary.disks} disks")
    return plan
