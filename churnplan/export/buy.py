"""The one-page "What to buy": the link (or throttle schedule), servers with sizes, replica disks by tier, cache,
initial replication against its goal, the VMs that will miss the RPO or cannot be protected and why, Azure cores,
cost and confidence; and the units and assumptions every figure rests on. The HTML report, the workbook and the
dashboard's first page all render these same rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churnplan.analytics.model import Plan
from churnplan.analytics.vocabulary import of_protected_vms


@dataclass(frozen=True)
class BuyItem:
    """One line of the page: what (e.g. "Link"), the answer, and why or what it covers."""

    what: str
    answer: str
    detail: str = ""


def _link(plan: Plan) -> BuyItem:
    s, cfg = plan.summary, plan.config
    if s.needs_telemetry:
        return BuyItem("Link", "needs telemetry", "a plan on inventory alone: collect or import samples for "
                                                  + ", ".join(s.needs_telemetry))
    cover = s.coverage or {}
    remediated = (cover.get("required_mbps_if_remediated_by_goal_pct") or {}).get("100")
    extra = f"; if the incompatible VMs were remediated: {remediated:,.0f} Mbps" if cover.get("left_out") \
        and remediated is not None else ""
    if cfg.throttle is not None:
        th = cfg.throttle
        days = ",".join(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d] for d in th.workdays)
        needed = ", ".join(f"{g} %: {'not reachable' if m is None else f'{m:,.0f} Mbps'}"
                           for g, m in (s.throttle_work_mbps_needed_by_goal_pct or {}).items())
        return BuyItem("Throttle schedule",
                       f"{th.work_mbps:g} Mbps in work hours ({th.work_start:%H:%M}-{th.work_end:%H:%M} {days}, "
                       f"{th.timezone}), {th.offhours_mbps:g} Mbps off hours: RPO met "
                       f"{s.throttle_schedule_compliance_pct or s.compliance_pct:.1f} % of the time",
                       f"work-hours rate needed at these off hours, by goal: {needed}. {cover.get('statement', '')}")
    given = "the bandwidth given" if cfg.bandwidth_mbps is not None else "RPO met 100 % of the time"
    return BuyItem("Link", f"{s.planned_mbps:,.0f} Mbps ({given}, RPO {cfg.rpo_min:g} min, "
                           f"{s.compliance_pct:.1f} % compliance)",
                   f"replay of the protected VMs' churn with {cfg.growth_pct:g} % growth (compatibility at "
                   f"p{cfg.percentile:g}); {cover.get('statement', '')}{extra}")


def _servers(plan: Plan) -> BuyItem:
    ps = plan.process_servers
    sizes = "; ".join(f"{r.server}: {r.vcpu} vCPU, {r.ram_gib:g} GiB RAM, {r.cache_gib:,.0f} GiB cache disk"
                      for r in ps.itertuples()) if len(ps) else "none (no protected VM)"
    if plan.summary.architecture == "modernized":
        return BuyItem("Replication appliances (modernized)", f"{plan.summary.replication_appliances}", sizes)
    return BuyItem("Configuration / process servers (classic)",
                   f"{plan.summary.configuration_servers} configuration server(s), {plan.summary.process_servers} "
                   "process server(s) in all", sizes)


def _disks(plan: Plan) -> BuyItem:
    d = plan.disks
    d = d[~d["excluded"].astype(bool) & of_protected_vms(d, plan.vms)]
    tiers = d["target_tier"].astype(str).value_counts()
    unknown = int(d["capacity_gib"].isna().sum())
    text = ", ".join(f"{t} x {n}" for t, n in tiers.items()) or "none"
    detail = "target managed disk per replicated disk (Standard = standard HDD replica)"
    if unknown:
        detail += f"; {unknown} disk size(s) unknown: tiers, storage and seeding for them are unknown, not zero"
    return BuyItem("Replica disks by tier", text, detail)


def _initial_replication(plan: Plan) -> BuyItem:
    s = plan.summary
    goal = f"goal {s.ir_goal_hours or 0:g} h"
    if s.seed_gib is None:
        return BuyItem("Initial replication", f"unknown ({goal})", "disk sizes unknown: the seed size is unknown")
    if s.needs_telemetry:
        return BuyItem("Initial replication", f"{s.seed_gib:,.0f} GiB to seed ({goal})",
                       "the time needs telemetry (the link the plan counts on comes from the churn)")
    need = f"{s.ir_mbps_for_goal or 0:,.0f} Mbps meets the goal, or seed in the {s.ir_batches} batch(es) listed"
    if s.ir_hours is None:
        return BuyItem("Initial replication", f"not possible on this link ({goal})", need)
    state = "met" if s.ir_goal_met else "MISSED"
    return BuyItem("Initial replication", f"{s.ir_hours:,.1f} h for {s.seed_gib:,.0f} GiB ({goal}: {state})",
                   need if not s.ir_goal_met else f"compression {plan.config.compression:g} applied to the seed")


def _misses(plan: Plan) -> BuyItem:
    v = plan.vms
    if "fair_share_compliance_pct" not in v.columns:
        return BuyItem("VMs that will miss the RPO", "none on the planned link",
                       "the plan's link meets the RPO 100 % of the time for every protected VM")
    miss = v[v["fair_share_compliance_pct"].fillna(100.0) < 100.0].sort_values("fair_share_compliance_pct")
    rows = [f"{r.name}: {r.fair_share_compliance_pct:.1f} % within RPO, worst lag {r.fair_share_max_lag_min:,.0f} min"
            for r in miss.itertuples()]
    return BuyItem("VMs that will miss the RPO", f"{len(miss)}", "; ".join(rows) or "none")


def _blocked(plan: Plan) -> BuyItem:
    blocked = plan.summary.blocked_vms or []
    return BuyItem("VMs that cannot be protected", f"{len(blocked)}",
                   "; ".join(f"{b['name']}: {b['limits']}" for b in blocked) or "none")


def what_to_buy(plan: Plan) -> list[BuyItem]:
    """The page's rows, in reading order."""
    s = plan.summary
    cores = ", ".join(f"{f}: {n}" for f, n in (s.azure_cores_by_family or {}).items()) or "none"
    tele = s.telemetry or {}
    items = [_link(plan), _servers(plan), _disks(plan),
             BuyItem("Cache storage accounts", f"{s.cache_storage_accounts}",
                     "standard general-purpose v2 accounts for the replication logs, placed by IOPS and churn"),
             _initial_replication(plan), _misses(plan), _blocked(plan),
             BuyItem("Azure vCPUs per family (target region quota)", cores, "size per VM in the Azure VM sizes table"),
             BuyItem("Monthly cost", f"{s.monthly_cost:,.0f} {s.currency} (first month {s.first_month_cost or 0:,.0f})",
                     f"prices of {s.prices_date}" + (" (EXAMPLE prices, not a quote)" if s.prices_are_example else "")
                     + (f"; {s.unpriced_disks} disk(s) of unknown size not priced" if s.unpriced_disks else "")),
             BuyItem("Confidence", f"{tele['confidence']} of 5" if tele else "not assessed in this plan",
                     "; ".join(list(tele.get("confidence_reasons", [])) + list(tele.get("telemetry_warnings", [])))
                     if tele else "run `churnplan quality` (a plan read block by block does not hold every sample)")]
    for run in s.outage_catchup or []:
        items.append(BuyItem(f"After a {run['outage_h']:g} h outage ({run['scope']})",
                             f"back within RPO after {_h(run['worst_catchup_h'])} (worst start), "
                             f"{_h(run['typical_catchup_h'])} (typical)",
                             f"cache for the backlog {float(str(run['cache_gib'])):,.1f} GiB"))
    return items


