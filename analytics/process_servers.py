"""Process servers from the sizing tables, and a balanced assignment of VMs to them.

Classic: configuration servers (one per 650 VMs, each with a built-in process server) plus scale-out
process servers; modernized: replication appliances. The least number of servers that the churn/day and
machine limits allow is opened first, then VMs go largest churn first to the least-loaded server that
still fits, load measured as the share of its binding limit (churn/day or machines); a server is added only
when none fits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from churnplan.analytics.facts import (CONFIG_SERVER_MACHINE_GUIDANCE, CONFIG_SERVER_SIZES, MODERNIZED_APPLIANCE_SIZES,
                             RECOMMENDED_MIN_CACHE_GIB, SCALE_OUT_PS_SIZES, ServerSize)

from churnplan.analytics.vocabulary import Architecture, ServerRole

ROLE_CS = ServerRole.CONFIGURATION_SERVER
ROLE_PS = ServerRole.PROCESS_SERVER
ROLE_APPLIANCE = ServerRole.REPLICATION_APPLIANCE
_TABLES = {ROLE_CS: CONFIG_SERVER_SIZES, ROLE_PS: SCALE_OUT_PS_SIZES, ROLE_APPLIANCE: MODERNIZED_APPLIANCE_SIZES}
_PREFIX = {ROLE_CS: "CS", ROLE_PS: "PS", ROLE_APPLIANCE: "RA"}


def size_for(role: ServerRole, churn_gib_day: float, machines: int) -> tuple[ServerSize, bool]:
    """Smallest table row holding the load, and whether it fits at all (else the largest row)."""
    table = _TABLES[role]
    for row in table:
        if churn_gib_day <= row.max_churn_gib_day and machines <= row.max_machines:
            return row, True
    return table[-1], False


def _limits(role: ServerRole) -> tuple[float, int]:
    """(churn GiB/day, machines) of the role's largest published size: what one server can take at most."""
    top = _TABLES[role][-1]
    return top.max_churn_gib_day, top.max_machines


def assign(vms: pd.DataFrame, architecture: str = Architecture.CLASSIC) -> tuple[pd.Series, pd.DataFrame]:
    """(process server name per row of `vms`, servers frame). `vms` needs churn_gib_day; all rows are assigned."""
    if architecture not in tuple(Architecture):
        choices = " or ".join(repr(a.value) for a in Architecture)
        raise ValueError(f"architecture must be {choices}, got {architecture!r}")
    churn = vms["churn_gib_day"].fillna(0.0).to_numpy(float)
    n, total = len(churn), float(churn.sum())
    if n == 0:
        return pd.Series([], index=vms.index, dtype=object), pd.DataFrame(columns=[
            "server", "role", "vcpu", "ram_gib", "table_cache_gib", "cache_gib", "vms", "churn_gib_day", "note"])
    roles: list[ServerRole] = []
    if architecture == Architecture.MODERNIZED:
        gb, m = _limits(ROLE_APPLIANCE)
        roles = [ROLE_APPLIANCE] * max(1, math.ceil(total / gb), math.ceil(n / m))
    else:
        n_cs = max(1, math.ceil(n / CONFIG_SERVER_MACHINE_GUIDANCE))
        cs_gb, cs_m = _limits(ROLE_CS)
        ps_gb, ps_m = _limits(ROLE_PS)
        n_ps = max(0, math.ceil(max(0, n - n_cs * cs_m) / ps_m), math.ceil(max(0.0, total - n_cs * cs_gb) / ps_gb))
        roles = [ROLE_CS] * n_cs + [ROLE_PS] * n_ps
    load = np.zeros(len(roles))
    count = np.zeros(len(roles), dtype=int)
    cap_gb = np.array([_limits(r)[0] for r in roles])
    cap_m = np.array([_limits(r)[1] for r in roles])
    where = np.empty(n, dtype=int)
    for i in np.argsort(-churn, kind="stable"):  # one decision per VM
        fits = (load + churn[i] <= cap_gb) & (count < cap_m)
        if not fits.any():
            role = ROLE_APPLIANCE if architecture == Architecture.MODERNIZED else ROLE_PS
            roles.append(role)
            load, count = np.append(load, 0.0), np.append(count, 0)
            cap_gb, cap_m = np.append(cap_gb, _limits(role)[0]), np.append(cap_m, _limits(role)[1])
            fits = np.zeros(len(roles), dtype=bool)
            fits[-1] = True
        util = np.maximum((load + churn[i]) / cap_gb, (count + 1) / cap_m)  # the binding limit after adding it
        k = int(np.argmin(np.where(fits, util, np.inf)))
        where[i] = k
        load[k] += churn[i]
        count[k] += 1
    seen: dict[str, int] = {}
    names = []
    for r in roles:
        seen[r] = seen.get(r, 0) + 1
        names.append(f"{_PREFIX[r]}{seen[r]:02d}")
    rows = []
    for k, r in enumerate(roles):
        row, ok = size_for(r, load[k], int(count[k]))
        rows.append({"server": names[k], "role": r.value, "vcpu": row.vcpu, "ram_gib": row.ram_gib,
                     "table_cache_gib": row.cache_gib, "cache_gib": max(row.cache_gib, RECOMMENDED_MIN_CACHE_GIB),
                     "vms": int(count[k]), "churn_gib_day": float(load[k]),
                     "note": "" if ok else "load above the largest published size"})
    servers = pd.DataFrame(rows)
    return pd.Series(np.array(names, dtype=object)[where] if n else [], index=vms.index, dtype=object), servers
