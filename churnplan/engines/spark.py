"""The Spark engine: the plan's per-disk, per-VM and per-server stages on a cluster, from the Parquet layout.

Spark groups the samples by VM (disk and VM profiles, each disk's telemetry statistics) and by process server
(series, required bandwidth, queue simulation, cache) and runs the default engine's analytics functions on each
group (`spark_groups`); the estate's series is a plain Spark sum per sample time (`spark_estate`). The driver
holds only inventory-sized tables and per-scope series: it assigns process servers and sizes Azure targets from
the per-VM table, simulates the estate's queue, and finishes the plan (coverage, billed cost, recovery points,
outage catch-up, telemetry confidence, summary) with the same stage functions as `build_plan`.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from churnplan.analytics import rpo
from churnplan.analytics.config import PlanConfig
from churnplan.analytics.model import Plan
from churnplan.analytics.plan import assemble, check, with_estimates
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid
from churnplan.analytics.stages import bandwidth_table as bw
from churnplan.analytics.stages.assignment import Assignment, assign
from churnplan.analytics.stages.azure_targets import azure_targets
from churnplan.analytics.stages.cache import with_caches
from churnplan.analytics.stages.coverage import coverage_of
from churnplan.analytics.stages.estimates import estimates
from churnplan.analytics.stages.links import links, planned_mbps
from churnplan.analytics.stages.profiles import inventory, with_profiles
from churnplan.analytics.stages.seeding import seed_and_cost
from churnplan.analytics.stages.simulation import Simulation, compliance_curve, simulate
from churnplan.analytics.stages.summary import summarise
from churnplan.analytics.stages.targets import targets
from churnplan.analytics.telemetry_statistics import DiskStatistics
from churnplan.analytics.vocabulary import Scope, protected
from churnplan.engines import spark_layout as layout_io
from churnplan.engines.spark_groups import (DISK_NO, LEVEL, PAYLOAD, SERVER_NO, TELEMETRY, TELEMETRY_COLUMNS,
                                            VM_ORDER, ServerJob, ServerOutcome, profile_columns, server_payload,
                                            server_queue, vm_profiles)
from churnplan.engines.spark_estate import (EstateSeries, estate_churn, estate_grid, estate_series, every_vm_churn,
                                            once)
from churnplan.engines.spark_layout import TS_US, Layout

_SPARK_TYPES = {"f": "double", "i": "long", "u": "long", "b": "boolean"}


def _flagged(spark, samples, disks: pd.DataFrame):
    """Samples with `excluded` (their disk is left out of every sum), from a broadcast list of excluded disks."""
    from pyspark.sql import functions as F

    excluded = disks.loc[disks["excluded"], DISK_KEY].astype(str)
    if excluded.empty:
        return samples.withColumn("excluded", F.lit(False))
    marks = spark.createDataFrame(excluded.assign(excluded=True))
    return samples.join(F.broadcast(marks), DISK_KEY, "left").fillna(False, subset=["excluded"])


def _profiles(flagged, config: PlanConfig, interval_s: int, t0_us: int
              ) -> tuple[pd.DataFrame, pd.DataFrame, DiskStatistics]:
    """Disk and VM profiles, and the disks' telemetry statistics, one applyInPandas group per VM (its disks'
    samples; telemetry slots count from the selection's earliest sample end `t0_us`)."""
    telemetry = [TELEMETRY + c for c in TELEMETRY_COLUMNS]
    schema = ", ".join([f"{LEVEL} string"] + [f"{k} string" for k in DISK_KEY]
                       + [f"{c} {_SPARK_TYPES[kind]}" for c, kind in profile_columns()]
                       + [f"{c} long" for c in telemetry])

    def fn(rows: pd.DataFrame) -> pd.DataFrame:
        return vm_profiles(rows, config.percentile, config.growth_pct, float(interval_s), t0_us)

    rows = flagged.groupBy(*VM_KEY).applyInPandas(fn, schema).toPandas()
    disk_rows = rows[rows[LEVEL] == "disk"].drop(columns=LEVEL).reset_index(drop=True)
    vm_rows = rows[rows[LEVEL] == "vm"].drop(columns=[LEVEL, "instance"] + telemetry).reset_index(drop=True)
    stats = disk_rows[DISK_KEY + telemetry].rename(columns=lambda c: c.removeprefix(TELEMETRY))
    return disk_rows.drop(columns=telemetry), vm_rows, DiskStatistics(float(interval_s), stats)