def _h(x: object) -> str:
    return f"{x:,.1f} h" if isinstance(x, float) else "not within the profile"


def assumptions(plan: Plan, tz: str) -> list[BuyItem]:
    """The units and assumptions block."""
    s, cfg = plan.summary, plan.config
    return [BuyItem("Churn and sizes", "KiB/s, MiB/s, GiB, TiB (1024-based)"),
            BuyItem("Link rates", "Mbps = 10^6 bit/s"),
            BuyItem("Growth", f"{cfg.growth_pct:g} % on planned figures only; measured figures (max, "
                              f"measured peak {s.measured_peak_churn_mibps:,.1f} MiB/s) carry none"),
            BuyItem("Percentile", f"p{cfg.percentile:g} of churn and IOPS for compatibility and disk tiers; "
                                  "'peak' means the maximum"),
            BuyItem("Compression", f"{cfg.compression:g} x: bytes sent per byte written, on churn and seed alike"),
            BuyItem("Time zone", tz),
            BuyItem("Data window", f"{s.first_sample_utc or '-'} to {s.last_sample_utc or '-'} UTC, "
                                   f"{s.days_profiled:g} days at {s.interval_s:g} s"),
            BuyItem("RPO", f"{cfg.rpo_min:g} min; architecture {s.architecture}; retention {s.retention_h:g} h")]


def frame(items: list[BuyItem]) -> pd.DataFrame:
    """The rows as a what/answer/detail table (workbook, dashboard)."""
    return pd.DataFrame([(i.what, i.answer, i.detail) for i in items], columns=["what", "answer", "detail"])
