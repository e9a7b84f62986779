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


VCENTER_HELP = "Only this vCenter's VMs (repeatable; default: every vCenter in the store)."


def vcenter_option() -> Any:
    """The shared --vcenter option (repeatable): one declaration for every command reading the store."""
    return typer.Option(None, "--vcenter", help=VCENTER_HELP)


def with_vcenter_option(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command's own `vcenter` parameter the shared --vcenter option."""
    sig = inspect.signature(func)
    params = [p.replace(annotation=list[str] | None, default=vcenter_option()) if p.name == "vcenter" else p
              for p in sig.parameters.values()]
    func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return func


def checked_vcenters(con: Any, db: Path, names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """--vcenter names as given, each one the store holds; else exit 2 naming the vCenters it does hold."""
    if not names:
        return ()
    held = store.vcenters(con)
    unknown = [n for n in dict.fromkeys(names) if n not in held]
    if unknown:
        raise fail(f"--vcenter {', '.join(map(repr, unknown))}: {db} holds no such vCenter; it holds "
                   + (", ".join(held) if held else "none"))
    return tuple(dict.fromkeys(names))


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
    _option("workdays", str, "Mon-Fri", "--workdays",
            "Days the throttle's work hours apply, e.g. Mon-Fri or Mon,Tue,Sat (other days are off-hours)."),
    _option("timezone", str | None, None, "--timezone",
            "Time zone of the work hours and daily figures (default: the estate's, recorded by import or "
            "`init --timezone`; else UTC).", v.zone()),
    _option("exclude_disks", list[str] | None, None, "--exclude-disks",
            "Glob on 'vmname/instance' or the disk label (repeatable)."),
    _option("start", str | None, None, "--start", "First sample time to use (ISO, UTC).",
            v.when("end")),
    _option("end", str | None, None, "--end", "Last sample time to use (ISO, UTC).",
            v.when("start", later=True)),
    _option("architecture", str, _DEFAULT.architecture, "--architecture",
            "modernized (replication appliances, the default for new VMware deployments) or classic "
            "(configuration + process servers)."),
    _option("ir_goal", str, f"{_DEFAULT.ir_goal_hours:g}h", "--ir-goal",
            "Goal to finish initial replication, e.g. 72h or 3d.", v.duration("h")),
    _option("interval", int | None, None, "--interval", "Sample interval in seconds (default: longest span).",
            v.positive("s")),
    _option("prices", Path | None, None, "--prices",
            "Prices: churnplan JSON or an Azure Retail Prices API export (default: the shipped dated example).",
            v.input_file()),
    _option("outage", str | None, None, "--outage", "Link outage to recover from, e.g. 4h (catch-up and cache).",
            v.duration("h")),
    _option("retention", str, "24h", "--retention", "Recovery-point retention, e.g. 24h or 3d (ASR: up to 15 days).",
            v.duration("h")),
    _option("app_consistent_hours", float | None, None, "--app-consistent-hours",
            "App-consistent snapshot frequency in hours (1-12; default: off)."),
    _option("region", str | None, None, "--region",
            "Region of a Retail Prices API export holding several (armRegionName, e.g. westeurope)."),
    _option("standard_disks", str, "hdd", "--standard-disks", "Replica disk type of standard targets: hdd or ssd."),
    inspect.Parameter("vcenter", inspect.Parameter.KEYWORD_ONLY, annotation=list[str] | None,
                      default=vcenter_option()),
]


def with_plan_options(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command that takes **options the shared plan options, after its own parameters."""
    own = [p for p in inspect.signature(func).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = inspect.Signature(own + PLAN_OPTIONS)  # type: ignore[attr-defined]
    return func


# Outage catch-up and billed-cost options: `churnplan outage` and `churnplan cost` take them now; append them to
# PLAN_OPTIONS once plan/report include those figures.
OUTAGE_OPTIONS = [
    _option("outage", str, "4h", "--outage", "Link outage to recover from, e.g. 4h or 90m."),
    _option("outage_step", str, "1h", "--outage-step", "Try an outage start every this often over the profile."),
]
RETENTION_OPTIONS = [
    _option("retention", str, "24h", "--retention", "Recovery-point retention, e.g. 24h or 3d (ASR: up to 15 days)."),
    _option("app_consistent_hours", float | None, None, "--app-consistent-hours",
            "App-consistent snapshot frequency in hours (1-12; default: off)."),
    _option("region", str | None, None, "--region",
            "Region of a Retail Prices API export holding several (armRegionName, e.g. westeurope)."),
]


def with_options(*extra: list[inspect.Parameter]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Like with_plan_options, with `extra` option lists between the command's own parameters and the plan's."""
    def wrap(func: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(func).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        added = [p for group in extra for p in group]
        names = {p.name for p in own + added}   # an extra option replaces the plan option of its name
        func.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            own + added + [p for p in PLAN_OPTIONS if p.name not in names])
        return func
    return wrap


def hours_option(text: str, flag: str) -> float:
    """Hours in a duration typed for `flag` ('4h', '90m', '3d' or bare hours)."""
    return parse_duration(text, flag, bare_unit="h") / 3600


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


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_workdays(text: str) -> tuple[int, ...]:
    """'Mon-Fri', 'Mon,Wed,Sat' or 'Sun-Tue' as weekday numbers (Monday = 0), sorted."""
    days: set[int] = set()
    for part in (text or "").lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e[:3] not in _DAYS or len(e) < 3 for e in ends):
            raise ValueError(f"--workdays {text!r}: use day names such as Mon-Fri or Mon,Wed,Sat")
        a, b = _DAYS.index(ends[0][:3]), _DAYS.index(ends[-1][:3])
        days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return tuple(sorted(days))


def _when(text: str | None, flag: str) -> datetime | None:
    """An ISO date or time given to `flag` (None when not given)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{flag} {text!r}: use an ISO date or time, e.g. 2026-11-09 or 2026-11-09T08:00") from exc


def _estimate_settings(o: dict[str, Any]) -> dict[str, Any]:
    """The #13 estimate settings of a PlanConfig: outage, retention, prices, standard replica disks."""
    from churnplan.analytics.pricing import load_price_book

    if o.get("standard_disks", "hdd") not in ("hdd", "ssd"):
        raise ValueError(f"--standard-disks {o['standard_disks']!r}: use hdd or ssd")
    outage = o.get("outage")
    return {"outage_h": hours_option(outage, "--outage") if outage else None,
            "retention_h": hours_option(o.get("retention") or "24h", "--retention"),
            "app_consistent_h": o.get("app_consistent_hours"),
            "standard_disks": f"standard_{o.get('standard_disks', 'hdd')}",
            "price_book": load_price_book(o["prices"], o.get("region")) if o.get("prices") else None}


def estate_zone(db: Path) -> str | None:
    """The estate's time zone recorded in the store (by import or `init --timezone`), if any; None also when
    the store cannot be opened (the command's own read names that problem)."""
    try:
        con = store.connect(db, read_only=True, retries=10)
    except store.StoreError:
        return None
    try:
        return store.estate_timezone(con)
    finally:
        con.close()


def config_from_options(options: dict[str, Any], db: Path | None = None) -> PlanConfig:
    """A PlanConfig from the parsed PLAN_OPTIONS; bad values raise typer.Exit(2) with a plain message. Without
    --timezone, the zone is the estate's recorded in `db`, else UTC."""

    o = {**options, "timezone": options.get("timezone") or (estate_zone(db) if db else None) or _DEFAULT.timezone}
    try:
        throttle = None
        check_zone(o["timezone"])
        if any(o[k] is not None for k in ("work_hours", "work_mbps", "offhours_mbps")):
            if o["work_mbps"] is None or o["offhours_mbps"] is None:
                raise ValueError("a throttle needs both --work-mbps and --offhours-mbps")
            ws, we = parse_work_hours(o["work_hours"] or "09:00-18:00")
            throttle = ThrottleSchedule(work_start=ws, work_end=we, work_mbps=o["work_mbps"],
                                        offhours_mbps=o["offhours_mbps"], timezone=o["timezone"],
                                        workdays=parse_workdays(o.get("workdays") or "Mon-Fri"))
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
            ir_goal_hours=_ir_goal_hours(o["ir_goal"]), vcenters=tuple(dict.fromkeys(o.get("vcenter") or ())),
            **_estimate_settings(o))
    except ValueError as exc:
        raise fail(str(exc)) from exc