def _disk_numbers(disk_prof: pd.DataFrame) -> pd.DataFrame:
    """DISK_NO of every disk with samples: its rank by (vcenter, vm_id, instance), as the grid orders rows."""
    disks = disk_prof[DISK_KEY].astype(str).sort_values(DISK_KEY, kind="stable").reset_index(drop=True)
    return disks.assign(**{DISK_NO: np.arange(len(disks), dtype=np.int32)})


def _server_outcomes(spark, flagged, disk_prof: pd.DataFrame, job: ServerJob,
                     order: list[str]) -> dict[str, ServerOutcome]:
    """Each process server's queue, one applyInPandas group per server (integer-coded rows: VM, disk, time,
    write KiB/s); a server none of whose VMs has samples is worked out on the driver."""
    from pyspark.sql import functions as F

    codes = _disk_numbers(disk_prof).merge(job.vms[VM_KEY + [VM_ORDER, SERVER_NO]].astype({"vm_id": str}),
                                           on=VM_KEY, how="inner")
    rows = (flagged.where(~F.col("excluded"))
            .join(F.broadcast(spark.createDataFrame(codes)), DISK_KEY, "inner")
            .select(SERVER_NO, VM_ORDER, DISK_NO, TS_US, "write_kbps", layout_io.FILE_NS))

    def fn(rows: pd.DataFrame) -> pd.DataFrame:
        return server_payload(rows, job)

    got = rows.groupBy(SERVER_NO).applyInPandas(fn, f"{SERVER_NO} int, {PAYLOAD} binary").collect()
    outcomes = {order[r[SERVER_NO]]: pickle.loads(r[PAYLOAD]) for r in got}
    empty = pd.DataFrame({c: pd.Series(dtype=np.int64) for c in (VM_ORDER, DISK_NO, TS_US, layout_io.FILE_NS)})
    for server in order:
        if server not in outcomes:
            outcomes[server] = server_queue(server, empty.assign(write_kbps=pd.Series(dtype=float)), job)
    return outcomes


def _combined(parts: list[Simulation]) -> Simulation:
    """One Simulation from per-scope ones, in their order (the estate first, as build_plan orders scopes)."""
    outcomes = {scope: w for part in parts for scope, w in part.outcomes.items()}
    return Simulation(rpo=pd.concat([p.rpo for p in parts], ignore_index=True), outcomes=outcomes,
                      lag_series=pd.concat([p.lag_series for p in parts], ignore_index=True),
                      daily_lag=pd.concat([p.daily_lag for p in parts], ignore_index=True))


