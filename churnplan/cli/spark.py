"""`plan --engine spark`: start (or join) a Spark session and plan from the Parquet sample layout."""

from __future__ import annotations

from rich.progress import Progress

from churnplan.analytics.config import PlanConfig
from churnplan.analytics.model import Plan
from churnplan.cli.errors import fail
from churnplan.cli.options import progress_step

LOCAL_MASTER = "local[2]"


def spark_plan(samples: str, master: str | None, config: PlanConfig, interval: int | None,
               progress: Progress) -> Plan:
    """Plan on Spark; a missing pyspark or Java, an empty layout or a bad option is one plain error line."""
    from churnplan.engines.spark_session import spark_available, spark_session, submitted

    why = spark_available()
    if why:
        raise fail(f"--engine spark: {why}")
    from churnplan.engines.spark import plan_samples
    from churnplan.engines.spark_layout import LayoutError

    chosen = master or (None if submitted() else LOCAL_MASTER)
    with progress_step(progress, f"starting Spark ({chosen or 'as submitted'})"):
        spark = spark_session(chosen)
    with progress_step(progress, f"planning {samples} on Spark") as task:
        try:
            plan = plan_samples(spark, samples, config, interval)
        except (LayoutError, ValueError) as exc:
            raise fail(str(exc)) from exc
        progress.update(task, description=f"planned {samples} on Spark ({spark.sparkContext.master})")
    return plan
