"""One root for every error churnplan raises on purpose: the CLI catches `ChurnplanError` once and prints one line.

Each kind names what the user should look at: the store file, an input file's line and field, the vCenter, or
an option. Anything else escaping a command is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class ChurnplanError(Exception):
    """Something the user can fix; the message says what and where."""


class ConfigError(ChurnplanError, ValueError):
    """A setting or option value that cannot be used (also a ValueError, so older callers keep catching it)."""


class OptionError(ConfigError):
    """A command-line option value that cannot be used; the message starts with the option's name."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}")

    def __reduce__(self) -> tuple[type[OptionError], tuple[str, str]]:
        return (type(self), (self.option, self.message))


class StoreError(ChurnplanError, RuntimeError):
    """The store cannot be used as asked; the message names the file and says what to do."""


class StoreBusy(StoreError):
    """The store is locked by a writer (a running collection); try again shortly."""


class StoreDamaged(StoreError):
    """The store file is damaged (truncated, foreign or missing parts); it is refused and never written to."""


class CollectorError(ChurnplanError, RuntimeError):
    """The collection cannot go on; the message names the vCenter and says why and what to do."""


class IngestError(ChurnplanError, ValueError):
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

    def __reduce__(self) -> tuple[type[IngestError], tuple[str, int | None, str | None, str]]:
        # keep pickling (multiprocessing, pytest-xdist) working with the 4-arg constructor
        return (type(self), (self.file, self.line, self.field, self.message))


def shorten(text: object, limit: int = 80) -> str:
    """`text` as repr, cut to about `limit` characters: input echoed back in a message never floods the screen."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "…" + shown[-4:]
