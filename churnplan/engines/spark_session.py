"""A Spark session for planning: UTC, Arrow transfers, the running interpreter on the workers, quiet logs.

Locally (`local[2]`) the driver's memory is set here; on a cluster spark-submit's settings win.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from typing import Any


def spark_available() -> str | None:
    """None when Spark can start here, else why not (pyspark or Java missing)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'churnplan[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (apt install openjdk-17-jre-headless)"
    return None


def spark_session(master: str | None = "local[2]", app_name: str = "churnplan", shuffle_partitions: int | None = None,
                  driver_memory: str = "2g", **conf: Any):
    """The active Spark session, or a new one on `master` (None: what spark-submit set).

    Partition values stay strings (a vCenter named 10.0.0.1 is not a number); times are UTC throughout.
    """
    from pyspark.sql import SparkSession

    if master and master.startswith("local"):  # local workers run this same interpreter; clusters set their own
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # PySpark 4 warns about pandas 3 on every call; the plan's pandas functions are tested against it.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": driver_memory,
        **({"spark.sql.shuffle.partitions": str(shuffle_partitions)} if shuffle_partitions else {}),
        **conf,
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session



def submitted() -> bool:
    """This Python runs under spark-submit (or a pyspark shell): its master and settings are already chosen."""
    return "PYSPARK_GATEWAY_PORT" in os.environ
