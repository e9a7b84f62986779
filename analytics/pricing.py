"""Price books: the unit prices a cost estimate needs, from churnplan's own price JSON or an Azure Retail Prices
API export, keyed by the API's meter names, dated, and marked when they are only an example.

Retail export rules (azure-prices.md section 7): consumption rows only (no reservation, spot or dev/test rows),
one region and one currency, the first tier (tierMinimumUnits 0) of tiered meters, the latest
effectiveStartDate per meter, primary meter region preferred; `unitOfMeasure` is parsed, never assumed.
Storage "GB" in Azure meters is 2^30 bytes, so GB-month prices apply to GiB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnplan.analytics.disk_tiers import disk_meter
from churnplan.core.errors import ConfigError

DATA = Path(__file__).resolve().parent / "data"
EXAMPLE_PRICES = DATA / "prices-example.json"
EXAMPLE_RETAIL_PRICES = DATA / "retail-prices-example.json"

ASR_METER = "VM Replicated to Azure"          # per protected instance and month (sku 'Azure')
SNAPSHOT_METER = "LRS Snapshots"              # Standard HDD managed-disk snapshots, per GB-month
CACHE_METER = "Hot LRS Data Stored"           # GPv2 block blob capacity (the cache storage account), per GB-month

# Meter -> (accepted productNames, unit kind). Disk tiers are matched by pattern below.
_FIXED_METERS: dict[str, tuple[tuple[str, ...], str]] = {
    ASR_METER: (("",), "count"),              # "" = any product (the ASR product name varies by offer)
    SNAPSHOT_METER: (("Standard HDD Managed Disks",), "gb"),
    CACHE_METER: (("Blob Storage", "General Block Blob v2"), "gb"),
}
_DISK_METER = re.compile(r"^([PES]\d+) LRS Disk$")
_DISK_PRODUCTS = {"P": "Premium SSD Managed Disks", "E": "Standard SSD Managed Disks",
                  "S": "Standard HDD Managed Disks"}
_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*(GB|GiB)?\s*/\s*Month\s*$", re.IGNORECASE)
_PRODUCT_HINT = {ASR_METER: "serviceName 'Azure Site Recovery'",
                 SNAPSHOT_METER: "productName 'Standard HDD Managed Disks'",
                 CACHE_METER: "productName 'Blob Storage' or 'General Block Blob v2'"}

# churnplan price JSON: field -> meter (a dict field holds one price per tier).
_OWN_FIELDS = {"asr_per_protected_instance_month": ASR_METER, "recovery_point_storage_gb_month": SNAPSHOT_METER,
               "cache_storage_gb_month": CACHE_METER}
_OWN_TIER_FIELDS = ("premium_ssd_disk_month", "standard_ssd_disk_month", "standard_hdd_disk_month")


@dataclass(frozen=True)
class PriceBook:
    """Unit prices by Retail Prices API meter name: per instance-month (ASR), per disk-month (tiers), per
    GiB-month (snapshots, cache)."""

    source: str                      # the file read, for error messages
    date: str                        # the prices' date (retrieval, or the latest effective start used)
    currency: str
    region: str
    example: bool                    # True for the shipped illustrative prices: never a quote
    meters: Mapping[str, float] = field(default_factory=dict)

    def price(self, meter: str) -> float:
        """The unit price of `meter`; a ValueError naming the file, the meter and where it was looked for."""
        if meter not in self.meters:
            m = _DISK_METER.match(meter)
            hint = f"productName '{_DISK_PRODUCTS[m.group(1)[0]]}'" if m else _PRODUCT_HINT.get(meter, "")
            region = f" in region {self.region!r}" if self.region else ""
            raise ValueError(f"{self.source}: no price for meter {meter!r}{region}"
                             + (f" ({hint}, unit per month)" if hint else ""))
        return self.meters[meter]

    def disk_price(self, tier: str) -> float:
        """Monthly price of one managed disk of `tier` (e.g. 'P30', 'E10', 'S4'), LRS."""
        return self.price(disk_meter(tier))


def read_price_json(path: Path) -> Any:
    """The parsed JSON of a price file; a file that cannot be read or parsed is a ConfigError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read price file ({exc.strerror})") from exc


def load_price_book(path: str | Path | None = None, region: str | None = None, as_of: str | None = None) -> PriceBook:
    """Read a price file: churnplan's JSON (default: the shipped, dated example) or a Retail Prices API export
    (an object with `Items`, a list of such pages, or a list of items). Errors name the file."""
    path = Path(path) if path is not None else EXAMPLE_PRICES
    data = read_price_json(path)
    if isinstance(data, dict) and "Items" not in data:
        return book_from_own(data, str(path))
    return book_from_retail(data, str(path), region, as_of)


