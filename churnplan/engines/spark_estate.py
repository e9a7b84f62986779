"""The Spark engine's estate-wide series: a Spark sum per sample time, and the small per-scope series the driver
replays (the estate's queue, coverage's remediated link, recovery points and outage catch-up).

Only these series reach the driver (8 bytes per sample time and scope), never every VM's series unless a given
link needs the estate's per-VM fair share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnplan.analytics import rpo
from churnplan.analytics.sample_grid import DISK_KEY, VM_KEY, SampleGrid
from churnplan.analytics.vocabulary import Scope
from churnplan.core.units import KIB
from churnplan.engines.spark_groups import VM_ORDER, ServerJob, ServerOutcome
from churnplan.engines.spark_layout import FILE_NS, TS_US, seconds


@dataclass(frozen=True)
class EstateSeries:
    """The estate's sample times (included disks, every VM) and write KiB/s summed per time; first and last
    sample of any disk (epoch seconds, and the first in microseconds: where telemetry slots count from)."""

    times: np.ndarray
    write_kibps: np.ndarray
    first_last: np.ndarray
    first_us: int = 0
    rows: int = 0           # sample rows summed, a sample repeated in a later file counted each time


def _write_kibps():
    """A sample's write KiB/s in the estate's sums: 0 for an excluded disk's, NULL or NaN (a sample of 0)."""
    from pyspark.sql import functions as F

    return F.when(~F.col("excluded"), F.coalesce(F.nanvl(F.col("write_kbps"), F.lit(0.0)), F.lit(0.0)))


def estate_series(flagged) -> EstateSeries:
    """One Spark aggregation per sample time: write KiB/s over included disks (a NULL or NaN value is a sample
    of 0) and whether any included disk has a sample then; the first and last time of any disk."""
    from pyspark.sql import functions as F

    included = ~F.col("excluded")
    per_ts = (flagged.groupBy(TS_US).agg(F.sum(_write_kibps()).alias("write_kibps"),
                                         F.max(included.cast("int")).alias("included"), F.count(F.lit(1)).alias("rows"))
              .toPandas().sort_values(TS_US))
    rows = int(per_ts["rows"].sum())
    first_last = np.unique(seconds(per_ts[TS_US].to_numpy()[[0, -1]])) if len(per_ts) else np.zeros(0)
    first_us = int(per_ts[TS_US].iloc[0]) if len(per_ts) else 0
    per_ts = per_ts[per_ts["included"] == 1]
    return EstateSeries(seconds(per_ts[TS_US].to_numpy()), per_ts["write_kibps"].to_numpy(dtype=float), first_last,
                        first_us, rows)


def once(flagged):
    """The samples with a sample repeated in a later file counted once, the earliest file's (as the groups and
    `import parquet` keep it): a shuffle of every sample, so run only when repeats were seen."""
    from pyspark.sql import functions as F

    first = F.min(F.struct(FILE_NS, "write_kbps", "excluded")).alias("first")
    return flagged.groupBy(*DISK_KEY, TS_US).agg(first).select(*DISK_KEY, TS_US, "first.write_kbps",
                                                               "first.excluded")


def estate_grid(series: EstateSeries, interval_s: float) -> SampleGrid:
    """The estate as a one-row grid (its summed series): what seeding reads from the default engine's VM grid."""
    one = series.write_kibps[None, :]
    zeros = np.zeros_like(one)
    keys = pd.DataFrame({"vcenter": [""], "vm_id": [str(Scope.ESTATE)]})
    return SampleGrid(keys, series.times, interval_s, one, zeros, zeros, zeros)


def _one_column(times: np.ndarray, interval_s: float, write_kibps: np.ndarray, timezone: str) -> rpo.PreparedChurn:
    """A series of write KiB/s as the estate's one-column churn (bytes per sample, as rpo.prepare computes them)."""
    one = pd.DataFrame({"vcenter": [""], "vm_id": [str(Scope.ESTATE)], "name": [str(Scope.ESTATE)],
                        "scope": [str(Scope.ESTATE)]})
    return rpo.PreparedChurn(times, interval_s, one, (write_kibps * (float(KIB) * interval_s))[:, None], timezone)


def every_vm_churn(spark, flagged, series: EstateSeries, vms: pd.DataFrame, sampled_vms: pd.DataFrame,
                   interval_s: float, timezone: str) -> rpo.PreparedChurn:
    """Every inventoried VM's churn summed (coverage's remediated link replays it on one queue), on the estate's
    times. It is the estate series itself unless samples name VMs the inventory lacks: those leave the sum, as
    rpo.prepare leaves out VMs its assignment lacks, in a second Spark sum without them."""
    from pyspark.sql import functions as F

    keys = sampled_vms[VM_KEY].astype(str)
    unknown = keys[~pd.MultiIndex.from_frame(keys).isin(pd.MultiIndex.from_frame(vms[VM_KEY].astype(str)))]
    if unknown.empty:
        return _one_column(series.times, interval_s, series.write_kibps, timezone)
    known = flagged.join(F.broadcast(spark.createDataFrame(unknown.drop_duplicates())), VM_KEY, "left_anti")
    per_ts = known.groupBy(TS_US).agg(F.sum(_write_kibps()).alias("write_kibps")).toPandas()
    write = pd.Series(per_ts["write_kibps"].fillna(0.0).to_numpy(dtype=float), index=seconds(per_ts[TS_US]))
    return _one_column(series.times, interval_s, write.reindex(series.times, fill_value=0.0).to_numpy(), timezone)


def estate_churn(series: EstateSeries, interval_s: float, timezone: str, order: list[str],
                 outcomes: dict[str, ServerOutcome], job: ServerJob) -> rpo.PreparedChurn:
    """The protected estate's churn: every protected VM's bytes when the fair share needs them, else one column
    per process server (its VMs' sum), so the estate's sum, each server's catch-up and the recovery points all
    read it as they read the default engine's per-VM churn."""
    if job.keep_vm_bytes and order:
        vms = pd.concat([outcomes[s].vms for s in order], ignore_index=True)
        matrix = np.concatenate([outcomes[s].vm_bytes for s in order], axis=1)
        rank = job.vms.set_index(VM_KEY)[VM_ORDER]
        at = np.argsort(rank.loc[pd.MultiIndex.from_frame(vms[VM_KEY])].to_numpy(), kind="stable")
        return rpo.PreparedChurn(series.times, interval_s, vms.iloc[at].reset_index(drop=True),
                                 np.ascontiguousarray(matrix[:, at]), timezone)
    servers = pd.DataFrame({"vcenter": "", "vm_id": order, "name": order, "scope": order}, dtype=object)
    matrix = (np.column_stack([outcomes[s].scope_bytes for s in order]) if order
              else np.zeros((series.times.size, 0)))
    return rpo.PreparedChurn(series.times, interval_s, servers, np.ascontiguousarray(matrix), timezone)
