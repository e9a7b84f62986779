"""The sample estate's files have one home: data/samples/ in a checkout, found through importlib.resources."""

from __future__ import annotations

from pathlib import Path

import pytest

import churnplan
from churnplan.ingest import sample_estate as samples

REPO = Path(__file__).resolve().parents[2]


def test_checkout_reads_and_regenerates_data_samples() -> None:
    if not Path(churnplan.__file__).resolve().is_relative_to(REPO):
        pytest.skip("churnplan is not installed editable from this checkout")
    assert samples.DEFAULT_DIR.resolve() == REPO / "data" / "samples"
    assert all((samples.DEFAULT_DIR / f).is_file() for f in samples.FILES)
