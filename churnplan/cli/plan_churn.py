"""Reading a plan together with its protected VMs' churn, for the commands that simulate or bill on top of it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.progress import Progress

from churnplan.analytics import rpo, sample_grid
from churnplan.analytics.model import Plan, PlanConfig
from churnplan.analytics.rpo import PreparedChurn
from churnplan.analytics.sample_grid import SampleGrid
from churnplan.cli.errors import read_only_or_fail
from churnplan.cli.options import progress_step, read_and_plan
from churnplan.core import store


def read_plan_and_churn(db: Path, config: PlanConfig, interval: int | None, progress: Progress
                        ) -> tuple[Plan, PreparedChurn, pd.DataFrame, SampleGrid]:
    """The plan, its protected VMs' churn (excluded disks left out; scopes = process servers), the store's VM
    inventory and the sample grid."""
    plan = read_and_plan(db, config, interval, progress)
    with progress_step(progress, "reading the protected VMs' churn"):
        with read_only_or_fail(db) as con:
            vms = store.load_vms(con, config.vcenters or None)
            samples = store.load_samples_polars(con, interval, config.start, config.end, config.vcenters or None)
        grid = sample_grid.from_frame(samples)
        excluded = plan.disks[["vcenter", "vm_id", "instance", "excluded"]]
        prepared = rpo.prepare(grid, plan.vms, excluded, timezone=config.timezone)
    return plan, prepared, vms, grid
