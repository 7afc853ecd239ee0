"""Read a district's file (CSV or XLSX) as a stream of canonical rows.

Nothing is repaired: values are passed on as sent (trimmed), so the checks
can report exactly what the district wrote. What cannot be read at all
raises :class:`~dtks.reasons.SubmissionRejected` with a reason code.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from dtks.config import PROJECT_ROOT
from dtks.reasons import SubmissionRejected
from dtks.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

MAPPING_FILE = PROJECT_ROOT / "include" / "mapping" / "column_aliases.json"
_SNIFF_BYTES = 64 * 1024
_XLSX_HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class ColumnMapping:
    version: str
    alias_to_column: dict[str, str]

    def canonical(self, header: str) -> str | None:
        return self.alias_to_column.get(_normalise_header(header))


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s._\-/]+", "", name.strip().lower())


@lru_cache(maxsize=1)
def column_mapping(path: Path = MAPPING_FILE) -> ColumnMapping:
    spec = json.loads(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    for column, spellings in spec["columns"].items():
        if column not in CANONICAL_COLUMNS:
            raise ValueError(f"mapping names unknown canonical column {column!r}")
        for spelling in [column, *spellings]:
            key = _normalise_header(spelling)
            if aliases.setdefault(key, column) != column:
                raise ValueError(f"spelling {spelling!r} maps to two columns")
    return ColumnMapping(spec["version"], aliases)


@dataclass
class ParsedFile:
    """Column positions found in the header, then rows on iteration."""

    format: str
    encoding: str | None
    positions: dict[str, int]  # canonical column -> position in the file's rows
    _rows: Iterator[list[str]]

    def rows(self) -> Iterator[tuple[int, tuple[str | None, ...]]]:
        """(file_row, values in CANONICAL_COLUMNS order); file_row counts data rows from 1."""
        order = [self.positions.get(c) for c in CANONICAL_COLUMNS]
        file_row = 0
        for raw in self._rows:
            if not any(v.strip() for v in raw):
                continue  # blank lines are not rows
            file_row += 1
            yield file_row, tuple(
                (raw[i].strip() if i < len(raw) else "") if i is not None else None for i in order
            )


def _map_header(header: list[str]) -> dict[str, int]:
    mapping = column_mapping()
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        column = mapping.canonical(name)
        if column and column not in positions:
            positions[column] = i
    return positions


def _require_columns(positions: dict[str, int]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise SubmissionRejected("file_missing_columns", columns=", ".join(missing))


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # The sample may end mid-character; decode incrementally to allow that.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"  # Excel on Windows saves "CSV" in the ANSI code page


def _looks_binary(sample: str) -> bool:
    control = sum(1 for ch in sample if not ch.isprintable() and ch not in "\r\n\t")
    return control > len(sample) * 0.02


def open_csv(path: Path) -> ParsedFile:
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if not head.strip():
        raise SubmissionRejected("file_empty")
    if b"\x00" in head:
        raise SubmissionRejected("file_unreadable")
    encoding = _detect_encoding(head)
    sample = head.decode(encoding, errors="replace")
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 20)[0], delimiters=",;|\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)

    def rows() -> Iterator[list[str]]:
        try:
            yield from reader
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SubmissionRejected("file_unreadable") from exc
        finally:
            text.close()

    stream = rows()
    header = next(stream, None)
    if header is None:
        raise SubmissionRejected("file_empty")
    positions = _map_header(header)
    if len(positions) < 3 and _looks_binary(sample):
        text.close()
        raise SubmissionRejected("file_unreadable")
    _require_columns(positions)
    return ParsedFile("csv", encoding, positions, stream)


def _cell_text(value: object) -> str:
    """A cell as the district's spreadsheet shows it; dates become ISO text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: a 16-digit NIK typed as a number is
        # already damaged, and comes back as 3.57801040380e+15 for the checks to catch.
        if abs(value) >= 1e15:
            return format(value, ".15g")
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def open_xlsx(path: Path) -> ParsedFile:
    import openpyxl  # lazily: only XLSX submissions need it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SubmissionRejected("file_unreadable") from exc
    sheet = workbook.worksheets[0]
    row_iter = sheet.iter_rows(values_only=True)
    # Title rows ("DATA PEMUTAKHIRAN DTKS ...") often sit above the header.
    for _ in range(_XLSX_HEADER_SEARCH_ROWS):
        header = next(row_iter, None)
        if header is None:
            break
        positions = _map_header([_cell_text(v) for v in header])
        if len(positions) >= 3:
            _require_columns(positions)

            def rows() -> Iterator[list[str]]:
                try:
                    for values in row_iter:
                        yield [_cell_text(v) for v in values]
                finally:
                    workbook.close()

            return ParsedFile("xlsx", None, positions, rows())
    workbook.close()
    raise SubmissionRejected("file_missing_columns", columns=", ".join(REQUIRED_COLUMNS))


def open_submission(path: Path) -> ParsedFile:
    """Open a submission by its content (not its name): XLSX is a zip, the rest CSV."""
    with path.open("rb") as f:
        magic = f.read(4)
    if not magic:
        raise SubmissionRejected("file_empty")
    if magic == b"PK\x03\x04":
        return open_xlsx(path)
    return open_csv(path)
