"""Fixtures for the faces tests: a planned tiny estate and the sample-estate plan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_estate, served

import tiny_estate

from churnplan.analytics.model import PlanConfig

TINY_MBPS = 10.0


@pytest.fixture(scope="session")
def tiny_plan():
    """The tiny estate planned with a bandwidth given, so every sheet and chart has content."""
    from churnplan.analytics.plan import build_plan

    vms, disks, samples = tiny_estate.frames()
    return build_plan(vms, disks, samples, PlanConfig(bandwidth_mbps=TINY_MBPS))


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_estate.write_store(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
