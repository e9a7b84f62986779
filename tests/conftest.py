"""Fixtures every test folder shares: the real datasets beside the repo, and stores built from the sample estate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """../shared/datasets, or skip the test cleanly where this checkout has none beside it."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def tmp_db(tmp_path: Path) -> Path:
    """Path for a fresh store file (not yet created)."""
    return tmp_path / "churnplan.duckdb"


@pytest.fixture(scope="session")
def sample_store_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled sample estate, built once per session. Copy it before writing."""
    from churnplan.ingest import sample_estate as samples
    from churnplan.core import store

    path = tmp_path_factory.mktemp("sample-store") / "sample.duckdb"
    con = store.connect(path)
    samples.load_into(con)
    con.close()
    return path


@pytest.fixture
def sample_store(sample_store_master: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the sample-estate store."""
    path = tmp_path / "sample.duckdb"
    shutil.copy(sample_store_master, path)
    return path
