"""`churnplan vm-sizes`: the Azure VM size per protected VM, vCPUs per family for the quota, and where the cache
(log) storage accounts go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from churnplan.analytics import azure_vm_size, storage_accounts
from churnplan.cli.errors import fail
from churnplan.cli.options import config_from_options, progress_bar, with_plan_options
from churnplan.cli.plan_churn import read_plan_and_churn
from churnplan.core import store
from churnplan.export import csv as csv_export

console = Console(stderr=True)
KEY = ["vcenter", "vm_id"]


@with_plan_options
def vm_sizes_cmd(
    db: Path = typer.Option(store.DEFAULT_DB, "--db", help="DuckDB store file (opened read-only)."),
    out: Path | None = typer.Option(None, "--out", help="Directory for vm_sizes.csv, cores_by_family.csv, "
                                                           "cache_accounts.csv and cache_account_placement.csv."),
    families: str = typer.Option(",".join(azure_vm_size.DEFAULT_FAMILIES), "--families",
                                 help="VM families to choose from, comma-separated (Bs on request)."),
    account: str = typer.Option("V2", "--cache-account", help="Cache storage account type: V2 or V1."),
    **options: Any,
) -> None:
    """Azure VM size per protected VM (vCPUs, memory, NICs, data disks, IOPS and throughput at the plan's
    percentile and growth), vCPUs per family, and cache storage-account placement."""
    config = config_from_options(options, db)
    with progress_bar() as progress:
        plan, _, inventory, grid = read_plan_and_churn(db, config, options["interval"], progress)
    d = plan.disks.astype({"vcenter": str, "vm_id": str, "instance": str})
    protected = d[~d["excluded"].astype(bool) & (d["process_server"].fillna("").astype(str) != "")]
    protected = protected.assign(premium=protected["target_tier"].astype(str) != "Standard")
    load = azure_vm_size.peak_load(grid.by_vm(), config.percentile, config.growth_pct).astype(
        {"vcenter": str, "vm_id": str})
    vms = inventory.astype({"vcenter": str, "vm_id": str}).merge(
        protected[KEY].drop_duplicates(), on=KEY, how="inner")
    premium = protected.groupby(KEY, as_index=False)["premium"].any()
    needs = azure_vm_size.needs_from_inventory(vms, d[d["vm_id"].isin(vms["vm_id"])], None)
    needs = needs.drop(columns=["iops", "mbps", "premium"]).merge(
        load.rename(columns={"peak_iops": "iops", "peak_mbps_rw": "mbps"}), on=KEY, how="left").merge(
        premium, on=KEY, how="left")
    try:
        sized = azure_vm_size.pick_sizes(needs, tuple(f.strip() for f in families.split(",") if f.strip()))
        per_vm = storage_accounts.load_from_disks(
            protected.assign(avg_churn_mbps=protected["avg_write_kibps"] / 1024.0), account)
        placement, accounts = storage_accounts.place(per_vm, account)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    cores = azure_vm_size.cores_by_family(sized)
    table = Table(title="vCPUs per VM family (target region quota)")
    for col in ("family", "quota family", "VMs", "vCPUs"):
        table.add_column(col)
    for r in cores.itertuples():
        table.add_row(r.family, r.quota_family, str(r.vms), str(r.vcpus))
    Console().print(table)
    unsized = sized[sized["azure_size"] == ""]
    if len(unsized):
        console.print(f"[yellow]warning:[/] no size fits {len(unsized)} VMs (see vm_sizes.csv reason)")
    console.print(f"{len(accounts)} cache storage accounts ({storage_accounts.ACCOUNT_KIND}, {account}); "
                  f"fullest at {accounts[['iops_pct', 'churn_pct']].max().max():.0f} %" if len(accounts) else
                  "no protected VMs: no cache storage account")
    if out is not None:
        sized = sized.merge(placement, on=KEY, how="left")
        for p in (csv_export.write_frame(sized, out / "vm_sizes.csv"),
                  csv_export.write_frame(cores, out / "cores_by_family.csv"),
                  csv_export.write_frame(accounts, out / "cache_accounts.csv"),
                  csv_export.write_frame(placement, out / "cache_account_placement.csv")):
            console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("vm-sizes")(vm_sizes_cmd)
