"""Stage 2, compatibility and target disks: the managed disk per source disk, every blocking reason, Yes/Yes*/No."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churnplan.analytics import compatibility, disk_types
from churnplan.analytics.sample_grid import VM_KEY
from churnplan.analytics.stages.profiles import Profiles
from churnplan.analytics.vocabulary import Compatibility


@dataclass(frozen=True)
class Targets:
    """Disks with their target disk and reasons; VMs with compatibility, reasons, notes and disk counts."""

    disks: pd.DataFrame
    vms: pd.DataFrame


def targets(profiles: Profiles) -> Targets:
    """Target disks and reasons per disk; compatibility per VM from its included disks and its own limits."""
    d = disk_types.target_disks(profiles.disks)
    d["reasons"] = compatibility.disk_reasons(d).to_numpy()
    included = d[~d["excluded"]]   # excluded disks leave every limit
    v = profiles.vms.merge(compatibility.vm_compatibility(profiles.vms, included), on=VM_KEY, how="left")
    v["compatibility"] = v["compatibility"].fillna(Compatibility.YES.value)
    v["reasons"] = v["reasons"].fillna("")
    counts = d.groupby(VM_KEY).agg(disks=("instance", "size"), excluded_disks=("excluded", "sum")).reset_index()
    v = v.merge(counts, on=VM_KEY, how="left")
    v[["disks", "excluded_disks"]] = v[["disks", "excluded_disks"]].fillna(0).astype(int)
    return Targets(disks=d, vms=v)
