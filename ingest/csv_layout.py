"""Where a CSV's header and records sit in the file, so that errors can name the line an editor shows."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from churnplan.ingest.errors import IngestError, line_at, shorten

_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvLayout:
    path: Path
    encoding: str           # 'utf-8' or 'utf-16' (DuckDB's names)
    skip: int               # lines before the header ('#TYPE ...' preamble)
    header_line: int        # 1-based line of the header
    delimiter: str
    columns: tuple[str, ...]

    def open_text(self) -> io.TextIOWrapper:
        return open(self.path, encoding="utf-16" if self.encoding == "utf-16" else "utf-8-sig", newline="")

    def record_line(self, record: int) -> int:
        """1-based file line where data record `record` (0-based, blank lines not counted) starts."""
        with self.open_text() as fh:
            for _ in range(self.skip):
                fh.readline()
            reader = csv.reader(fh, delimiter=self.delimiter)
            next(reader, None)
            seen, last_end = -1, reader.line_num
            for row in reader:
                start = last_end + 1
                last_end = reader.line_num
                if not row:
                    continue
                seen += 1
                if seen == record:
                    return self.skip + start
        return self.header_line + record + 1

    def byte_line(self, byte_position: int) -> int:
        """1-based line holding byte `byte_position` of the UTF-8 text DuckDB read."""
        if self.encoding == "utf-16":
            with self.open_text() as fh:
                data = ("\ufeff" + fh.read()).encode("utf-8")
        else:
            with open(self.path, "rb") as fh:
                data = fh.read(byte_position)
        return line_at(data, byte_position)


def sniff(path: Path, required: tuple[str, ...], preamble_prefix: str = "#") -> CsvLayout:
    """Read the first lines of `path`: encoding, preamble, delimiter and header; check required columns."""
    if path.is_dir():
        raise IngestError(path, None, None, "is a folder, not a file; give the files in it")
    if not path.is_file():
        raise IngestError(path, None, None, "no such file")
    with open(path, "rb") as fh:
        head = fh.read(65536)
    refuse_non_text(path, head)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, text = "utf-16", head.decode("utf-16", errors="ignore")
    else:
        encoding = "utf-8"
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if len(head) - exc.start > 4:  # not just a character cut at the end of the sample
                line = head[:exc.start].count(b"\n") + 1
                raise IngestError(path, line, None, "not UTF-8 or UTF-16 text (binary data, or another code page); "
                                                    "re-export with -Encoding UTF8") from None
            text = head[:exc.start].decode("utf-8-sig")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise IngestError(path, 1, "header", "file is empty: expected a CSV header line")
    skip = 1 if lines[0].lstrip().startswith(preamble_prefix) else 0
    if skip and len(lines) < 2:
        raise IngestError(path, 2, "header", "file ends after its '#TYPE' line: expected a CSV header line")
    header = lines[skip]
    delimiter = max(_DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d))))
    columns = tuple(c.strip() for c in next(csv.reader([header], delimiter=delimiter)))
    header_line = skip + 1
    _check_line_endings(path, text, skip + 2)
    missing = [c for c in required if c not in columns]
    if missing:
        raise IngestError(path, header_line, missing[0],
                          f"column {missing[0]!r} is missing from the header (found: {shorten(', '.join(columns))})")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise IngestError(path, header_line, dupes[0], f"column {dupes[0]!r} appears more than once")
    return CsvLayout(path, encoding, skip, header_line, delimiter, columns)


_ZIP = b"PK\x03\x04"


def refuse_non_text(path: Path, head: bytes) -> None:
    """Name what the file is when it is not CSV text: an Excel workbook, or UTF-16 written without its BOM."""
    if head.startswith(_ZIP):
        raise IngestError(path, None, None, "is an Excel workbook (xlsx, a zip file), not CSV text: give it its "
                                            ".xlsx name (RVTools), or export the data as CSV")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or len(head) < 4:
        return
    even, odd = head[0::2], head[1::2]
    for zeros, order in ((odd, "little-endian"), (even, "big-endian")):
        if zeros.count(0) > 0.4 * len(zeros) and (even if zeros is odd else odd).count(0) < 0.1 * len(zeros):
            raise IngestError(path, None, None, f"is UTF-16 ({order}) text without a byte-order mark, which cannot be "
                                                "read reliably; re-export with -Encoding UTF8 (or Unicode, with BOM)")


def _check_line_endings(path: Path, text: str, lines: int) -> None:
    """The first lines must end alike: DuckDB silently reads nothing after a '#TYPE' line ended differently."""
    ends = [("CRLF" if ln.endswith("\r\n") else "LF" if ln.endswith("\n") else "CR" if ln.endswith("\r") else None)
            for ln in text.splitlines(keepends=True)[:lines]]
    ends = [e for e in ends if e]
    for i, end in enumerate(ends[1:], 2):
        if end != ends[0]:
            raise IngestError(path, i, None, f"line ends with {end} but line 1 with {ends[0]}: mixed line endings; "
                                             "convert the file to one style (e.g. dos2unix) and import again")