def read_and_plan(db: Path, config: PlanConfig, interval: int | None, progress: Progress) -> Plan:
    """Plan the store (read-only, retrying while a writer holds it), reading its samples a block of VMs at a
    time (churnplan.engines.store: memory bounded by one block, not the estate), and close it again."""
    from churnplan.engines.store import plan_from_store

    try:  # checked before the first progress line, so a refused store shows one line and nothing else
        con = store.connect(db, read_only=True, retries=10)
    except store.StoreError as exc:
        raise fail(str(exc)) from None
    try:
        checked_vcenters(con, db, config.vcenters)
    except BaseException:
        con.close()
        raise
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
            plan = plan_from_store(con, config, interval, empty_ok=True)
            if not plan.summary.vms:
                raise fail(f"{db}: no inventory and no samples to plan from (run `churnplan collect`, "
                           "`churnplan import` or `churnplan samples`)")
            if plan.summary.needs_telemetry:
                console.print("[yellow]warning:[/] no samples: planning from the inventory alone (compatibility by "
                              "size and count, target disks by size, cost skeleton); churn figures need telemetry")
            if auto is not None:
                plan.summary.config["growth_auto"] = auto.as_dict()
        except ValueError as exc:
            raise fail(str(exc)) from exc
        finally:
            con.close()
        progress.update(task, description=f"planned {plan.summary.vms} VMs, {plan.summary.disks} disks")
    return plan
