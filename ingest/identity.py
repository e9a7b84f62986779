"""How imported VMs and disks are named in the store, and how a VM from one source is recognised in another.

Matching rule (shared by every importer), in order; the first rule that finds exactly one stored VM wins:
  1. same key: the stored row has the (vcenter, vm_id) this import would use;
  2. same UUID (case-insensitive), unique on both sides;
  3. same moref (vm_id such as 'vm-123') and same name (case-insensitive);
  4. same name (case-insensitive), unique on both sides, and neither morefs nor UUIDs contradict
     (both present and different).
A matched VM keeps its stored key, so samples already attached to it stay attached; the import only
fills in or refreshes its inventory. Each stored VM is claimed by at most one incoming VM.
"""

from __future__ import annotations

import re
from typing import SupportsFloat

import duckdb
import pandas as pd

from churnplan.core import store

VM_TOTAL_INSTANCE = "vm-total"  # instance of VM-level aggregates (all disks together), as disk.* counters give them

_MOREF = re.compile(r"^vm-\d+$")
_CONTROLLER = re.compile(r"^\s*(scsi|sata|ide|nvme)\w*\s*(?:controller\s*)?(\d+)\s*$", re.IGNORECASE)


def is_moref(value: object) -> bool:
    return isinstance(value, str) and bool(_MOREF.match(value))


def disk_instance(controller_label: object, unit: SupportsFloat | str | None) -> str | None:
    """'SCSI controller 0', 1 -> 'scsi0:1' (vCenter's virtualdisk counter instance); None if unreadable."""
    if not isinstance(controller_label, str) or unit is None or pd.isna(unit):
        return None
    m = _CONTROLLER.match(controller_label)
    if not m:
        return None
    try:
        unit_no = int(float(unit))
    except (TypeError, ValueError):
        return None
    return f"{m.group(1).lower()}{int(m.group(2))}:{unit_no}"


def match_vms(con: duckdb.DuckDBPyConnection, incoming: pd.DataFrame, vcenter: str | None = None) -> pd.DataFrame:
    """Find stored VMs for incoming ones (columns vcenter, vm_id, name, moref, uuid; one row each).

    Searches the VMs of `vcenter` only, or the whole store when it is None. Returns `incoming` with
    match_vcenter, match_vm_id and matched_by ('key', 'uuid', 'moref+name', 'name' or None).
    """
    out = incoming.reset_index(drop=True).copy()
    out["match_vcenter"] = None
    out["match_vm_id"] = None
    out["matched_by"] = None
    stored = store.vm_identities(con, vcenter)
    if stored.empty or out.empty:
        return out
    # plain lists of str-or-None: pandas may turn None into NaN, which is truthy
    stored["_uuid"] = pd.Series([_norm(u) for u in stored["uuid"]], index=stored.index, dtype=object)
    stored["_name"] = pd.Series([_norm(n) for n in stored["name"]], index=stored.index, dtype=object)
    stored["_moref"] = pd.Series([m if is_moref(m) else None for m in stored["vm_id"]], index=stored.index,
                                 dtype=object)
    out_uuid = [_norm(u) for u in out["uuid"]]
    out_name = [_norm(n) for n in out["name"]]
    out_moref = [m if is_moref(m) else None for m in out["moref"]]
    claimed: set[tuple[str, str]] = set()
    stored_keys = set(zip(stored["vcenter"], stored["vm_id"], strict=True))

    def claim(i: int, key: tuple[str, str], how: str) -> None:
        claimed.add(key)
        out.at[i, "match_vcenter"], out.at[i, "match_vm_id"] = key
        out.at[i, "matched_by"] = how

    for i, key in enumerate(zip(out["vcenter"], out["vm_id"], strict=True)):
        if key in stored_keys:
            claim(i, key, "key")

    def unique_index(col: str) -> dict[str, tuple[str, str]]:
        values = stored[col]
        sub = stored[values.map(values.value_counts()).eq(1)]
        return dict(zip(sub[col], zip(sub["vcenter"], sub["vm_id"], strict=True), strict=True))

    uuid_counts = pd.Series(out_uuid, dtype=object).value_counts()
    stored_uuid = unique_index("_uuid")
    for i in out.index[out["matched_by"].isna()]:
        u = out_uuid[i]
        if u and uuid_counts.get(u, 0) == 1 and u in stored_uuid and stored_uuid[u] not in claimed:
            claim(i, stored_uuid[u], "uuid")

    pair: dict[tuple[str, str | None], list[tuple[str, str]]] = {}  # (moref, name) -> stored keys
    for m, n, vc, vm in zip(stored["_moref"], stored["_name"], stored["vcenter"], stored["vm_id"], strict=True):
        if m:
            pair.setdefault((m, n), []).append((vc, vm))
    for i in out.index[out["matched_by"].isna()]:
        hits = [k for k in pair.get((out_moref[i], out_name[i]), []) if k not in claimed] if out_moref[i] else []
        if len(hits) == 1:
            claim(i, hits[0], "moref+name")

    name_counts = pd.Series(out_name, dtype=object).value_counts()
    stored_by_name = unique_index("_name")
    info = stored.set_index(["vcenter", "vm_id"])
    for i in out.index[out["matched_by"].isna()]:
        n = out_name[i]
        if not n or name_counts.get(n, 0) != 1 or n not in stored_by_name or stored_by_name[n] in claimed:
            continue
        row = info.loc[stored_by_name[n]]
        if _differ(out_moref[i], row["_moref"]) or _differ(out_uuid[i], row["_uuid"]):
            continue
        claim(i, stored_by_name[n], "name")
    return out


def _differ(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a != b


def _norm(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip().lower()
    return text or None
