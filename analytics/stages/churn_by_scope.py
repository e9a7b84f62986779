"""Between assignment and the queues: the bytes each scope (the estate, each process server) writes per sample."""

from __future__ import annotations

from churnplan.analytics import rpo
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.vocabulary import protected


def churn_by_scope(vm_grid: SampleGrid, assignment: Assignment, timezone: str) -> dict[str, rpo.PreparedChurn]:
    """Each scope's churn from the protected VMs' series, per VM: the estate holds all of them, a server only its
    own (the plan takes this when the estate's VMs share a given link; else analytics.scope_sums' per-server sums)."""
    vms = assignment.vms
    prepared = rpo.prepare_by_scope(vm_grid, assignment=vms.loc[protected(vms), VM_KEY + ["name", "process_server"]],
                                    timezone=timezone, scopes=assignment.scopes)
    return {scope: prepared[scope] for scope in assignment.scopes}
