"""Discover VMs and their virtual disks from vCenter, shaped as store inventory frames.

One PropertyCollector pass per object type keeps discovery to a handful of calls however large the estate.
A disk's `instance` is the name vCenter's virtualDisk counters use: controller bus type, bus number, unit number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pyVmomi import vim, vmodl

from churnplan.core.errors import CollectorError
from churnplan.core.store import DISK_COLUMNS, VM_COLUMNS
from churnplan.ingest.errors import IngestError, line_at

GIB = 1024 ** 3

VM_PROPERTIES = [
    "name", "config.uuid", "config.template", "config.guestFullName", "config.guestId", "config.firmware",
    "config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device", "config.bootOptions",
    "runtime.host", "runtime.powerState", "layoutEx.disk", "layoutEx.file",
]

# Controller class name -> (counter instance prefix, controller type stored with the disk).
_CONTROLLERS = {
    "ParaVirtualSCSIController": ("scsi", "pvscsi"),
    "VirtualLsiLogicController": ("scsi", "lsilogic"),
    "VirtualLsiLogicSASController": ("scsi", "lsilogic-sas"),
    "VirtualBusLogicController": ("scsi", "buslogic"),
    "VirtualIDEController": ("ide", "ide"),
    "VirtualAHCIController": ("sata", "sata"),
    "VirtualSATAController": ("sata", "sata"),
    "VirtualNVMEController": ("nvme", "nvme"),
}
_PREFIX_RANK = {"scsi": 0, "sata": 1, "nvme": 2, "ide": 3}


@dataclass
class Inventory:
    """What discovery found: store-shaped frames plus what was asked for but not there."""

    vms: pd.DataFrame
    disks: pd.DataFrame
    missing_names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # templates and VMs whose configuration is unreadable

    def powered_on_ids(self) -> list[str]:
        return self.vms.loc[self.vms["power_state"] == "poweredOn", "vm_id"].tolist()


def read_vm_list(path: Path) -> list[str]:
    """VM names from a file, one a line; blank lines and lines starting with '#' are ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise IngestError(path, None, None, f"cannot read the VM list ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = line_at(Path(path).read_bytes(), exc.start)
        raise IngestError(path, line, None, f"VM list is not UTF-8 text ({exc.reason})") from None
    names = [line.strip() for line in text.splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    if not names:
        raise IngestError(path, None, None, "VM list names no VMs (one name per line expected)")
    return list(dict.fromkeys(names))


def _controller_kind(controller: vim.vm.device.VirtualController) -> tuple[str, str]:
    for cls in type(controller).__mro__:
        kind = _CONTROLLERS.get(cls.__name__.rsplit(".", 1)[-1])
        if kind:
            return kind
    if isinstance(controller, vim.vm.device.VirtualSCSIController):
        return "scsi", "scsi"
    return type(controller).__name__.rsplit(".", 1)[-1].lower(), "other"


def disk_rows(vcenter: str, vm_id: str, devices: list, boot_disk_key: int | None = None,
              layout_disks: list | None = None, layout_files: list | None = None) -> list[dict]:
    """Store rows for each VirtualDisk in a VM's device list; the boot disk (or else the first disk) is the OS disk."""
    controllers = {d.key: d for d in devices if isinstance(d, vim.vm.device.VirtualController)}
    file_size = {f.key: f.size for f in layout_files or [] if f.size is not None}
    disk_files = {d.key: [k for unit in d.chain or [] for k in unit.fileKey] for d in layout_disks or []}
    rows: list[dict[str, Any]] = []
    for disk in devices:
        if not isinstance(disk, vim.vm.device.VirtualDisk):
            continue
        controller = None if disk.controllerKey is None else controllers.get(disk.controllerKey)
        if controller is None:
            prefix, ctype, bus = "unknown", "unknown", disk.controllerKey
        else:
            (prefix, ctype), bus = _controller_kind(controller), controller.busNumber
        capacity = disk.capacityInBytes or (disk.capacityInKB or 0) * 1024
        files = disk_files.get(disk.key)
        used = sum(file_size.get(k, 0) for k in files) / GIB if files and file_size else None
        rows.append({
            "vcenter": vcenter, "vm_id": vm_id, "instance": f"{prefix}{bus}:{disk.unitNumber}",
            "label": disk.deviceInfo.label if disk.deviceInfo else None,
            "capacity_gb": capacity / GIB, "provisioned_gb": capacity / GIB, "used_gb": used,
            "is_os_disk": False, "disk_mode": getattr(disk.backing, "diskMode", None), "controller": ctype,
            "_key": disk.key, "_order": (_PREFIX_RANK.get(prefix, 9), bus, disk.unitNumber or 0),
        })
    if rows:
        boot = [r for r in rows if r["_key"] == boot_disk_key]
        (boot or [min(rows, key=lambda r: r["_order"])])[0]["is_os_disk"] = True
    for r in rows:
        del r["_key"], r["_order"]
    return rows


def _boot_disk_key(boot_options) -> int | None:
    for device in getattr(boot_options, "bootOrder", None) or []:
        if isinstance(device, vim.vm.BootOptions.BootableDiskDevice):
            return device.deviceKey
    return None


def retrieve(content: vim.ServiceInstanceContent, obj_type: type, properties: list[str]) -> dict[str, tuple]:
    """Every object of `obj_type` under the root folder: moref id -> (managed object, {property: value})."""
    if content.viewManager is None:
        raise CollectorError(f"{content.about.fullName} offers no view manager: its VMs cannot be listed")
    view = content.viewManager.CreateContainerView(content.rootFolder, [obj_type], True)
    pc = vmodl.query.PropertyCollector
    try:
        spec = pc.FilterSpec(
            objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[
                pc.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)])],
            propSet=[pc.PropertySpec(type=obj_type, pathSet=properties, all=False)])
        collector = content.propertyCollector
        result = collector.RetrievePropertiesEx([spec], pc.RetrieveOptions(maxObjects=500))
        found: dict[str, tuple] = {}
        while result is not None:
            for obj in result.objects:
                found[obj.obj._moId] = (obj.obj, {p.name: p.val for p in obj.propSet})
            result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
        return found
    finally:
        view.Destroy()