def plan_samples(spark, source: str, config: PlanConfig, interval_s: int | None = None) -> Plan:
    """Plan from the Parquet layout at `source` (folder or URI) on `spark`: the same Plan as build_plan."""
    check(config)
    where = Layout(str(source))
    vms_raw, disks_raw = layout_io.read_inventory(spark, where)
    samples = layout_io.read_samples(spark, where)
    if config.vcenters:
        vms_raw, disks_raw, samples = layout_io.of_vcenters(vms_raw, disks_raw, samples, config.vcenters, source)
    interval = interval_s or layout_io.default_interval(samples)
    if interval is None:
        raise layout_io.LayoutError(f"{source}: no samples to plan from")
    samples = layout_io.select(samples, interval, config.start, config.end)
    tz = config.throttle.timezone if config.throttle is not None else config.timezone
    vms, disks = inventory(vms_raw, disks_raw, config)
    flagged = _flagged(spark, samples, disks)
    series = estate_series(flagged)
    if series.first_last.size == 0:
        raise layout_io.LayoutError(f"{source}: no samples at {interval} s in the window to plan from")
    disk_prof, vm_prof, telemetry = _profiles(flagged, config, interval, series.first_us)
    summed = flagged   # what the estate's sums read: each sample once (the groups keep the earliest file's)
    if series.rows > int(telemetry.disks["samples"].sum()):   # samples repeated in later files
        summed = once(flagged)
        series = estate_series(summed)
    grid = estate_grid(series, float(interval))
    placed = assign(targets(with_profiles(vms, disks, disk_prof, vm_prof, grid, series.first_last, float(interval))),
                    config.architecture)
    job, order = _server_job(placed, series, float(interval), tz, config)
    outcomes = _server_outcomes(spark, flagged, disk_prof, job, order)
    every = every_vm_churn(spark, summed, series, vms, vm_prof, float(interval), tz)
    return _finish(config, tz, placed, grid, series, estate_churn(series, float(interval), tz, order, outcomes, job),
                   every, [outcomes[s] for s in order], job.estate_gib_day, telemetry)


def _server_job(placed: Assignment, series: EstateSeries, interval_s: float, tz: str,
                config: PlanConfig) -> tuple[ServerJob, list[str]]:
    """What each process server's group needs (its VMs numbered in the estate's order), and the servers' order."""
    v = placed.vms
    prot = protected(v)
    assigned = v.loc[prot, VM_KEY + ["name", "process_server"]].reset_index(drop=True)
    order = [str(s) for s in placed.servers["server"]]
    assigned[VM_ORDER] = np.arange(len(assigned), dtype=np.int32)
    assigned[SERVER_NO] = pd.Index(order).get_indexer(assigned["process_server"].astype(str)).astype(np.int32)
    job = ServerJob(series.times, interval_s, tz, config, placed.servers, assigned,
                    float(v.loc[prot, "churn_gib_day"].sum()), keep_vm_bytes=config.link_given)
    return job, order


def _finish(config: PlanConfig, tz: str, placed: Assignment, grid: SampleGrid, series: EstateSeries,
            estate: rpo.PreparedChurn, every: rpo.PreparedChurn, servers: list[ServerOutcome],
            estate_gib_day: float, telemetry: DiskStatistics) -> Plan:
    """The estate's stages on the driver, from the per-server outcomes and the small estate-wide series: the same
    stage functions, in the same order, as plan_from_profiles."""
    rpos, factor = bw.rpo_targets(config), bw.write_factor(config)
    estate_bw = bw.scope_bandwidth(estate, Scope.ESTATE, rpos, config.compliance_goals_pct, factor)
    table = bw.BandwidthTable.of([estate_bw] + [s.bandwidth for s in servers])
    planned = planned_mbps(config, table)
    estate_link = links(config, placed.servers, table, estate_gib_day)[Scope.ESTATE]
    estate_sim = simulate({Scope.ESTATE: estate}, {Scope.ESTATE: estate_link}, rpos, config)
    sim = _combined([estate_sim] + [s.simulation for s in servers])
    seeding = seed_and_cost(grid, placed, planned, config, estate_gib_day)
    cover = coverage_of(every, placed, config, factor, table, config.compliance_goals_pct)
    azure = azure_targets(placed)
    est = estimates(telemetry, placed, estate, config, planned)
    summary = summarise(config, tz, series.first_last, estate, placed, table, planned, sim.estate,
                        bw.throttle_needed(estate, config), seeding, cover, azure, est)
    curve = compliance_curve(estate_bw.curve, summary.required_mbps_100pct, config.rpo_min)
    caches = with_caches(placed.servers, [s.cache for s in servers], table, config)
    return with_estimates(assemble(config, placed, caches, table, sim, summary, seeding, curve), est, azure)
