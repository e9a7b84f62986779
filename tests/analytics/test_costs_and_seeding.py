"""Initial-replication batches and the price file, worked by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from churnplan.analytics import cost, initial_replication


def test_seeding_batches_fit_the_goal_on_what_delta_replication_leaves():
    # 100 Mbps link, 20 Mbps of churn: 80 Mbps = 10^7 B/s spare; a 10 h goal moves 3.6e11 B = 335.3 GB per batch.
    vms = pd.DataFrame({"name": ["a", "b", "c", "d"], "size_gib": [300.0, 200.0, 100.0, 30.0]})
    out = initial_replication.batches(vms, 100.0, 20.0, 10.0)
    assert out["vm_names"].tolist() == ["a", "b, c, d"]
    assert out["hours"].iloc[0] == pytest.approx(300 * 1024 ** 3 / 1e7 / 3600)
    assert (out["hours"] <= 10.0).all()
    assert initial_replication.batches(vms, 20.0, 20.0, 10.0).empty
    assert initial_replication.seed_hours(630.0, 20.0, 20.0) == float("inf")


def test_shipped_prices_are_dated_and_illustrative():
    prices = cost.load_prices()
    assert prices["date"] and "illustrative" in prices["assumption"].lower()


def test_price_file_errors_name_the_file_line_and_field(tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text('{\n  "date": "2026-01-01",\n  "currency": \n}\n')
    # the value is missing where "}" stands
    with pytest.raises(ValueError, match=r"prices.json: line 4: not valid JSON"):
        cost.load_prices(bad)
    prices = json.loads(cost.EXAMPLE_PRICES.read_text())
    prices["standard_hdd_gb_month"] = "cheap"
    bad.write_text(json.dumps(prices))
    with pytest.raises(ValueError, match="'standard_hdd_gb_month'"):
        cost.load_prices(bad)
    prices["standard_hdd_gb_month"] = True  # JSON true is a number to Python, not a price
    bad.write_text(json.dumps(prices))
    with pytest.raises(ValueError, match="'standard_hdd_gb_month' must hold numbers"):
        cost.load_prices(bad)


def test_monthly_cost_adds_its_lines():
    disks = pd.DataFrame({"target_tier": ["Standard", "P20", "P20"], "capacity_gb": [100.0, 300.0, 400.0]})
    prices = cost.load_prices()
    out = cost.monthly_cost(disks, 2, 10.0, prices)
    p20 = out.loc[out["item"].str.contains("P20"), "monthly"].iloc[0]
    assert p20 == pytest.approx(2 * prices["premium_ssd_disk_month"]["P20"])
    assert out["monthly"].sum() == pytest.approx(
        2 * prices["asr_per_protected_instance_month"] + 100 * prices["standard_hdd_gb_month"] + p20
        + 10 * prices["cache_storage_gb_month"]
        + 10 * prices["recovery_point_retention_days"] * prices["recovery_point_storage_gb_month"])
