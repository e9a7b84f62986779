"""How imports name disks and recognise a VM another source already stored."""

from __future__ import annotations

import pandas as pd
import pytest

from churnplan.core import store
from churnplan.ingest.identity import disk_instance, match_vms


@pytest.mark.parametrize("label, unit, expected", [
    ("SCSI controller 0", 1, "scsi0:1"),
    ("SCSI controller 3", 15.0, "scsi3:15"),
    ("SATA controller 1", 0, "sata1:0"),
    ("NVME controller 0", 2, "nvme0:2"),
    ("IDE 1", 0, "ide1:0"),
    ("LSI Logic SAS", 0, None),
    ("SCSI controller 0", None, None),
    (None, 1, None),
])
def test_disk_instance_follows_vcenter_counter_names(label, unit, expected):
    assert disk_instance(label, unit) == expected


STORED = pd.DataFrame([
    # vcenter, vm_id, uuid, name
    ("powercli", "vm-1", None, "alpha"),
    ("powercli", "vm-2", None, "Bravo"),
    ("vc-a", "vm-3", "UUID-3", "charlie"),
    ("vc-a", "vm-4", None, "twin"),
    ("vc-b", "vm-5", None, "twin"),
    ("powercli", "vm-6", None, "delta"),
    ("rvtools", "name:echo", "uuid-7", "echo"),
], columns=["vcenter", "vm_id", "uuid", "name"])


@pytest.fixture
def stored(con):
    store.upsert_vms(con, STORED)
    return con


def _incoming(rows):
    return pd.DataFrame(rows, columns=["vcenter", "vm_id", "name", "moref", "uuid"])


def test_each_rule_in_order(stored):
    incoming = _incoming([
        ("powercli", "vm-1", "renamed", "vm-1", None),        # same key, even under a new name
        ("vc-x", "vm-99", "someone", "vm-99", "uuid-3"),       # same UUID, case aside
        ("vc-x", "vm-2", "bravo", "vm-2", None),               # same moref and name
        ("rvtools", "name:delta", "DELTA", None, None),        # name alone, nothing contradicts
    ])
    got = match_vms(stored, incoming)
    assert list(zip(got["match_vcenter"], got["match_vm_id"], got["matched_by"], strict=True)) == [
        ("powercli", "vm-1", "key"), ("vc-a", "vm-3", "uuid"), ("powercli", "vm-2", "moref+name"),
        ("powercli", "vm-6", "name")]


def test_names_do_not_match_across_contradicting_morefs_uuids_or_duplicates(stored):
    incoming = _incoming([
        ("vc-x", "vm-77", "delta", "vm-77", None),             # delta is vm-6: different moref
        ("vc-x", "name:echo", "echo", None, "uuid-other"),     # echo has another UUID
        ("vc-x", "name:twin", "twin", None, None),             # two stored VMs are called twin
    ])
    assert match_vms(stored, incoming)["matched_by"].isna().all()


def test_a_stored_vm_is_claimed_once_and_scope_limits_the_search(stored):
    twice = _incoming([("vc-x", "name:alpha", "alpha", None, None), ("vc-y", "name:alpha", "ALPHA", None, None)])
    assert match_vms(stored, twice)["matched_by"].isna().all()   # ambiguous on the incoming side

    only_vc_a = match_vms(stored, _incoming([("vc-a", "name:twin", "twin", None, None)]), vcenter="vc-a")
    assert list(only_vc_a[["match_vcenter", "match_vm_id", "matched_by"]].iloc[0]) == ["vc-a", "vm-4", "name"]
