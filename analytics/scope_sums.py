"""The VMs' write series summed per process server as blocks of VMs arrive, for an engine that keeps no per-VM
series: after assignment it reads the samples a second time, and memory holds a block and the sums only.

The plan takes these sums from the whole per-VM grid too, when it has one: each sum adds its VMs' rows in grid
order, one after another, so reading by blocks changes no figure.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from churnplan.analytics.rpo import ESTATE, PreparedChurn, scope_frame, vm_keys
from churnplan.analytics.sample_grid import VM_KEY, SampleGrid
from churnplan.analytics.vocabulary import protected
from churnplan.core.units import KIB

_ALL, _PLACED = 0, 1   # the accumulator's first rows: every VM (seeding), the assigned VMs (coverage)


class ScopeSums:
    """Write KiB/s summed per process server (protected VMs with a server), over the assigned VMs and over every
    VM with samples, on the grid's time axis; `add` per-VM grids of consecutive VMs (included disks only)."""

    def __init__(self, vms: pd.DataFrame, times: np.ndarray, interval_s: float) -> None:
        server = vms["process_server"].fillna("").astype(str)
        replicating = protected(vms) & (server != "")
        self.names = sorted(set(server[replicating]))
        row = pd.Series(pd.Index(self.names).get_indexer(server) + 2, index=vm_keys(vms))
        self._row = row.where(replicating.to_numpy(), -1)            # the accumulator row of each assigned VM
        self.times, self.interval_s = times, interval_s
        self._kbps = np.zeros((len(self.names) + 2, times.size))
        self._present = np.zeros(times.size, dtype=bool)

    def add(self, per_vm: SampleGrid) -> None:
        """Add a block of VMs' series (rows in grid order, after those added before)."""
        w = per_vm.write_kbps if per_vm.dense else np.nan_to_num(per_vm.write_kbps)
        self._present |= per_vm.present_times()
        row = self._row.reindex(vm_keys(per_vm.keys)).to_numpy()
        placed, server = ~np.isnan(row), np.nan_to_num(row, nan=-1).astype(int)
        acc = self._kbps
        for i in range(len(w)):   # VMs, not samples: each sum adds its VMs' rows one after another, in grid order
            acc[_ALL] += w[i]
            if placed[i]:
                acc[_PLACED] += w[i]
            if server[i] >= 0:
                acc[server[i]] += w[i]

    def churns(self, timezone: str, scopes: Iterable[str]) -> dict[str, PreparedChurn]:
        """Each scope's churn: the estate with one column per server (its VMs' bytes summed), each server of
        `scopes` its own column."""
        sums = self._bytes(slice(2, None)).T
        frame = scope_frame(self.names)
        out: dict[str, PreparedChurn] = {ESTATE: PreparedChurn(self.times[self._present], self.interval_s, frame, sums,
                                                               timezone)}
        for scope in scopes:
            if scope != ESTATE:
                c = out[ESTATE].columns(scope)
                out[scope] = PreparedChurn(out[ESTATE].times, self.interval_s, frame.iloc[c].reset_index(drop=True),
                                           np.ascontiguousarray(sums[:, c]), timezone)
        return out

    def every(self, timezone: str) -> PreparedChurn:
        """Every assigned VM's churn summed (one column): what coverage replays when VMs are left out."""
        return PreparedChurn(self.times[self._present], self.interval_s, scope_frame([ESTATE]),
                             self._bytes(slice(_PLACED, _PLACED + 1)).T, timezone)

    def estate_grid(self) -> SampleGrid:
        """One row of every VM's write KiB/s summed, NaN where none has a sample: the estate series seeding reads."""
        row = np.where(self._present, self._kbps[_ALL], np.nan)[None, :]
        nan = np.broadcast_to(np.float64(np.nan), row.shape)
        return SampleGrid(pd.DataFrame({k: [ESTATE] for k in VM_KEY}), self.times, self.interval_s, row, nan, nan, nan)

    def _bytes(self, rows: slice) -> np.ndarray:
        """Bytes per present sample time of accumulator `rows` (KiB/s x 1024 x interval, as rpo.prepare counts)."""
        kbps: np.ndarray = self._kbps[rows][:, self._present]
        return kbps * (float(KIB) * self.interval_s)

