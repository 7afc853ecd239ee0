"""Read a district's file (CSV or XLSX) as a stream of canonical rows.

Nothing is repaired: values are passed on as sent (trimmed), so the checks
can report exactly what the district wrote. Coded values written in words
(``KEPALA KELUARGA``, ``DITEMUKAN``, ``YA`` …) are staged as sent too: the
staging view reads them as codes through the declared mapping
(:mod:`dtks.value_mapping`), the same for files COPYed in bulk. What cannot be read at all
raises :class:`~dtks.reasons.SubmissionRejected` with a reason code — and
nothing else: whatever the bytes, the parser either yields rows or rejects
the file with a reason (``tests/ingest/test_property.py`` feeds it random
bytes). Only faults of the machine (a disk error) propagate as ``OSError``.

Formats (the content decides, not the file name):

* XLSX (a zip with ``xl/workbook.xml``): the first worksheet; title rows
  above the header are skipped (the header is the first of the first ten
  rows that maps at least three columns). The archive is checked before
  anything is expanded: member count, total expanded size, the size of
  each part (the shared strings, which openpyxl holds in memory whole,
  have a small cap of their own) and compression ratio (a zip bomb is
  refused); then every part, whatever its name, is read to its end: an
  XML part must be UTF-8 without a DTD or entity declaration. openpyxl
  itself parses through ``defusedxml`` (installed, and required here).
* CSV: comma, semicolon, pipe or tab delimited (the delimiter that maps the
  most header columns wins), quoted or not; UTF-8, UTF-8 with BOM, UTF-16
  with BOM or Windows-1252 (chosen by scanning the whole file: a file that
  is not valid UTF-8 throughout and has no UTF-8 text before the first bad
  byte is Windows-1252). Title lines above the header are skipped like in
  XLSX. Streamed: memory does not grow with the file (lines are bounded).
* Anything else recognisable (XLS 97-2003, PDF, HTML, images, archives …)
  is refused as an unsupported format with its name.

Dates are passed on as text; ``staging.parse_date`` (migration 005) reads
DD-MM-YYYY, DD/MM/YYYY, YYYY-MM-DD and, in date columns only, Excel serial
numbers (a numeric cell such as 44562).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from dtks.config import PROJECT_ROOT, Settings, settings
from dtks.reasons import SubmissionRejected
from dtks.schema import (
    CANONICAL_COLUMNS,
    PLACE_NAMES_REQUIRED,
    REQUIRED_COLUMNS,
    REQUIRED_UNLESS_NAMED,
    STAGED_COLUMNS,
)

MAPPING_FILE = PROJECT_ROOT / "include" / "mapping" / "column_aliases.json"
_SNIFF_BYTES = 64 * 1024
_SCAN_CHUNK = 1 << 20
_HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", ";", "|", "\t")
_MIN_HEADER_COLUMNS = 3
# csv's own cap on one field (a quoted field spanning lines is bounded by it)
_FIELD_LIMIT = 128 * 1024

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

    max_file_bytes: int = Settings.max_file_bytes            # DTKS_MAX_FILE_BYTES
    max_rows: int = Settings.max_rows                        # DTKS_MAX_ROWS
    max_xlsx_expanded_bytes: int = Settings.max_xlsx_expanded_bytes  # DTKS_MAX_XLSX_EXPANDED_BYTES
    max_xlsx_ratio: int = 200               # expanded / compressed, for members over 10 MiB
    max_xlsx_members: int = 500
    max_line_chars: int = 1 << 20           # one CSV line; a row is a few hundred characters
    max_xlsx_shared_strings_bytes: int = Settings.max_xlsx_shared_strings_bytes  # DTKS_MAX_XLSX_SHARED_STRINGS_BYTES
    max_xlsx_part_bytes: int = Settings.max_xlsx_part_bytes  # DTKS_MAX_XLSX_PART_BYTES
    max_columns: int = Settings.max_columns                  # DTKS_MAX_COLUMNS

    @classmethod
    def from_env(cls) -> "Limits":
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


def _map_header(header: list[str]) -> dict[str, int]:
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


def _refuse_too_wide(columns: int, lim: Limits) -> None:
    if columns > lim.max_columns:
        raise SubmissionRejected("file_too_many_columns", columns=columns, limit=lim.max_columns)


def _require_columns(positions: dict[str, int]) -> None:
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
                values = tuple(
                    (raw[i].strip() if i < len(raw) else "") if i is not None else None for i in order
                )
                if any(v is not None and "\x00" in v for v in values):
                    raise SubmissionRejected("file_unreadable")  # PostgreSQL text cannot hold NUL
                yield file_row, source_line, values
        except SubmissionRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the bytes: a reason, not a crash
            if _is_machine_fault(exc):
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


def _is_machine_fault(exc: BaseException) -> bool:
    """A disk or OS error (retry later), as opposed to bad content (reject)."""
    return isinstance(exc, OSError) and exc.errno is not None


# ----------------------------------------------------------------- CSV
@dataclass(frozen=True)
class _TextScan:
    encoding: str | None  # None: not one consistent text encoding
    plain: bool           # no quote, backslash or NUL byte, no lone CR, no over-long line


def _scan_text(path: Path, head: bytes, max_line_chars: int = Limits.max_line_chars) -> _TextScan:
    """One pass over the whole file: its encoding, and whether COPY can read it exactly as the parser would.

    A *plain* file has no quote character (so no quoted fields and no
    embedded line breaks), no backslash (COPY's end-of-data marker ``\\.``),
    no NUL byte, only LF or CRLF line ends and no line longer than the
    parser's limit: one physical line is one row, split at the delimiter.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _TextScan("utf-16", False)
    utf8_sig = head.startswith(codecs.BOM_UTF8)
    decoder = None if utf8_sig else codecs.getincrementaldecoder("utf-8")()
    encoding: str | None = "utf-8-sig" if utf8_sig else None
    seen_non_ascii = False
    plain = True
    carry = b""
    since_newline = 0
    # chunks no longer than a line may be: a line wholly inside one chunk is within the limit
    chunk_size = max(1, min(_SCAN_CHUNK, max_line_chars))
    with path.open("rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if plain:
                data = carry + chunk
                carry = b"\r" if chunk and data.endswith(b"\r") else b""
                if carry:
                    data = data[:-1]
                if (b'"' in data or b"\\" in data or b"\x00" in data
                        or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))):
                    plain = False
                first, last = chunk.find(b"\n"), chunk.rfind(b"\n")
                if first < 0:
                    since_newline += len(chunk)
                else:
                    plain = plain and since_newline + first < max_line_chars
                    since_newline = len(chunk) - last - 1
                plain = plain and since_newline < max_line_chars
            if decoder is not None and encoding is None:
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    if seen_non_ascii or not chunk[: max(exc.start, 0)].isascii():
                        return _TextScan(None, False)  # UTF-8 text, then bytes that are not: mixed encodings
                    encoding = "cp1252"  # Excel on Windows saves "CSV" in the ANSI code page
                else:
                    seen_non_ascii = seen_non_ascii or not text.isascii()
            if not chunk:
                return _TextScan(encoding or "utf-8", plain)
            if encoding is not None and not plain:
                return _TextScan(encoding, False)


