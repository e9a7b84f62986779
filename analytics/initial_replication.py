"""Initial replication: hours to seed the estate and VM batches that each finish within the IR goal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnplan.core.units import BYTES_PER_MBPS, GIB, SECONDS_PER_HOUR


def batches(vms: pd.DataFrame, bandwidth_mbps: float, delta_mbps: float, goal_hours: float) -> pd.DataFrame:
    """Batch VMs (largest first, next-fit) so each batch seeds within `goal_hours` on what delta replication leaves.

    `vms`: name, size_gib (data to copy). Returns batch, vms, vm_names, size_gib, hours; empty when nothing is left
    for seeding (bandwidth <= average delta churn).
    """
    cols = ["batch", "vms", "vm_names", "size_gib", "hours"]
    spare = (bandwidth_mbps - delta_mbps) * BYTES_PER_MBPS
    if spare <= 0 or vms.empty:
        return pd.DataFrame(columns=cols)
    budget_gib = spare * goal_hours * float(SECONDS_PER_HOUR) / GIB
    order = vms.sort_values("size_gib", ascending=False, kind="stable")
    groups: list[list[int]] = []
    used = budget_gib + 1.0
    for i, size in zip(order.index, order["size_gib"].to_numpy(float), strict=True):  # one decision per VM
        if used + size > budget_gib:
            groups.append([])
            used = 0.0
        groups[-1].append(i)
        used += size
    rows = []
    for b, members in enumerate(groups, start=1):
        size = float(vms.loc[members, "size_gib"].sum())
        rows.append({"batch": b, "vms": len(members), "vm_names": ", ".join(map(str, vms.loc[members, "name"])),
                     "size_gib": size, "hours": seed_hours(size, bandwidth_mbps, delta_mbps)})
    return pd.DataFrame(rows, columns=cols)


def seed_hours(size_gib: float, bandwidth_mbps: float, delta_mbps: float) -> float:
    """Hours to copy `size_gib` on the bandwidth delta replication leaves; inf when it leaves none."""
    spare = (bandwidth_mbps - delta_mbps) * BYTES_PER_MBPS
    return float(np.inf) if spare <= 0 else size_gib * GIB / spare / float(SECONDS_PER_HOUR)
