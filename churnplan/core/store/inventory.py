"""The inventory tables: vcenters, vms and disks, written by upserts and read as frames.

Every statement is fixed text with parameters; frames come in as registered views under fixed names.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from churnplan.core.store.runs import utcnow

VM_COLUMNS = [
    "vcenter", "vm_id", "uuid", "name", "host", "cluster", "guest_os", "firmware",
    "num_cpu", "memory_mb", "num_nics", "power_state",
]
DISK_COLUMNS = [
    "vcenter", "vm_id", "instance", "label", "capacity_gb", "provisioned_gb", "used_gb",
    "is_os_disk", "disk_mode", "controller",
]


def frame_with(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`df` with exactly `columns`, in order (missing ones as None)."""
    out = df.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = None
    return out[columns]


def upsert_vcenter(con: duckdb.DuckDBPyConnection, vcenter: str, version: str | None = None,
                   stats_level: int | None = None) -> None:
    """Record a vCenter (or an import's key) as seen now, keeping known version and level when not given."""
    now = utcnow()
    con.execute(
        """INSERT INTO vcenters VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (vcenter) DO UPDATE SET
             version = coalesce(excluded.version, vcenters.version),
             stats_level = coalesce(excluded.stats_level, vcenters.stats_level),
             last_seen = excluded.last_seen""",
        [vcenter, version, stats_level, now, now],
    )


def upsert_vms(con: duckdb.DuckDBPyConnection, vms: pd.DataFrame) -> int:
    """Insert or refresh VM inventory rows; returns rows written."""
    if vms.empty:
        return 0
    frame = frame_with(vms, VM_COLUMNS).drop_duplicates(["vcenter", "vm_id"], keep="last")
    con.register("_vms_in", frame)
    try:
        con.execute(
            """INSERT INTO vms SELECT vcenter, vm_id, uuid, name, host, cluster, guest_os, firmware, num_cpu,
                                      memory_mb, num_nics, power_state FROM _vms_in
               ON CONFLICT (vcenter, vm_id) DO UPDATE SET uuid = excluded.uuid, name = excluded.name,
                 host = excluded.host, cluster = excluded.cluster, guest_os = excluded.guest_os,
                 firmware = excluded.firmware, num_cpu = excluded.num_cpu, memory_mb = excluded.memory_mb,
                 num_nics = excluded.num_nics, power_state = excluded.power_state""")
    finally:
        con.unregister("_vms_in")
    return len(frame)


def add_named_vms(con: duckdb.DuckDBPyConnection, vms: pd.DataFrame) -> None:
    """Add minimal VM rows (vcenter, vm_id, name) for VMs the store does not know; known ones stay as they are."""
    if vms.empty:
        return
    con.register("_named_vms_in", vms[["vcenter", "vm_id", "name"]])
    try:
        con.execute("INSERT INTO vms (vcenter, vm_id, name) SELECT vcenter, vm_id, name FROM _named_vms_in "
                    "ON CONFLICT DO NOTHING")
    finally:
        con.unregister("_named_vms_in")


def upsert_disks(con: duckdb.DuckDBPyConnection, disks: pd.DataFrame) -> int:
    """Insert or refresh disk inventory rows; returns rows written."""
    if disks.empty:
        return 0
    frame = frame_with(disks, DISK_COLUMNS).drop_duplicates(["vcenter", "vm_id", "instance"], keep="last")
    con.register("_disks_in", frame)
    try:
        con.execute(
            """INSERT INTO disks SELECT vcenter, vm_id, instance, label, capacity_gb, provisioned_gb, used_gb,
                                        is_os_disk, disk_mode, controller FROM _disks_in
               ON CONFLICT (vcenter, vm_id, instance) DO UPDATE SET label = excluded.label,
                 capacity_gb = excluded.capacity_gb, provisioned_gb = excluded.provisioned_gb,
                 used_gb = excluded.used_gb, is_os_disk = excluded.is_os_disk, disk_mode = excluded.disk_mode,
                 controller = excluded.controller""")
    finally:
        con.unregister("_disks_in")
    return len(frame)


def vcenter_list(vcenters: Sequence[str] | None) -> list[str] | None:
    """A vCenter filter as a VARCHAR[] parameter: None (or empty) selects every vCenter."""
    return list(vcenters) if vcenters else None


def load_vms(con: duckdb.DuckDBPyConnection, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Every stored VM (of `vcenters`, all when None), ordered by vcenter and name."""
    return con.execute(
        """SELECT vcenter, vm_id, uuid, name, host, cluster, guest_os, firmware, num_cpu, memory_mb, num_nics,
                  power_state FROM vms WHERE $1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], vcenter)
           ORDER BY vcenter, name""", [vcenter_list(vcenters)]).df()


def load_disks(con: duckdb.DuckDBPyConnection, vcenters: Sequence[str] | None = None) -> pd.DataFrame:
    """Every stored disk (of `vcenters`, all when None), ordered by vcenter, VM and instance."""
    return con.execute(
        """SELECT vcenter, vm_id, instance, label, capacity_gb, provisioned_gb, used_gb, is_os_disk, disk_mode,
                  controller FROM disks WHERE $1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], vcenter)
           ORDER BY vcenter, vm_id, instance""", [vcenter_list(vcenters)]).df()


def vcenters(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The vCenters (or import keys) the store holds inventory or samples of, sorted."""
    return [r[0] for r in con.execute(
        """SELECT vcenter FROM vcenters UNION SELECT vcenter FROM vms UNION SELECT vcenter FROM watermarks
           ORDER BY vcenter""").fetchall()]


def vm_identities(con: duckdb.DuckDBPyConnection, vcenter: str | None = None) -> pd.DataFrame:
    """Key, UUID and name of the stored VMs of `vcenter` (all when None): what VM matching compares."""
    return con.execute("SELECT vcenter, vm_id, uuid, name FROM vms WHERE ? IS NULL OR vcenter = ?",
                       [vcenter, vcenter]).df()


def vm_names(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(vcenter, vm_id) -> VM name."""
    return {(vc, vm): name for vc, vm, name in con.execute("SELECT vcenter, vm_id, name FROM vms").fetchall()}
