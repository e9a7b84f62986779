"""Cost as Azure bills it, worked by hand: disk tiers, the free 31 days, recovery points and price books."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnplan.analytics import cost, disk_tiers, pricing, recovery_points
from churnplan.analytics.recovery_points import RetentionPolicy


# --- disk tiers --------------------------------------------------------------------------------------------

def test_a_disk_is_billed_at_the_next_tier_up():
    # Microsoft's own example: a 200 GiB Standard SSD is billed as E15 (256 GiB).
    assert list(disk_tiers.billed_tier([200], "standard_ssd")) == ["E15"]
    assert list(disk_tiers.billed_tier([128, 129, 4096, 5000, 40_000], "premium_ssd")) == \
        ["P10", "P15", "P50", "P60", disk_tiers.NO_TIER]
    assert list(disk_tiers.billed_tier([10, 33], "standard_hdd")) == ["S4", "S6"]   # no HDD tier below 32 GiB


def test_a_minimum_tier_lifts_small_disks_only():
    got = disk_tiers.billed_tier([100, 900], "premium_ssd", ["P20", "P20"])
    assert list(got) == ["P20", "P30"]
    with pytest.raises(ValueError, match="unknown tier"):
        disk_tiers.billed_tier([100], "premium_ssd", ["E20"])


def test_tier_for_performance_takes_the_first_tier_meeting_iops_and_throughput():
    got = disk_tiers.tier_for_performance("premium_ssd", [600, 100, 30_000], [50, 120, 10])
    assert list(got) == ["P15", "P15", disk_tiers.NO_TIER]


def test_tier_table_names_its_source():
    text = disk_tiers.TIERS_CSV.read_text()
    assert "source: Microsoft azure-docs" in text and "version:" in text
    assert len(disk_tiers.tier_table()) == 14 + 14 + 11


# --- licence ------------------------------------------------------------------------------------------------

def test_licence_is_free_for_31_days_then_prorated():
    out = cost.licence_by_month(np.zeros(10), 25.0, months=3)
    month = 730 / 24  # 30.4167 days
    assert out["cost"].iloc[0] == 0.0
    assert out["cost"].iloc[1] == pytest.approx(250 * (2 * month - 31) / month)   # 245.21
    assert out["cost"].iloc[2] == pytest.approx(250.0)


def test_licence_of_an_instance_protected_later_starts_later():
    out = cost.licence_by_month([10.0], 25.0, months=3)
    assert out["cost"].iloc[1] == pytest.approx(25 * (2 * 730 / 24 - 41) / (730 / 24))  # 16.30
    assert out["cost"].iloc[2] == pytest.approx(25.0)


# --- recovery points ---------------------------------------------------------------------------------------

def test_retained_points_follow_the_pruning_rules():
    # 1 day: every 5 min for the last 2 h (25 points, 0..120 min), then one an hour (3 h .. 24 h: 22).
    assert recovery_points.retained_ages_h(RetentionPolicy(24)).size == 47
    # App-consistent every 4 h falls on hourly points: nothing added. Every 1.5 h adds 4.5, 7.5, .. 22.5 h.
    assert recovery_points.retained_ages_h(RetentionPolicy(24, 4)).size == 47
    assert recovery_points.retained_ages_h(RetentionPolicy(24, 1.5)).size == 47 + 7
    # 7 days: one point every 2 h beyond the last 2 h (4 h .. 168 h: 83).
    assert recovery_points.retained_ages_h(RetentionPolicy(168)).size == 25 + 83
    # 15 days: every 2 h for 7 days, then every 4 h (172 h .. 360 h: 48).
    assert recovery_points.retained_ages_h(RetentionPolicy(360)).size == 25 + 83 + 48


@pytest.mark.parametrize(("retention", "app", "message"), [
    (16 * 24, None, "0 to 360 h"), (24, 13, "every 1 to 12 h"), (2, 4, "longer than the retention")])
def test_retention_policies_asr_refuses(retention, app, message):
    with pytest.raises(ValueError, match=message):
        RetentionPolicy(retention, app)


def test_snapshot_storage_is_the_data_written_within_the_retention_window():
    hourly = np.ones(48)  # 1 GiB an hour for two days
    mean, peak = recovery_points.window_gib(hourly, 3600, RetentionPolicy(24))
    assert (mean[0], peak[0]) == (24.0, 24.0)
    spike = np.zeros(48)
    spike[0] = 10.0  # in 1 of the 25 full 24-hour windows
    mean, peak = recovery_points.window_gib(spike, 3600, RetentionPolicy(24))
    assert (mean[0], peak[0]) == (pytest.approx(0.4), 10.0)
    mean, _ = recovery_points.window_gib(np.ones(12), 3600, RetentionPolicy(24))  # shorter than the window
    assert mean[0] == pytest.approx(24.0)


def test_snapshot_storage_per_vm_and_the_10_tb_limit():
    two_vms = np.column_stack([np.full(24, 1.0), np.full(24, 500.0)])
    _, peak = recovery_points.window_gib(two_vms, 3600, RetentionPolicy(24))
    assert list(peak) == [24.0, 12_000.0]
    assert list(recovery_points.over_snapshot_limit(peak)) == [False, True]



def test_snapshot_windows_of_many_vms_are_each_vms_own_whatever_the_estate_around_it():
    rng = np.random.default_rng(5)
    vms = rng.lognormal(0.0, 2.0, (200, 601))   # 601: computed in slices, the last one not alone
    whole = recovery_points.window_gib(vms, 3600, RetentionPolicy(24))
    parts = [recovery_points.window_gib(vms[:, lo:hi], 3600, RetentionPolicy(24)) for lo, hi in ((0, 300), (300, 601))]
    for k in (0, 1):   # mean, then max: bit for bit
        assert np.array_equal(whole[k], np.concatenate([p[k] for p in parts]))
    assert [a.size for a in recovery_points.window_gib(np.zeros((48, 0)), 3600, RetentionPolicy(24))] == [0, 0]


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 80), vms=st.integers(1, 12), hours=st.sampled_from([1, 6, 24, 72]), seed=st.integers(0, 99))
def test_the_estates_mean_snapshot_volume_is_the_sum_of_its_vms(rows, vms, hours, seed):
    """The plan bills snapshot storage from the estate's total series (its VMs summed per sample): window sums and
    their mean are linear, so that is the sum of the VMs' own figures, to float rounding; a series shorter than
    the window is scaled up alike."""
    gib = np.random.default_rng(seed).lognormal(-3.0, 2.0, (rows, vms))
    mean, _ = recovery_points.window_gib(gib, 3600, RetentionPolicy(hours))
    total, _ = recovery_points.window_gib(gib.sum(axis=1), 3600, RetentionPolicy(hours))
    assert total[0] == pytest.approx(mean.sum(), rel=1e-12)


# --- price books --------------------------------------------------------------------------------------------

def test_the_shipped_example_is_dated_and_marked_as_an_example():
    book = pricing.load_price_book()
    assert book.example and book.date == "2026-11-25" and book.currency == "USD"
    assert book.price(pricing.ASR_METER) == 25.0
    assert book.disk_price("P30") == 135.17 and book.disk_price("S30") == 40.96 and book.disk_price("E10") == 9.6


def test_a_retail_prices_export_is_read_as_azure_publishes_it():
    book = pricing.load_price_book(pricing.EXAMPLE_RETAIL_PRICES)
    assert (book.region, book.currency, book.date, book.example) == ("eastus", "USD", "2026-11-30", True)
    assert book.price(pricing.ASR_METER) == 25.0          # the latest effective price, not the 2024 one
    assert book.disk_price("P30") == 135.17               # the 1-year reservation row is left out
    assert book.price(pricing.CACHE_METER) == 0.0208      # the first tier of the tiered capacity meter
    assert book.price(pricing.SNAPSHOT_METER) == 0.05


def _item(meter, price, unit="1/Month", product="Premium SSD Managed Disks", region="eastus", **kw):
    return {"meterName": meter, "productName": product, "unitPrice": price, "unitOfMeasure": unit,
            "armRegionName": region, "currencyCode": "USD", "effectiveStartDate": "2026-01-01T00:00:00Z",
            "type": "Consumption", "serviceName": "Storage", **kw}


def test_retail_prices_in_effect_on_a_date_and_units_parsed():
    data = {"Items": [_item("P10 LRS Disk", 19.0), _item("P10 LRS Disk", 21.0, effectiveStartDate="2026-06-01"),
                      _item("LRS Snapshots", 5.0, "100 GB/Month", "Standard HDD Managed Disks")]}
    assert pricing.book_from_retail(data, "x.json").disk_price("P10") == 21.0
    old = pricing.book_from_retail(data, "x.json", as_of="2026-03-01")
    assert old.disk_price("P10") == 19.0 and old.date == "2026-01-01"
    assert old.price(pricing.SNAPSHOT_METER) == pytest.approx(0.05)   # 5 per 100 GB


def test_retail_price_errors_name_the_file_and_the_meter(tmp_path):
    book = pricing.book_from_retail({"Items": [_item("P10 LRS Disk", 19.0)]}, "prices.json")
    with pytest.raises(ValueError, match=r"prices.json: no price for meter 'E10 LRS Disk' in region 'eastus' "
                                         r"\(productName 'Standard SSD Managed Disks'"):
        book.disk_price("E10")
    with pytest.raises(ValueError, match="regions eastus, westeurope; choose one"):
        pricing.book_from_retail({"Items": [_item("P10 LRS Disk", 1), _item("P10 LRS Disk", 1, region="westeurope")]},
                                 "prices.json")
    two = {"Items": [_item("P10 LRS Disk", 1), _item("P10 LRS Disk", 2, region="westeurope")]}
    assert pricing.book_from_retail(two, "p", region="westeurope").disk_price("P10") == 2
    with pytest.raises(ValueError, match="unitOfMeasure '1 Hour'; expected 1/Month"):
        pricing.book_from_retail({"Items": [_item("P10 LRS Disk", 1, "1 Hour")]}, "prices.json")
    bad = tmp_path / "prices.json"
    bad.write_text('{"Items": [}')
    with pytest.raises(ValueError, match="prices.json: line 1: not valid JSON"):
        pricing.load_price_book(bad)


def test_the_plans_rough_cost_refuses_a_retail_export_plainly():
    with pytest.raises(ValueError, match="retail-prices-example.json: an Azure Retail Prices API export; "
                                         "plan, report and cost read it as a price book"):
        cost.load_prices(pricing.EXAMPLE_RETAIL_PRICES)


def test_own_price_file_errors_name_the_field():
    prices = json.loads(pricing.EXAMPLE_PRICES.read_text())
    prices["standard_hdd_disk_month"]["S4"] = "cheap"
    with pytest.raises(ValueError, match=r"mine.json: field 'standard_hdd_disk_month.S4' must be a number"):
        pricing.book_from_own(prices, "mine.json")


# --- the estimate -------------------------------------------------------------------------------------------

def test_estimate_bills_disks_by_tier_licences_after_31_days_and_storage_from_day_one():
    book = pricing.load_price_book()
    replicas = pd.DataFrame({"size_gib": [200.0, 200.0, 100.0, np.nan],
                             "family": ["standard_hdd", "standard_hdd", "premium_ssd", "premium_ssd"],
                             "min_tier": ["", "", "P20", ""]})
    est = cost.estimate(replicas, [0, 0], snapshot_gib=100.0, cache_gib=10.0, book=book)
    # 2 x S15 (11.33) + 1 x P20 (73.22) + 100 GiB snapshots x 0.05 + 10 GiB cache x 0.0208 = 101.088
    storage = 2 * 11.33 + 73.22 + 5.0 + 0.208
    assert est.first_month == pytest.approx(storage)                 # both instances still free
    assert est.monthly == pytest.approx(storage + 2 * 25.0)
    assert est.unpriced_disks == 1                                   # the disk of unknown size is not a 0 GiB disk
    assert set(est.lines["meter"]) >= {"S15 LRS Disk", "P20 LRS Disk", "LRS Snapshots", "VM Replicated to Azure"}
    assert est.summary()["prices_are_example"] is True


def test_replica_disks_from_target_disks():
    targets = pd.DataFrame({"capacity_gb": [200.0, 100.0, 100.0, 100.0],
                            "target_tier": ["Standard", "P10", "P10", "P30"],
                            "bumped": [False, True, False, False],
                            "peak_iops": [100.0, 100.0, 100.0, 3000.0], "peak_mbps_rw": [5.0, 5.0, 5.0, 5.0]})
    out = cost.replica_disks_from_targets(targets)
    assert list(out["family"]) == ["standard_hdd", "premium_ssd", "premium_ssd", "premium_ssd"]
    assert list(out["min_tier"]) == ["S4", "P20", "P1", "P30"]   # Yes* lifts to P20; 3,000 IOPS needs P30
    tiers = [disk_tiers.billed_tier([r.size_gib], r.family, [r.min_tier])[0] for r in out.itertuples()]
    assert tiers == ["S15", "P20", "P10", "P30"]
