"""Azure VM size per VM, cores per family and cache storage-account placement, worked by hand from the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnplan.analytics import azure_vm_size as avs
from churnplan.analytics import storage_accounts as sa


def _needs(**over) -> pd.DataFrame:
    row = {"vcpus": 2.0, "memory_gib": 8.0, "nics": 1.0, "data_disks": 1.0, "iops": 1000.0, "mbps": 20.0,
           "premium": False}
    row.update(over)
    return pd.DataFrame([row])


@pytest.mark.parametrize(("over", "size"), [
    ({}, "Standard_D2s_v5"),                        # 2 vCPU / 8 GiB: Dsv5 first among D2s, D2as, D2 v5
    ({"premium": True}, "Standard_D2s_v5"),
    ({"vcpus": 4.0, "memory_gib": 20.0}, "Standard_E4s_v5"),     # 4 vCPU with 32 GiB beats 8 vCPU D8s
    ({"data_disks": 6.0}, "Standard_F4s_v2"),       # 2-vCPU sizes take 4 data disks; F4s (8 GiB) is the least memory
    ({"data_disks": 6.0, "memory_gib": 12.0}, "Standard_D4s_v5"),
    ({"nics": 3.0}, "Standard_F8s_v2"),             # 2- and 4-vCPU sizes take 2 NICs
    ({"iops": 20_000.0}, "Standard_F16s_v2"),       # 25,600 IOPS at 16 vCPU; F16s has the least memory (32)
    ({"mbps": 700.0}, "Standard_E20s_v5"),          # 750 MB/s at 20 vCPU; D16s gives 600
])
def test_the_smallest_size_meeting_every_need(over, size):
    assert avs.pick_sizes(_needs(**over))["azure_size"].iloc[0] == size


def test_burstable_sizes_only_when_asked_for():
    small = _needs(vcpus=1.0, memory_gib=1.0, iops=100.0, mbps=5.0)
    assert avs.pick_sizes(small)["azure_size"].iloc[0] == "Standard_F2s_v2"   # 2 vCPU, 4 GiB
    assert avs.pick_sizes(small, families=("Bs",))["azure_size"].iloc[0] == "Standard_B1s"


def test_a_vm_nothing_fits_says_why():
    out = avs.pick_sizes(_needs(vcpus=200.0))
    assert out["azure_size"].iloc[0] == "" and "has 200 vCPUs" in out["reason"].iloc[0]
    out = avs.pick_sizes(_needs(premium=True, iops=np.nan, mbps=np.nan), families=("Dv5",))
    assert out["azure_size"].iloc[0] == "" and "with premium storage" in out["reason"].iloc[0]
    out = avs.pick_sizes(_needs(iops=100.0), families=("Dv5",))   # Dv5 prints no uncached limits: unknown
    assert out["azure_size"].iloc[0] == ""
    with pytest.raises(ValueError, match="unknown VM families Zsv9"):
        avs.pick_sizes(_needs(), families=("Zsv9",))


def test_unknown_needs_are_named_not_guessed():
    out = avs.pick_sizes(_needs(memory_gib=np.nan, iops=np.nan))
    assert out["azure_size"].iloc[0] == "Standard_F2s_v2"
    assert out["reason"].iloc[0] == "not checked (unknown): GiB memory, uncached IOPS"


def test_cores_per_family_for_the_quota():
    sized = avs.pick_sizes(pd.concat([_needs(), _needs(), _needs(vcpus=4.0, memory_gib=20.0)], ignore_index=True))
    cores = avs.cores_by_family(sized).set_index("family")
    assert cores.loc["Dsv5", "vcpus"] == 4 and cores.loc["Dsv5", "vms"] == 2
    assert cores.loc["Esv5", "vcpus"] == 4 and cores.loc["Esv5", "quota_family"] == "standardESv5Family"


def test_sizing_table_names_its_source_and_date():
    text = avs.SIZES_CSV.read_text()
    assert "source: MicrosoftDocs/azure-docs" in text and "version: 2026-11-30" in text
    assert "NOT in churnplan's reference" in text
    t = avs.size_table()
    assert set(t["family"]) == {"Dsv5", "Dasv5", "Dv5", "Esv5", "Easv5", "Fsv2", "Bs"}
    assert t.set_index("name").loc["Standard_D4s_v5", "max_uncached_iops"] == 6400


def test_needs_from_inventory_counts_data_disks_and_sums_load():
    vms = pd.DataFrame({"vcenter": ["vc"] * 2, "vm_id": ["vm-1", "vm-2"], "name": ["a", "b"], "num_cpu": [2, 8],
                        "memory_mb": [8192, 65536], "num_nics": [1, 2]})
    disks = pd.DataFrame({"vcenter": ["vc"] * 3, "vm_id": ["vm-1", "vm-1", "vm-2"],
                          "is_os_disk": [True, False, True]})
    load = pd.DataFrame({"vcenter": ["vc"] * 3, "vm_id": ["vm-1", "vm-1", "vm-2"], "peak_iops": [100.0, 200.0, 50.0],
                         "peak_mbps_rw": [1.0, 2.0, 3.0], "premium": [False, True, False]})
    n = avs.needs_from_inventory(vms, disks, load).set_index("vm_id")
    assert n.loc["vm-1", "data_disks"] == 1 and n.loc["vm-2", "data_disks"] == 0
    assert n.loc["vm-1", "iops"] == 300 and bool(n.loc["vm-1", "premium"]) and n.loc["vm-2", "memory_gib"] == 64
    assert list(avs.pick_sizes(n.reset_index())["azure_size"]) == ["Standard_D2s_v5", "Standard_E8s_v5"]


# --- cache storage accounts -------------------------------------------------------------------------------

def test_churn_per_cache_account_from_the_support_matrix():
    assert sa.churn_capacity_mbps("V2") == 6000 and sa.churn_capacity_mbps("V1") == 2400


def _vms(iops, churn, premium=None):
    n = len(iops)
    return pd.DataFrame({"vcenter": "vc", "vm_id": [f"vm-{i}" for i in range(n)], "disks": 2, "iops": iops,
                         "churn_units_mbps": churn, "premium": premium or [False] * n})


def test_first_fit_decreasing_by_iops_and_premium_targets_apart():
    placement, accounts = sa.place(_vms([12_000.0, 9_000.0, 7_000.0, 100.0], [8.0] * 4,
                                        [False, False, False, True]))
    # 12,000 opens std-01; 9,000 does not fit beside it (21,000 > 20,000): std-02; 7,000 joins std-01 (19,000).
    assert list(placement["account"]) == ["cache-01", "cache-02", "cache-01", "cache-premium-vms-01"]
    a = accounts.set_index("account")
    assert a.loc["cache-01", "iops"] == 19_000 and a.loc["cache-01", "iops_pct"] == pytest.approx(95.0)
    assert a.loc["cache-01", "vms"] == 2 and a.loc["cache-01", "disks"] == 4
    assert bool(a.loc["cache-premium-vms-01", "premium_targets"]) and (a["kind"] == sa.ACCOUNT_KIND).all()


def test_churn_fills_an_account_too():
    placement, _ = sa.place(_vms([10.0, 10.0], [5000.0, 2000.0]))   # 7,000 MB/s > 6,000 per V2 account
    assert list(placement["account"]) == ["cache-01", "cache-02"]


def test_load_per_vm_counts_each_disk_at_least_at_the_tables_smallest_churn():
    disks = pd.DataFrame({"vcenter": "vc", "vm_id": ["vm-1", "vm-1", "vm-2"], "peak_iops": [100.0, 50.0, 10.0],
                          "avg_churn_mbps": [1.0, 6.0, np.nan], "premium": [False, True, False]})
    load = sa.load_from_disks(disks).set_index("vm_id")
    assert load.loc["vm-1", "churn_units_mbps"] == 10.0 and load.loc["vm-1", "iops"] == 150
    assert bool(load.loc["vm-1", "premium"]) and load.loc["vm-2", "churn_units_mbps"] == 4.0
