"""A small store holding samples, for each reliability test."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability_support import small_store


@pytest.fixture
def filled_store(tmp_path: Path) -> Path:
    return small_store(tmp_path / "filled.duckdb")


@pytest.fixture
def con(tmp_db: Path):
    from churnplan.core import store

    connection = store.connect(tmp_db)
    yield connection
    connection.close()