def book_from_own(prices: Mapping[str, Any], source: str = "prices") -> PriceBook:
    """A PriceBook from churnplan's price JSON (the format of prices-example.json)."""
    if not isinstance(prices, Mapping):
        raise ValueError(f"{source}: expected a JSON object")
    for key in ("date", "currency"):
        if not prices.get(key):
            raise ValueError(f"{source}: field {key!r} missing")
    meters: dict[str, float] = {}
    for key, meter in _OWN_FIELDS.items():
        if key in prices:
            meters[meter] = _number(prices[key], source, key)
    for key in _OWN_TIER_FIELDS:
        tiers = prices.get(key, {})
        if not isinstance(tiers, Mapping):
            raise ValueError(f"{source}: field {key!r} must map tiers to prices")
        for tier, value in tiers.items():
            meters[disk_meter(str(tier))] = _number(value, source, f"{key}.{tier}")
    return PriceBook(source, str(prices["date"]), str(prices["currency"]), str(prices.get("region", "")),
                     bool(prices.get("example", False)), meters)


def _number(value: Any, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:  # JSON true is no price
        raise ValueError(f"{source}: field {key!r} must be a number >= 0, got {value!r}")
    return float(value)


def _items(data: Any, source: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The items of an export and its first page's envelope (pages may be concatenated in a list)."""
    if isinstance(data, dict):
        pages = [data]
    elif isinstance(data, list) and data and isinstance(data[0], dict) and "Items" in data[0]:
        pages = data
    else:
        pages = [{"Items": data}]
    items: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        rows = page.get("Items") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise ValueError(f"{source}: page {n + 1}: 'Items' must be a list")
        items.extend(r for r in rows if isinstance(r, dict))
    return items, pages[0] if pages else {}


def _unit_kind(unit: str) -> tuple[str, float] | None:
    """('count' or 'gb', quantity per price) of a monthly unitOfMeasure such as '1/Month' or '1 GB/Month'."""
    m = _UNIT.match(unit or "")
    if not m:
        return None
    qty = float(m.group(1)) if m.group(1) else 1.0
    return ("gb" if m.group(2) else "count"), qty


def _meter_of(item: dict[str, Any]) -> tuple[str, str] | None:
    """(canonical meter, unit kind) when `item` is a row a cost estimate uses."""
    name, product = str(item.get("meterName", "")).strip(), str(item.get("productName", "")).strip()
    disk = _DISK_METER.match(name)
    if disk:
        return (name, "count") if product == _DISK_PRODUCTS[disk.group(1)[0]] else None
    if name == "LRS Snapshot":
        name = SNAPSHOT_METER
    if name not in _FIXED_METERS:
        return None
    products, kind = _FIXED_METERS[name]
    if name == ASR_METER and item.get("serviceName", "Azure Site Recovery") != "Azure Site Recovery":
        return None
    return (name, kind) if "" in products or product in products else None


def book_from_retail(data: Any, source: str = "retail prices", region: str | None = None,
                     as_of: str | None = None) -> PriceBook:
    """A PriceBook from an Azure Retail Prices API export, for `region` (needed when it holds several) and the
    prices in effect on `as_of` (ISO date; default: the latest of each meter)."""
    items, envelope = _items(data, source)
    rows = []
    for it in items:
        if str(it.get("type", "Consumption")) != "Consumption" or it.get("reservationTerm"):
            continue
        if float(it.get("tierMinimumUnits", 0) or 0) != 0:
            continue
        hit = _meter_of(it)
        if hit is None:
            continue
        start = str(it.get("effectiveStartDate", ""))[:10]
        if as_of is not None and start > as_of:
            continue
        rows.append((hit[0], hit[1], it, start))
    regions = sorted({str(it.get("armRegionName", "")) for _, _, it, _ in rows})
    if region is None:
        if len(regions) > 1:
            raise ValueError(f"{source}: holds prices for regions {', '.join(regions)}; choose one (--region)")
        region = regions[0] if regions else ""
    elif region not in regions:
        raise ValueError(f"{source}: no prices for region {region!r}; it holds {', '.join(regions) or 'none'}")
    rows = [r for r in rows if str(r[2].get("armRegionName", "")) == region]
    currencies = sorted({str(it.get("currencyCode", envelope.get("BillingCurrency", ""))) for _, _, it, _ in rows})
    if len(currencies) > 1:
        raise ValueError(f"{source}: mixes currencies {', '.join(currencies)}")
    # Latest effective start first, primary meter region first: the first row per meter wins.
    rows.sort(key=lambda r: (r[3], bool(r[2].get("isPrimaryMeterRegion", True))), reverse=True)
    meters: dict[str, float] = {}
    used_dates: list[str] = []
    for meter, kind, it, start in rows:
        if meter in meters:
            continue
        unit = _unit_kind(str(it.get("unitOfMeasure", "")))
        if unit is None or unit[0] != kind:
            raise ValueError(f"{source}: meter {meter!r} has unitOfMeasure {it.get('unitOfMeasure')!r}; "
                             f"expected {'1 GB/Month' if kind == 'gb' else '1/Month'}")
        price = it.get("unitPrice", it.get("retailPrice"))
        meters[meter] = _number(price, source, f"{meter} unitPrice") / unit[1]
        used_dates.append(start)
    date = str(envelope.get("retrievedAt") or envelope.get("date") or max(used_dates, default=""))[:10]
    if not date:
        raise ValueError(f"{source}: no date: no usable effectiveStartDate and no 'retrievedAt'")
    return PriceBook(source, date, currencies[0] if currencies else str(envelope.get("BillingCurrency", "")),
                     region, bool(envelope.get("example", False)), meters)