def _looks_binary(sample: str) -> bool:
    control = sum(1 for ch in sample if not ch.isprintable() and ch not in "\r\n\t")
    return control > len(sample) * 0.02


def _bounded_lines(text: io.TextIOBase, max_chars: int) -> Iterator[str]:
    """Physical lines, refusing one longer than max_chars (memory stays bounded)."""
    while True:
        line = text.readline(max_chars + 1)
        if not line:
            return
        if len(line) > max_chars:
            raise SubmissionRejected("file_unreadable")
        yield line


def _best_header(lines: list[str]) -> tuple[int, str, dict[str, int]] | None:
    """(line index, delimiter, positions) of the first line that reads as a header."""
    for index, line in enumerate(lines):
        best: tuple[int, str, dict[str, int]] | None = None
        for delimiter in _DELIMITERS:
            try:
                cells = next(csv.reader([line], delimiter=delimiter), [])
            except csv.Error:
                continue
            positions = _map_header(cells)
            if len(positions) >= _MIN_HEADER_COLUMNS and (best is None or len(positions) > len(best[2])):
                best = (index, delimiter, positions)
        if best is not None:
            return best
    return None


def open_csv(path: Path, lim: Limits | None = None) -> ParsedFile:
    lim = lim or limits()
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if not head.strip():
        raise SubmissionRejected("file_empty")
    encoding = _scan_text(path, head).encoding
    if encoding is None or (b"\x00" in head and encoding != "utf-16"):
        raise SubmissionRejected("file_unreadable")
    sample = head.decode(encoding, errors="replace")
    csv.field_size_limit(_FIELD_LIMIT)
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    try:
        lines = _bounded_lines(text, lim.max_line_chars)
        first = list(itertools.islice((ln for ln in lines), _HEADER_SEARCH_ROWS))
        nonblank = [ln for ln in first if ln.strip()]
        if not nonblank:
            raise SubmissionRejected("file_empty")
        found = _best_header(first)
        if found is None:
            if _looks_binary(sample):
                raise SubmissionRejected("file_unreadable")
            # Not a header we know: name what is missing, as the first line reads.
            best = max((_map_header(next(csv.reader([nonblank[0]], delimiter=d), [])) for d in _DELIMITERS), key=len)
            raise SubmissionRejected("file_missing_columns", columns=", ".join(missing_columns(best)))
        header_index, delimiter, positions = found
        _refuse_too_wide(len(next(csv.reader([first[header_index]], delimiter=delimiter), [])), lim)
        _require_columns(positions)
    except SubmissionRejected:
        text.close()
        raise
    except (UnicodeDecodeError, csv.Error) as exc:
        text.close()
        raise SubmissionRejected("file_unreadable") from exc

    after_header = itertools.chain(first[header_index + 1:], lines)
    reader = csv.reader(after_header, delimiter=delimiter)
    offset = header_index + 1  # physical lines before the first data line

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            consumed = 0
            for record in reader:
                yield offset + consumed + 1, record
                consumed = reader.line_num
        finally:
            text.close()

    return ParsedFile("csv", encoding, positions, rows(), lim.max_rows)


