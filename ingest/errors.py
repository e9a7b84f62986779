"""The one error every importer raises for bad input: it names the file, the line and the field at fault."""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """Bad input: `line` is 1-based as an editor shows it (None when the fault is the file as a whole)."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        what = f", field {self.field}" if self.field else ""
        return f"{where}{what}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing, pytest-xdist) working with the 4-arg constructor
        return (type(self), (self.file, self.line, self.field, self.message))


def line_at(data: bytes, offset: int) -> int:
    """1-based line holding byte `offset` of `data`, as an error message names it."""
    return data.count(b"\n", 0, offset) + 1
