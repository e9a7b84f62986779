"""Stage 3, process-server assignment: protected VMs to the fewest servers the sizing tables allow."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churnplan.analytics import process_servers
from churnplan.analytics.sample_grid import VM_KEY
from churnplan.analytics.stages.targets import Targets
from churnplan.analytics.vocabulary import Scope, protected


@dataclass(frozen=True)
class Assignment:
    """VMs and disks with their process server ('' when not protected), and the servers sized for them."""

    vms: pd.DataFrame
    disks: pd.DataFrame
    servers: pd.DataFrame   # server, role, vcpu, ram_gib, table_cache_gib, cache_gib, vms, churn_gib_day, note

    @property
    def scopes(self) -> list[str]:
        """The queues to simulate: the estate on one link, then each process server."""
        return [Scope.ESTATE.value] + [str(s) for s in self.servers["server"]]


def assign(targets: Targets, architecture: str) -> Assignment:
    """Assign the protected VMs of `targets` to process servers (or replication appliances)."""
    v = targets.vms.copy()
    protect = protected(v)
    server_of, servers = process_servers.assign(v[protect], architecture)
    v["process_server"] = ""
    v.loc[protect, "process_server"] = server_of
    d = targets.disks.merge(v[VM_KEY + ["process_server"]], on=VM_KEY, how="left")
    return Assignment(vms=v, disks=d, servers=servers)