def discover(content: vim.ServiceInstanceContent, vcenter: str, names: list[str] | None = None) -> Inventory:
    """All VMs (or those named), with host, cluster and disks; templates are left out."""
    clusters = {k: p.get("name") for k, (_, p) in retrieve(content, vim.ClusterComputeResource, ["name"]).items()}
    hosts = {}
    for key, (_, props) in retrieve(content, vim.HostSystem, ["name", "parent"]).items():
        parent = props.get("parent")
        hosts[key] = (props.get("name"), clusters.get(parent._moId) if parent is not None else None)
    wanted = set(names) if names else None
    vm_rows, disks, skipped, seen = [], [], [], set()
    for vm_id, (_, p) in sorted(retrieve(content, vim.VirtualMachine, VM_PROPERTIES).items()):
        name = p.get("name")
        if wanted is not None and name not in wanted:
            continue
        seen.add(name)
        if p.get("config.template") or p.get("config.hardware.device") is None:
            skipped.append(name)
            continue
        devices = list(p["config.hardware.device"])
        host_ref = p.get("runtime.host")
        host, cluster = hosts.get(host_ref._moId, (None, None)) if host_ref is not None else (None, None)
        vm_rows.append({
            "vcenter": vcenter, "vm_id": vm_id, "uuid": p.get("config.uuid"), "name": name, "host": host,
            "cluster": cluster, "guest_os": p.get("config.guestFullName") or p.get("config.guestId"),
            "firmware": p.get("config.firmware"), "num_cpu": p.get("config.hardware.numCPU"),
            "memory_mb": p.get("config.hardware.memoryMB"),
            "num_nics": sum(isinstance(d, vim.vm.device.VirtualEthernetCard) for d in devices),
            "power_state": str(p.get("runtime.powerState")) if p.get("runtime.powerState") else None,
        })
        disks += disk_rows(vcenter, vm_id, devices, _boot_disk_key(p.get("config.bootOptions")),
                           p.get("layoutEx.disk"), p.get("layoutEx.file"))
    missing = sorted(wanted - seen) if wanted is not None else []
    return Inventory(pd.DataFrame(vm_rows, columns=VM_COLUMNS), pd.DataFrame(disks, columns=DISK_COLUMNS),
                     missing, skipped)
