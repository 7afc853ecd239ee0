"""CSV submissions: encoding and plainness in one scan, the header among title lines, rows streamed; bulk COPY plans.

Comma, semicolon, pipe or tab delimited (the delimiter that maps the most
header columns wins), quoted or not; UTF-8, UTF-8 with BOM, UTF-16 with BOM
or Windows-1252. A *plain* CSV (no quotes, backslashes or NULs) gets a
:class:`BulkCopyPlan`: ``dtks.staging`` COPYs it without Python reading
its rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dtks.reading import (
    HEADER_SEARCH_ROWS,
    MIN_HEADER_COLUMNS,
    SNIFF_BYTES,
    Limits,
    ParsedFile,
    limits,
    map_header,
    missing_columns,
    refuse_too_wide,
    require_columns,
    sniff_format,
)
from dtks.reasons import SubmissionRejected

_SCAN_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "|", "\t")
# csv's own cap on one field (a quoted field spanning lines is bounded by it)
_FIELD_LIMIT = 128 * 1024


@dataclass(frozen=True)
class _TextScan:
    encoding: str | None  # None: not one consistent text encoding
    plain: bool  # no quote, backslash or NUL byte, no lone CR, no over-long line


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
                if (
                    b'"' in data
                    or b"\\" in data
                    or b"\x00" in data
                    or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
                ):
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
            positions = map_header(cells)
            if len(positions) >= MIN_HEADER_COLUMNS and (best is None or len(positions) > len(best[2])):
                best = (index, delimiter, positions)
        if best is not None:
            return best
    return None


def open_csv(path: Path, lim: Limits | None = None) -> ParsedFile:
    lim = lim or limits()
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
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
        first = list(itertools.islice((ln for ln in lines), HEADER_SEARCH_ROWS))
        nonblank = [ln for ln in first if ln.strip()]
        if not nonblank:
            raise SubmissionRejected("file_empty")
        found = _best_header(first)
        if found is None:
            if _looks_binary(sample):
                raise SubmissionRejected("file_unreadable")
            # Not a header we know: name what is missing, as the first line reads.
            best = max((map_header(next(csv.reader([nonblank[0]], delimiter=d), [])) for d in _DELIMITERS), key=len)
            raise SubmissionRejected("file_missing_columns", columns=", ".join(missing_columns(best)))
        header_index, delimiter, positions = found
        refuse_too_wide(len(next(csv.reader([first[header_index]], delimiter=delimiter), [])), lim)
        require_columns(positions)
    except SubmissionRejected:
        text.close()
        raise
    except (UnicodeDecodeError, csv.Error) as exc:
        text.close()
        raise SubmissionRejected("file_unreadable") from exc

    after_header = itertools.chain(first[header_index + 1 :], lines)
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

    encoding: str  # the file's encoding (Python's name)
    copy_encoding: str  # PostgreSQL's name for it
    delimiter: str
    columns: int  # fields of the header line: every data line must have as many
    positions: dict[str, int]  # staged column -> position in the file's rows
    data_offset: int  # byte offset of the first line after the header
    header_lines: int  # physical lines up to and including the header


_COPY_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252"}


def bulk_copy_plan(path: Path, lim: Limits | None = None) -> BulkCopyPlan | None:
    """A :class:`BulkCopyPlan` for a plain CSV whose header has every required column; None otherwise."""
    lim = lim or limits()
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
        if not head.strip() or size > lim.max_file_bytes or sniff_format(head[:16]) != "csv":
            return None
        scan = _scan_text(path, head, lim.max_line_chars)
        if not scan.plain or scan.encoding not in _COPY_ENCODINGS:
            return None
        with path.open("rb") as f:
            raw_lines = [f.readline() for _ in range(HEADER_SEARCH_ROWS)]
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
    return BulkCopyPlan(
        scan.encoding,
        _COPY_ENCODINGS[scan.encoding],
        delimiter,
        len(header),
        positions,
        sum(len(line) for line in raw_lines[: index + 1]),
        index + 1,
    )
