"""A small store holding samples, for each reliability test."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability_support import small_store


@pytest.fixture
def filled_store(tmp_path: Path) -> Path:
    return small_store(tmp_path / "filled.duckdb")
