"""Monthly cost of protection: ASR licences, replica disks, cache and recovery-point storage.

`estimate` bills as Azure does (disks by tier, the licence after the free 31 days, recovery points from the
retention window) from a PriceBook (analytics.pricing); `monthly_cost` and `load_prices` are the earlier
rough model the plan pipeline still calls (per-GB standard disks, a day of churn times retention days).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnplan.analytics import disk_tiers, pricing
from churnplan.analytics.pricing import ASR_METER, CACHE_METER, SNAPSHOT_METER, PriceBook, read_price_json
from churnplan.core.errors import ConfigError

EXAMPLE_PRICES = pricing.EXAMPLE_PRICES
_REQUIRED = ("date", "currency", "asr_per_protected_instance_month", "standard_hdd_gb_month",
             "premium_ssd_disk_month", "cache_storage_gb_month", "recovery_point_storage_gb_month",
             "recovery_point_retention_days")


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check a price file (default: the shipped, dated example); errors name the file and field."""
    path = Path(path) if path is not None else EXAMPLE_PRICES
    prices = read_price_json(path)
    check_prices(prices, str(path))
    return prices


def check_prices(prices: dict[str, Any], where: str = "prices") -> None:
    """Raise ValueError naming `where` and the field when a required field is missing or not a number >= 0."""
    if not isinstance(prices, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    if "Items" in prices:
        raise ConfigError(f"{where}: an Azure Retail Prices API export; plan, report and cost read it as a price "
                          "book (pricing.load_price_book), the rough cost reads churnplan's price JSON")
    for key in _REQUIRED:
        if key not in prices:
            raise ConfigError(f"{where}: field {key!r} missing")
    for key in _REQUIRED[2:]:
        value = prices[key]
        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:  # JSON true is no price
                raise ConfigError(f"{where}: field {key!r} must hold numbers >= 0, got {v!r}")


def monthly_cost(disks: pd.DataFrame, protected_vms: int, churn_gb_day: float, prices: dict[str, Any]) -> pd.DataFrame:
    """Cost lines (item, quantity, unit, unit_price, monthly) for included disks of protected VMs."""
    cur = prices["currency"]
    rows: list[tuple[str, float, str, Any]] = [  # (item, quantity, unit, unit_price)
        ("ASR protected instances", protected_vms, "VM", prices["asr_per_protected_instance_month"])]
    std = disks[disks["target_tier"] == "Standard"]
    rows.append(("Standard HDD replica disks", float(std["capacity_gb"].sum()), "GB",
                 prices["standard_hdd_gb_month"]))
    tiers = prices["premium_ssd_disk_month"]
    for tier, n in disks.loc[disks["target_tier"] != "Standard", "target_tier"].value_counts().sort_index().items():
        if tier not in tiers:
            raise ConfigError(f"prices: field 'premium_ssd_disk_month' has no price for {tier}")
        rows.append((f"Premium SSD {tier} replica disks", int(n), "disk", tiers[tier]))
    rows.append(("Cache storage account (one day of churn)", churn_gb_day, "GB", prices["cache_storage_gb_month"]))
    rp_gb = churn_gb_day * prices["recovery_point_retention_days"]
    rows.append(("Recovery-point snapshots", rp_gb, "GB", prices["recovery_point_storage_gb_month"]))
    out = pd.DataFrame(rows, columns=["item", "quantity", "unit", "unit_price"])
    out["monthly"] = out["quantity"] * out["unit_price"]
    out["currency"] = cur
    return out


# --- Cost as Azure bills it ---------------------------------------------------------------------------------

HOURS_PER_MONTH = 730.0                    # Azure's monthly convention for prorating
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
ASR_FREE_DAYS = 31                         # "no Azure Site Recovery charges for the first 31 days" (site-recovery-faq)
REPLICA_DISK_COLUMNS = ["size_gib", "family", "min_tier"]
LINE_COLUMNS = ["item", "meter", "quantity", "unit", "unit_price", "first_month", "monthly"]


def licence_by_month(start_days: np.ndarray | list[float], price_month: float, months: int = 3) -> pd.DataFrame:
    """ASR licence per month from protection start (730-hour months): each instance is free for its first 31
    days, then prorated by the days protected. `start_days`: day each instance's protection starts (0 = day 0).

    Columns: month (1-based), billed_instances (instance-months, fractional), cost.
    """
    start = np.asarray(start_days, dtype=float)[:, None]
    m = np.arange(1, months + 1)[None, :]
    lo, hi = (m - 1) * DAYS_PER_MONTH, m * DAYS_PER_MONTH
    charged = np.clip(hi - np.maximum(lo, start + ASR_FREE_DAYS), 0.0, DAYS_PER_MONTH)
    billed = charged.sum(axis=0) / DAYS_PER_MONTH
    return pd.DataFrame({"month": m[0], "billed_instances": billed, "cost": billed * price_month})


def replica_disks_from_targets(disks: pd.DataFrame, standard_family: str = "standard_hdd") -> pd.DataFrame:
    """Replica disks (size_gib, family, min_tier) from disk_types.target_disks output of the protected, included
    disks: 'Standard' targets go to `standard_family`; premium ones at least at the tier their IOPS and
    throughput need, and P20 when the churn needs P20 limits (Yes*). Unknown capacity stays NaN (unbillable).

    Reads capacity_gb, target_tier, bumped, peak_iops, peak_mbps_rw.
    """
    premium = (disks["target_tier"].astype(str) != "Standard").to_numpy()
    iops = disks["peak_iops"].fillna(0).to_numpy(float)
    mbps = disks["peak_mbps_rw"].fillna(0).to_numpy(float)
    family = np.where(premium, "premium_ssd", standard_family)
    min_tier = np.where(premium, disk_tiers.tier_for_performance("premium_ssd", iops, mbps),
                        disk_tiers.tier_for_performance(standard_family, iops, mbps))
    p20 = np.asarray(disks["bumped"].fillna(False), dtype=bool) & premium
    min_tier = np.where(p20, disk_tiers.larger_tier("premium_ssd", min_tier, np.full(len(disks), "P20")), min_tier)
    return pd.DataFrame({"size_gib": disks["capacity_gb"].to_numpy(float), "family": family, "min_tier": min_tier})


def disk_lines(replicas: pd.DataFrame, book: PriceBook) -> tuple[pd.DataFrame, int]:
    """One cost line per billed tier (disks of that tier x its monthly price), and the count of disks whose
    size is unknown or beyond the largest tier (left out of the cost, never priced as 0 GiB)."""
    rows = []
    unknown = 0
    for family, part in replicas.groupby("family", sort=True):
        tiers = disk_tiers.billed_tier(part["size_gib"].to_numpy(float), str(family),
                                       part["min_tier"].fillna("").to_numpy(object))
        known = part["size_gib"].notna().to_numpy() & (tiers != disk_tiers.NO_TIER)
        unknown += int((~known).sum())
        counts = pd.Series(tiers[known]).value_counts()
        order = disk_tiers.tier_table().set_index("tier")["size_gib"]
        for tier in sorted(counts.index, key=lambda t: order[t]):
            price = book.disk_price(tier)
            n = int(counts[tier])
            rows.append((f"{disk_tiers.FAMILY_NAMES[str(family)]} {tier} replica disks",
                         disk_tiers.disk_meter(tier), n, "disk", price, n * price, n * price))
    return pd.DataFrame(rows, columns=LINE_COLUMNS), unknown


@dataclass(frozen=True)
class CostEstimate:
    """Cost lines (item, meter, quantity, unit, unit_price, first_month, monthly) and what they rest on."""

    lines: pd.DataFrame
    currency: str
    prices_date: str
    prices_source: str
    prices_example: bool
    licence: pd.DataFrame          # month, billed_instances, cost
    unpriced_disks: int            # replica disks of unknown size (or beyond every tier), not in the cost

    @property
    def monthly(self) -> float:
        """Steady-state monthly cost (every instance past its free 31 days)."""
        return float(self.lines["monthly"].sum())

    @property
    def first_month(self) -> float:
        """Cost of the first 730 hours from protection start."""
        return float(self.lines["first_month"].sum())

    def summary(self) -> dict[str, Any]:
        """JSON-able headline figures for summary.json."""
        return {"monthly_cost": self.monthly, "first_month_cost": self.first_month, "currency": self.currency,
                "prices_date": self.prices_date, "prices_source": self.prices_source,
                "prices_are_example": self.prices_example, "unpriced_disks": self.unpriced_disks}


def estimate(replicas: pd.DataFrame, protection_start_days: np.ndarray | list[float], snapshot_gib: float,
             cache_gib: float, book: PriceBook) -> CostEstimate:
    """Monthly cost of protecting the instances starting on `protection_start_days` (one entry per protected
    VM), with their replica disks (REPLICA_DISK_COLUMNS), `snapshot_gib` recovery-point data held on average
    (recovery_points.window_gib) and `cache_gib` in the cache storage account. Storage is billed from day one;
    the licence after 31 days (its first_month is month 1, its monthly the steady state)."""
    lines, unknown = disk_lines(replicas, book)
    starts = np.asarray(protection_start_days, dtype=float)
    asr_price = book.price(ASR_METER) if starts.size else 0.0
    licence = licence_by_month(starts, asr_price)
    extra: list[tuple[str, str, float, str, float, float, float]] = [
        ("ASR protected instances (free for the first 31 days)", ASR_METER, int(starts.size), "instance",
         asr_price, float(licence["cost"].iloc[0]), starts.size * asr_price)]
    if snapshot_gib > 0:
        p = book.price(SNAPSHOT_METER)
        extra.append(("Recovery-point snapshots", SNAPSHOT_METER, snapshot_gib, "GiB", p, snapshot_gib * p,
                      snapshot_gib * p))
    if cache_gib > 0:
        p = book.price(CACHE_METER)
        extra.append(("Cache storage account", CACHE_METER, cache_gib, "GiB", p, cache_gib * p, cache_gib * p))
    lines = pd.concat([pd.DataFrame(extra[:1], columns=LINE_COLUMNS), lines,
                       pd.DataFrame(extra[1:], columns=LINE_COLUMNS)], ignore_index=True)
    return CostEstimate(lines, book.currency, book.date, book.source, book.example, licence, unknown)
