"""What the CSV and XLSX readers share: resource limits, the column mapping, the stream of parsed rows, format sniffing.

Every reader finds the header by the declared column spellings
(``include/mapping/column_aliases.json``), refuses a file that lacks a
required column or is too wide, and hands on a :class:`ParsedFile` whose
rows come out in ``STAGED_COLUMNS`` order. ``dtks.parsing`` says which
formats are read and how.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dtks.config import PROJECT_ROOT, Settings, settings
from dtks.reasons import SubmissionRejected
from dtks.schema import (
    PLACE_NAMES_REQUIRED,
    REQUIRED_COLUMNS,
    REQUIRED_UNLESS_NAMED,
    STAGED_COLUMNS,
)

MAPPING_FILE = PROJECT_ROOT / "include" / "mapping" / "column_aliases.json"
SNIFF_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 10
MIN_HEADER_COLUMNS = 3

# What a file that is not a table starts with -> the name shown to the district.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "XLS/DOC Microsoft Office 97-2003"),
    (b"%PDF", "PDF"),
    (b"\x1f\x8b", "GZIP"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"Rar!", "RAR"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"\x7fELF", "ELF"),
    (b"MZ", "EXE"),
    (b"{\\rtf", "RTF"),
)
_MARKUP_START = re.compile(rb"^\s*<(\?xml|!doctype|html|table|workbook)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """Resource limits per submission (environment, defaults documented in ``dtks.config.Settings``)."""

    max_file_bytes: int = Settings.max_file_bytes  # DTKS_MAX_FILE_BYTES
    max_rows: int = Settings.max_rows  # DTKS_MAX_ROWS
    max_xlsx_expanded_bytes: int = Settings.max_xlsx_expanded_bytes  # DTKS_MAX_XLSX_EXPANDED_BYTES
    max_xlsx_ratio: int = 200  # expanded / compressed, for members over 10 MiB
    max_xlsx_members: int = 500
    max_line_chars: int = 1 << 20  # one CSV line; a row is a few hundred characters
    max_xlsx_shared_strings_bytes: int = Settings.max_xlsx_shared_strings_bytes  # DTKS_MAX_XLSX_SHARED_STRINGS_BYTES
    max_xlsx_part_bytes: int = Settings.max_xlsx_part_bytes  # DTKS_MAX_XLSX_PART_BYTES
    max_columns: int = Settings.max_columns  # DTKS_MAX_COLUMNS

    @classmethod
    def from_env(cls) -> Limits:
        conf = settings()
        return cls(
            max_file_bytes=conf.max_file_bytes,
            max_rows=conf.max_rows,
            max_xlsx_expanded_bytes=conf.max_xlsx_expanded_bytes,
            max_xlsx_shared_strings_bytes=conf.max_xlsx_shared_strings_bytes,
            max_xlsx_part_bytes=conf.max_xlsx_part_bytes,
            max_columns=conf.max_columns,
        )


def limits() -> Limits:
    return Limits.from_env()


# ----------------------------------------------------------------- mapping
@dataclass(frozen=True)
class ColumnMapping:
    version: str
    alias_to_column: dict[str, str]

    def canonical(self, header: str) -> str | None:
        return self.alias_to_column.get(_normalise_header(header))


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s._\-/()]+", "", name.strip().lower())


@lru_cache(maxsize=1)
def column_mapping(path: Path = MAPPING_FILE) -> ColumnMapping:
    spec = json.loads(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    for column, spellings in spec["columns"].items():
        if column not in STAGED_COLUMNS:
            raise ValueError(f"mapping names unknown canonical column {column!r}")
        for spelling in [column, *spellings]:
            key = _normalise_header(spelling)
            if aliases.setdefault(key, column) != column:
                raise ValueError(f"spelling {spelling!r} maps to two columns")
    return ColumnMapping(spec["version"], aliases)


def map_header(header: list[str]) -> dict[str, int]:
    mapping = column_mapping()
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        column = mapping.canonical(name)
        if column and column not in positions:
            positions[column] = i
    return positions


def missing_columns(positions: dict[str, int]) -> list[str]:
    """Required columns the header lacks; kode_desa may be replaced by the place names."""
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    names_given = all(c in positions for c in PLACE_NAMES_REQUIRED)
    if names_given:
        missing = [c for c in missing if c not in REQUIRED_UNLESS_NAMED]
    return [f"{c} ({' + '.join(PLACE_NAMES_REQUIRED)})" if c in REQUIRED_UNLESS_NAMED else c for c in missing]


def refuse_too_wide(columns: int, lim: Limits) -> None:
    if columns > lim.max_columns:
        raise SubmissionRejected("file_too_many_columns", columns=columns, limit=lim.max_columns)


def require_columns(positions: dict[str, int]) -> None:
    missing = missing_columns(positions)
    if missing:
        raise SubmissionRejected("file_missing_columns", columns=", ".join(missing))


# ----------------------------------------------------------------- parsed file
@dataclass
class ParsedFile:
    """Column positions found in the header, then rows on iteration."""

    format: str
    encoding: str | None
    positions: dict[str, int]  # staged column -> position in the file's rows
    _rows: Iterator[tuple[int, list[str]]]  # (line or sheet row number, raw cells)
    max_rows: int = Limits.max_rows

    def records(self) -> Iterator[tuple[int, int, tuple[str | None, ...]]]:
        """(file_row, source_line, values in STAGED_COLUMNS order).

        file_row counts data rows from 1 (blank lines are not rows); source_line
        is where the row starts in the file (CSV line, or XLSX sheet row), so a
        district can find it. A column the file does not have is None.
        """
        order = [self.positions.get(c) for c in STAGED_COLUMNS]
        file_row = 0
        try:
            for source_line, raw in self._rows:
                if not any(v.strip() for v in raw):
                    continue  # blank lines are not rows
                file_row += 1
                if file_row > self.max_rows:
                    raise SubmissionRejected("file_too_many_rows", limit=self.max_rows)
                values = tuple((raw[i].strip() if i < len(raw) else "") if i is not None else None for i in order)
                if any(v is not None and "\x00" in v for v in values):
                    raise SubmissionRejected("file_unreadable")  # PostgreSQL text cannot hold NUL
                yield file_row, source_line, values
        except SubmissionRejected:
            raise
        except Exception as exc:
            if is_machine_fault(exc):
                raise
            raise SubmissionRejected("file_unreadable") from exc
        finally:
            close = getattr(self._rows, "close", None)
            if close:
                close()

    def rows(self) -> Iterator[tuple[int, tuple[str | None, ...]]]:
        """(file_row, values in STAGED_COLUMNS order; CANONICAL_COLUMNS come first)."""
        for file_row, _, values in self.records():
            yield file_row, values


def is_machine_fault(exc: BaseException) -> bool:
    """A disk or OS error (retry later), as opposed to bad content (reject)."""
    return isinstance(exc, OSError) and exc.errno is not None


# ----------------------------------------------------------------- format
def sniff_format(head: bytes) -> str:
    """'xlsx', 'csv', or the name of an unsupported format, from a file's first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    for magic, name in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(b"PK"):
        return "ZIP"
    stripped = head.lstrip(codecs.BOM_UTF8)
    if _MARKUP_START.match(stripped):
        return "HTML/XML"
    return "csv"
