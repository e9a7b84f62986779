"""Spark for the engine's tests: one local[2] session for the whole run (small shuffles, no UI, quiet logs),
skipped cleanly where pyspark or Java is missing; and the collector tests' vCenter simulator."""

from __future__ import annotations

import pytest

from churnplan.engines.spark_session import spark_available, spark_session

from vcsim_support import vcsim, vcsim_binary  # noqa: F401  (fixtures the spool test uses)


@pytest.fixture(scope="session")
def spark():
    """A local[2] Spark session (2 shuffle partitions, 2 GB driver), stopped when the tests end."""
    why = spark_available()
    if why:
        pytest.skip(why)
    session = spark_session("local[2]", app_name="churnplan-tests", shuffle_partitions=2, driver_memory="2g")
    yield session
    session.stop()
