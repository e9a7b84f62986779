"""A fresh store for each importer test."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnplan.core import store


@pytest.fixture
def con(tmp_db: Path):
    connection = store.connect(tmp_db)
    yield connection
    connection.close()
