"""The plan's categories as enums, and the one definition of a protected VM.

Frames hold the plain string values (so CSVs, the workbook and JSON read "Yes*", "estate", "classic");
code compares against these members, which are str and equal to those values.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class Compatibility(StrEnum):
    """Whether ASR can protect a VM: Yes, Yes* (a disk needs a larger premium tier than its size), or No."""

    YES = "Yes"
    YES_PREMIUM = "Yes*"
    NO = "No"

    @property
    def protected(self) -> bool:
        """ASR replicates the VM (Yes and Yes*)."""
        return self is not Compatibility.NO


class Scope(StrEnum):
    """The scope of a queue that is not a process server: every protected VM on one link."""

    ESTATE = "estate"


class Architecture(StrEnum):
    """Classic: configuration + scale-out process servers; modernized: replication appliances."""

    CLASSIC = "classic"
    MODERNIZED = "modernized"


class ServerRole(StrEnum):
    """The role of one sized server."""

    CONFIGURATION_SERVER = "configuration server"
    PROCESS_SERVER = "scale-out process server"
    REPLICATION_APPLIANCE = "replication appliance"


PROTECTED = frozenset(c.value for c in Compatibility if c.protected)


def protected(vms: pd.DataFrame) -> pd.Series:
    """True for the VMs of a frame with a `compatibility` column that ASR protects (Yes and Yes*).

    The one rule for plan, cost, exports and dashboard: a VM is protected when it is compatible;
    protected VMs, and only they, get a process server, a replica and a licence.
    """
    return vms["compatibility"].astype(str).isin(PROTECTED)


def of_protected_vms(disks: pd.DataFrame, vms: pd.DataFrame) -> pd.Series:
    """True for the disks (vcenter, vm_id) of protected VMs in `vms` (see `protected`)."""
    keys = pd.MultiIndex.from_frame(vms.loc[protected(vms), ["vcenter", "vm_id"]])
    return pd.Series(pd.MultiIndex.from_frame(disks[["vcenter", "vm_id"]]).isin(keys), index=disks.index)
