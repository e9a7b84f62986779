"""Monthly cost of protection from a price file: ASR licences, replica disks, cache and recovery-point storage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from churnplan.core.errors import ConfigError

EXAMPLE_PRICES = Path(__file__).resolve().parent / "data" / "prices-example.json"
_REQUIRED = ("date", "currency", "asr_per_protected_instance_month", "standard_hdd_gb_month",
             "premium_ssd_disk_month", "cache_storage_gb_month", "recovery_point_storage_gb_month",
             "recovery_point_retention_days")


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check a price file (default: the shipped, dated example); errors name the file and field."""
    path = Path(path) if path is not None else EXAMPLE_PRICES
    try:
        prices = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read price file ({exc.strerror})") from exc
    check_prices(prices, str(path))
    return prices


def check_prices(prices: dict[str, Any], where: str = "prices") -> None:
    """Raise ValueError naming `where` and the field when a required field is missing or not a number >= 0."""
    if not isinstance(prices, dict):
        raise ConfigError(f"{where}: expected a JSON object")
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
