"""Process servers from the sizing tables, and a balanced assignment of VMs to them.

Classic: configuration servers (one per 650 VMs, each with a built-in process server) plus scale-out
process servers; modernized: replication appliances. The least number of servers that the churn/day and
machine limits allow is opened first, then VMs go largest churn first to the least-loaded server that
still fits, load measured as the share of its binding limit (churn/day or machines); a server is added only when none fits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from churnplan.analytics.facts import (CONFIG_SERVER_MACHINE_GUIDANCE, CONFIG_SERVER_SIZES, MODERNIZED_APPLIANCE_SIZES,
                             RECOMMENDED_MIN_CACHE_GB, SCALE_OUT_PS_SIZES, ServerSize)

ARCHITECTURES = ("classic", "modernized")
ROLE_CS = "configuration server"
ROLE_PS = "scale-out process server"
ROLE_APPLIANCE = "replication appliance"
_TABLES = {ROLE_CS: CONFIG_SERVER_SIZES, ROLE_PS: SCALE_OUT_PS_SIZES, ROLE_APPLIANCE: MODERNIZED_APPLIANCE_SIZES}
_PREFIX = {ROLE_CS: "CS", ROLE_PS: "PS", ROLE_APPLIANCE: "RA"}


def size_for(role: str, churn_gb_day: float, machines: int) -> tuple[ServerSize, bool]:
    """Smallest table row holding the load, and whether it fits at all (else the largest row)."""
    table = _TABLES[role]
    for row in table:
        if churn_gb_day <= row.max_churn_gb_day and machines <= row.max_machines:
            return row, True
    return table[-1], False


def _limits(role: str) -> tuple[float, int]:
    """(churn GB/day, machines) of the role's largest published size: what one server can take at most."""
    top = _TABLES[role][-1]
    return top.max_churn_gb_day, top.max_machines


def assign(vms: pd.DataFrame, architecture: str = "classic") -> tuple[pd.Series, pd.DataFrame]:
    """(process server name per row of `vms`, servers frame). `vms` needs churn_gb_day; all rows are assigned."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be {' or '.join(map(repr, ARCHITECTURES))}, got {architecture!r}")
    churn = vms["churn_gb_day"].fillna(0.0).to_numpy(float)
    n, total = len(churn), float(churn.sum())
    if n == 0:
        return pd.Series([], index=vms.index, dtype=object), pd.DataFrame(columns=[
            "server", "role", "vcpu", "ram_gb", "table_cache_gb", "cache_gb", "vms", "churn_gb_day", "note"])
    roles: list[str] = []
    if architecture == "modernized":
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
            role = ROLE_APPLIANCE if architecture == "modernized" else ROLE_PS
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
        rows.append({"server": names[k], "role": r, "vcpu": row.vcpu, "ram_gb": row.ram_gb,
                     "table_cache_gb": row.cache_gb, "cache_gb": max(row.cache_gb, RECOMMENDED_MIN_CACHE_GB),
                     "vms": int(count[k]), "churn_gb_day": float(load[k]),
                     "note": "" if ok else "load above the largest published size"})
    servers = pd.DataFrame(rows)
    return pd.Series(np.array(names, dtype=object)[where] if n else [], index=vms.index, dtype=object), servers
