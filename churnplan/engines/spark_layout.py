"""Reading the Parquet sample layout on Spark: samples, VM and disk inventory, one planning interval.

The layout (written by `churnplan export samples --parquet` and `churnplan collect --spool`), hive-style:
    samples/vcenter=<v>/day=YYYY-MM-DD/part-<ns>-<uuid>.parquet
    vms/vcenter=<v>/part-<ns>-<uuid>.parquet        disks/vcenter=<v>/part-<ns>-<uuid>.parquet
`<ns>` is the write time: a later inventory row replaces an earlier one (as `import parquet` upserts), and a
sample repeated in a later file is the same sample (the earliest is kept, as `import parquet` keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from churnplan.core.store import DISK_COLUMNS, SAMPLE_COLUMNS, VM_COLUMNS

FILE_NS = "file_ns"      # write time of the file a row came from (from its name)
TS_US = "ts_us"          # sample end time, microseconds since the epoch, UTC
VALUE_COLUMNS = SAMPLE_COLUMNS[5:]
_NAME_NS = r"part-(\d+)-"


class LayoutError(ValueError):
    """The folder or URI does not hold the Parquet sample layout."""


@dataclass(frozen=True)
class Layout:
    """Where a layout lives: a local folder or a URI Spark reads (hdfs://, s3a://, abfss://, file://)."""

    root: str

    def part(self, kind: str) -> str:
        return self.root.rstrip("/") + "/" + kind


def _read(spark, layout: Layout, kind: str):
    """One kind's files as a DataFrame, partition columns as strings, plus each row's file write time."""
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    path = layout.part(kind)
    try:
        frame = spark.read.option("basePath", path).parquet(path)
    except AnalysisException as exc:
        raise LayoutError(f"{path}: no Parquet {kind} here (write them with `churnplan export samples --parquet` "
                          f"or `churnplan collect --spool`): {str(exc).splitlines()[0]}") from None
    return frame.withColumn(FILE_NS, F.regexp_extract(F.col("_metadata.file_name"), _NAME_NS, 1).cast("long"))


def _latest(frame: pd.DataFrame, key: list[str], columns: list[str]) -> pd.DataFrame:
    """The newest row per key (by file write time), in the store's columns."""
    newest = frame.sort_values(FILE_NS, kind="stable").drop_duplicates(key, keep="last")
    return newest.reindex(columns=columns)


def read_inventory(spark, layout: Layout) -> tuple[pd.DataFrame, pd.DataFrame]:
    """VMs and disks as `store.load_vms`/`load_disks` return them (same columns and row order)."""
    vms = _latest(_read(spark, layout, "vms").toPandas(), ["vcenter", "vm_id"], VM_COLUMNS)
    disks = _latest(_read(spark, layout, "disks").toPandas(), ["vcenter", "vm_id", "instance"], DISK_COLUMNS)
    vms = vms.sort_values(["vcenter", "name", "vm_id"], kind="stable").reset_index(drop=True)
    disks = disks.sort_values(["vcenter", "vm_id", "instance"], kind="stable").reset_index(drop=True)
    return vms, disks


def read_samples(spark, layout: Layout):
    """Samples: keys, interval, end time as TS_US, the four values, and FILE_NS."""
    from pyspark.sql import functions as F

    frame = _read(spark, layout, "samples")
    return frame.select(*(F.col(k).cast("string").alias(k) for k in ("vcenter", "vm_id", "instance")),
                        F.col("interval_s").cast("int").alias("interval_s"),
                        F.unix_micros(F.col("ts")).alias(TS_US),
                        *(F.col(v).cast("double").alias(v) for v in VALUE_COLUMNS), FILE_NS)


def of_vcenters(vms: pd.DataFrame, disks: pd.DataFrame, samples, names: tuple[str, ...], source: str):
    """Only the vCenters `names` (--vcenter): their inventory, and their samples (a filter on the layout's
    vcenter= partitions, so the others are not read); a name the inventory lacks is a LayoutError naming those
    it holds, as the default engine names the store's."""
    from pyspark.sql import functions as F

    held = sorted(set(vms["vcenter"].astype(str)))
    unknown = [n for n in dict.fromkeys(names) if n not in held]
    if unknown:
        raise LayoutError(f"--vcenter {', '.join(map(repr, unknown))}: {source} holds no such vCenter; it holds "
                          + (", ".join(held) if held else "none"))
    keep = list(dict.fromkeys(names))
    return (vms[vms["vcenter"].astype(str).isin(keep)].reset_index(drop=True),
            disks[disks["vcenter"].astype(str).isin(keep)].reset_index(drop=True),
            samples.where(F.col("vcenter").isin(keep)))


def seconds(ts_us) -> np.ndarray:
    """Epoch seconds of microsecond end times, computed as sample_grid computes them (bit for bit)."""
    return (np.asarray(ts_us, dtype=np.int64) * 1000) / 1e9


def default_interval(samples) -> int | None:
    """The interval that spans the most time (ties: the shorter), as `store.default_interval` picks it."""
    from pyspark.sql import functions as F

    rows = (samples.groupBy("interval_s").agg((F.max(TS_US) - F.min(TS_US)).alias("span"))
            .orderBy(F.desc("span"), "interval_s").limit(1).collect())
    return int(rows[0]["interval_s"]) if rows else None


def _micros(when: datetime) -> int:
    ts = pd.Timestamp(when)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.value // 1000


def select(samples, interval_s: int, start: datetime | None, end: datetime | None):
    """Samples at one interval with end times in [start, end] (naive times are UTC), as the store selects them."""
    from pyspark.sql import functions as F

    out = samples.where(F.col("interval_s") == interval_s)
    if start is not None:
        out = out.where(F.col(TS_US) >= _micros(start))
    if end is not None:
        out = out.where(F.col(TS_US) <= _micros(end))
    return out
