"""Between assignment and the queues: the bytes each scope (the estate, each process server) writes per sample."""

from __future__ import annotations

from churnplan.analytics import rpo
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid
from churnplan.analytics.stages.assignment import Assignment
from churnplan.analytics.vocabulary import protected


def churn_by_scope(vm_grid: SampleGrid, assignment: Assignment, timezone: str,
                   per_vm: bool = True) -> dict[str, rpo.PreparedChurn]:
    """Each scope's churn from the protected VMs' series: the estate holds all of them, a server only its own.

    `per_vm` False: one column per process server (its VMs summed) instead of one per VM, which is all the
    later stages read unless the estate's link is shared among its VMs (the fair-share table of a given link);
    it needs no time x VM matrix.
    """
    vms = assignment.vms
    replicating = vms.loc[protected(vms), VM_KEY + ["name", "process_server"]]
    prepare = rpo.prepare_by_scope if per_vm else rpo.prepare_scope_sums
    prepared = prepare(vm_grid, assignment=replicating, timezone=timezone, scopes=assignment.scopes)
    return {scope: prepared[scope] for scope in assignment.scopes}