@dataclass(frozen=True)
class BulkCopyPlan:
    """How PostgreSQL can COPY a plain CSV straight in, with the parser's outcome.

    ``dtks.staging.stage`` uses it for the plainest and most common files (a
    SIKS-NG or spreadsheet export without quotes): the rows go to the
    database without passing through Python, and the mapping to staged
    columns and the trimming happen in SQL. Anything else, or a file COPY
    refuses, is read by :func:`open_submission` as before.
    """

    encoding: str              # the file's encoding (Python's name)
    copy_encoding: str         # PostgreSQL's name for it
    delimiter: str
    columns: int               # fields of the header line: every data line must have as many
    positions: dict[str, int]  # staged column -> position in the file's rows
    data_offset: int           # byte offset of the first line after the header
    header_lines: int          # physical lines up to and including the header


_COPY_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252"}


def bulk_copy_plan(path: Path, lim: Limits | None = None) -> BulkCopyPlan | None:
    """A :class:`BulkCopyPlan` for a plain CSV whose header has every required column; None otherwise."""
    lim = lim or limits()
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
        if not head.strip() or size > lim.max_file_bytes or sniff_format(head[:16]) != "csv":
            return None
        scan = _scan_text(path, head, lim.max_line_chars)
        if not scan.plain or scan.encoding not in _COPY_ENCODINGS:
            return None
        with path.open("rb") as f:
            raw_lines = [f.readline() for _ in range(_HEADER_SEARCH_ROWS)]
        lines = [line.decode(scan.encoding) for line in raw_lines]
        found = _best_header(lines)
        if found is None or missing_columns(found[2]):
            return None
        index, delimiter, positions = found
        header = next(csv.reader([lines[index]], delimiter=delimiter))
        if len(header) > lim.max_columns:
            return None  # the parser refuses it whole, with the reason
    except (UnicodeDecodeError, csv.Error, OSError):
        return None  # the parser decides (and names the reason)
    return BulkCopyPlan(scan.encoding, _COPY_ENCODINGS[scan.encoding], delimiter, len(header), positions,
                        sum(len(line) for line in raw_lines[: index + 1]), index + 1)


