"""Spark for the engine's tests: one local[2] session for the whole run (small shuffles, no UI, quiet logs),
skipped cleanly where pyspark or Java is missing; and the collector tests' vCenter simulator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from churnplan.engines.spark_session import spark_available, spark_session

_COLLECTOR = Path(__file__).resolve().parents[1] / "collector" / "conftest.py"
_spec = importlib.util.spec_from_file_location("churnplan_tests_collector_conftest", _COLLECTOR)
collector = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = collector
_spec.loader.exec_module(collector)
vcsim_binary = collector.vcsim_binary   # the simulator fixtures, shared rather than copied
vcsim = collector.vcsim


@pytest.fixture(scope="session")
def spark():
    """A local[2] Spark session (2 shuffle partitions, 2 GB driver), stopped when the tests end."""
    why = spark_available()
    if why:
        pytest.skip(why)
    session = spark_session("local[2]", app_name="churnplan-tests", shuffle_partitions=2, driver_memory="2g")
    yield session
    session.stop()
