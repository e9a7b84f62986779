"""The one error every importer raises for bad input (defined in core.errors): it names the file, line and field."""

from __future__ import annotations

from churnplan.core.errors import IngestError, shorten

__all__ = ["IngestError", "line_at", "shorten"]


def line_at(data: bytes, offset: int) -> int:
    """1-based line holding byte `offset` of `data`, as an error message names it."""
    return data.count(b"\n", 0, offset) + 1