# ----------------------------------------------------------------- XLSX
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
        # (A number in a date column is an Excel serial: staging.parse_date reads it.)
        if abs(value) >= 1e15:
            return format(value, ".15g")
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def check_xlsx_archive(path: Path, lim: Limits | None = None) -> None:
    """Refuse an XLSX before anything is expanded: zip bombs, DTDs, non-workbooks."""
    lim = lim or limits()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            if len(infos) > lim.max_xlsx_members:
                raise SubmissionRejected("file_archive_unsafe", problem=f"{len(infos)} isi arsip / archive members")
            if "xl/workbook.xml" not in names:
                kind = "ODS" if "content.xml" in names else ("DOCX" if "word/document.xml" in names else "ZIP")
                raise SubmissionRejected("file_format_unsupported", format=kind)
            expanded = sum(i.file_size for i in infos)
            if expanded > lim.max_xlsx_expanded_bytes:
                raise SubmissionRejected("file_archive_unsafe",
                                         problem=f"{expanded} byte setelah diekstrak / bytes expanded")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > (10 << 20) and ratio > lim.max_xlsx_ratio:
                    raise SubmissionRejected("file_archive_unsafe",
                                             problem=f"rasio kompresi / compression ratio {ratio:.0f}:1")
                cap = (lim.max_xlsx_shared_strings_bytes if info.filename.lower().endswith("sharedstrings.xml")
                       else lim.max_xlsx_part_bytes)
                if info.file_size > cap:
                    raise SubmissionRejected("file_archive_unsafe", problem=(
                        f"bagian {_part_label(info.filename)} {info.file_size} byte, batas {cap} /"
                        f" part {_part_label(info.filename)} {info.file_size} bytes, limit {cap}"))
            for info in infos:
                # every part, whatever its name: openpyxl follows the workbook's relationships,
                # so a worksheet may be called sheet1.dat
                problem = _xml_part_problem(archive, info, cap=max(lim.max_xlsx_part_bytes,
                                                                   lim.max_xlsx_shared_strings_bytes))
                if problem:
                    raise SubmissionRejected("file_archive_unsafe", problem=problem)
    except SubmissionRejected:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise SubmissionRejected("file_unreadable") from exc


def _part_label(name: str) -> str:
    """A part's name as shown in a reason: its last path element, plain characters only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1])[:60]


_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_ENCODING_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF16_START = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE,
                b"\x00<", b"<\x00")


def _xml_part_problem(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> str | None:
    """Why one part of an XLSX is unsafe to parse, or None; the whole part is read (streamed).

    Excel writes every XML part in UTF-8 without a DTD. A part in another
    encoding could hide a declaration from a byte search, so it is refused
    too; in UTF-8 a declaration can only appear as these very bytes.
    Declarations split across two reads are found (the tail is carried).
    """
    keep = max(len(d) for d in _DECLARATIONS) - 1
    carry = b""
    read = 0
    with archive.open(info) as member:
        first = True
        while chunk := member.read(1 << 20):
            read += len(chunk)
            if read > cap:  # the directory lied about the size
                return f"bagian {_part_label(info.filename)} terlalu besar / part too large"
            if first:
                first = False
                head = chunk.lstrip(codecs.BOM_UTF8)
                if head.startswith(_UTF16_START):
                    return f"XML bukan UTF-8 / XML not in UTF-8 ({_part_label(info.filename)})"
                declared = _ENCODING_DECL.match(head[:200])
                if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
                    return f"XML bukan UTF-8 / XML not in UTF-8 ({_part_label(info.filename)})"
            data = carry + chunk
            if any(d in data for d in _DECLARATIONS):
                return f"DTD/ENTITY ({_part_label(info.filename)})"
            carry = data[-keep:]
    return None


class MissingSafeguard(RuntimeError):
    """The machine lacks what reading a file safely needs: a fault of the installation, not of the file."""


def _require_defusedxml() -> None:
    """openpyxl parses with defusedxml when it is installed (openpyxl's own advice): make sure it is."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise MissingSafeguard("defusedxml is not installed: XLSX files are not read without it (requirements.txt)")


def open_xlsx(path: Path, lim: Limits | None = None) -> ParsedFile:
    lim = lim or limits()
    check_xlsx_archive(path, lim)
    _require_defusedxml()
    import openpyxl  # lazily: only XLSX submissions need it

    handle = path.open("rb")  # a file object: openpyxl would refuse a name not ending in .xlsx
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any defect of a workbook is "unreadable"
        handle.close()
        if _is_machine_fault(exc):
            raise
        raise SubmissionRejected("file_unreadable") from exc

    def close() -> None:
        workbook.close()
        handle.close()

    try:
        sheet = workbook.worksheets[0]
        row_iter = enumerate(sheet.iter_rows(values_only=True), start=1)
        # Title rows ("DATA PEMUTAKHIRAN DTKS ...") often sit above the header.
        best: dict[str, int] = {}
        seen_cells = False
        for _, header in itertools.islice(row_iter, _HEADER_SEARCH_ROWS):
            cells = [_cell_text(v) for v in header]
            seen_cells = seen_cells or any(c.strip() for c in cells)
            positions = _map_header(cells)
            if len(positions) >= _MIN_HEADER_COLUMNS:
                _refuse_too_wide(len(cells), lim)
                _require_columns(positions)
                break
            best = max(best, positions, key=len)
        else:
            if not seen_cells:
                raise SubmissionRejected("file_empty")
            raise SubmissionRejected("file_missing_columns", columns=", ".join(missing_columns(best)))
    except SubmissionRejected:
        close()
        raise
    except Exception as exc:  # noqa: BLE001
        close()
        if _is_machine_fault(exc):
            raise
        raise SubmissionRejected("file_unreadable") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in row_iter:
                yield number, [_cell_text(v) for v in values]
        finally:
            close()

    return ParsedFile("xlsx", None, positions, rows(), lim.max_rows)


# ----------------------------------------------------------------- entry point
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


def open_submission(path: Path, lim: Limits | None = None) -> ParsedFile:
    """Open a submission by its content (not its name): XLSX is a zip, the rest CSV."""
    lim = lim or limits()
    try:
        size = path.stat().st_size
        if size == 0:
            raise SubmissionRejected("file_empty")
        if size > lim.max_file_bytes:
            raise SubmissionRejected("file_too_large", size=size, limit=lim.max_file_bytes)
        with path.open("rb") as f:
            head = f.read(16)
        kind = sniff_format(head)
        if kind == "xlsx":
            return open_xlsx(path, lim)
        if kind != "csv":
            raise SubmissionRejected("file_format_unsupported", format=kind)
        return open_csv(path, lim)
    except (SubmissionRejected, MissingSafeguard):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the bytes: a reason, not a crash
        if _is_machine_fault(exc):
            raise
        raise SubmissionRejected("file_unreadable") from exc


__all__ = [
    "BulkCopyPlan", "bulk_copy_plan", "CANONICAL_COLUMNS", "STAGED_COLUMNS", "ColumnMapping", "Limits", "ParsedFile", "check_xlsx_archive",
    "column_mapping", "limits", "missing_columns", "open_csv", "open_submission", "open_xlsx", "sniff_format",
]
