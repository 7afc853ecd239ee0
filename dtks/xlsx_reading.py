"""XLSX submissions: the archive checked before anything is expanded, the first sheet read via openpyxl + defusedxml.

Member count, total expanded size, each part's size and compression ratio
are checked first (a zip bomb is refused); every part is then read to its
end: an XML part must be UTF-8 without a DTD or entity declaration. Title
rows above the header are skipped, as in CSV.
"""

from __future__ import annotations

import codecs
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from dtks.reading import (
    HEADER_SEARCH_ROWS,
    MIN_HEADER_COLUMNS,
    Limits,
    ParsedFile,
    is_machine_fault,
    limits,
    map_header,
    missing_columns,
    refuse_too_wide,
    require_columns,
)
from dtks.reasons import SubmissionRejected


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
                raise SubmissionRejected(
                    "file_archive_unsafe", problem=f"{expanded} byte setelah diekstrak / bytes expanded"
                )
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > (10 << 20) and ratio > lim.max_xlsx_ratio:
                    raise SubmissionRejected(
                        "file_archive_unsafe", problem=f"rasio kompresi / compression ratio {ratio:.0f}:1"
                    )
                cap = (
                    lim.max_xlsx_shared_strings_bytes
                    if info.filename.lower().endswith("sharedstrings.xml")
                    else lim.max_xlsx_part_bytes
                )
                if info.file_size > cap:
                    raise SubmissionRejected(
                        "file_archive_unsafe",
                        problem=(
                            f"bagian {_part_label(info.filename)} {info.file_size} byte, batas {cap} /"
                            f" part {_part_label(info.filename)} {info.file_size} bytes, limit {cap}"
                        ),
                    )
            for info in infos:
                # every part, whatever its name: openpyxl follows the workbook's relationships,
                # so a worksheet may be called sheet1.dat
                problem = _xml_part_problem(
                    archive, info, cap=max(lim.max_xlsx_part_bytes, lim.max_xlsx_shared_strings_bytes)
                )
                if problem:
                    raise SubmissionRejected("file_archive_unsafe", problem=problem)
    except SubmissionRejected:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise SubmissionRejected("file_unreadable") from exc


def _part_label(name: str) -> str:
    """A part's name as shown in a reason: its last path element, plain characters only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1])[:60]


_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_ENCODING_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF16_START = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, b"\x00<", b"<\x00")


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
    except Exception as exc:
        handle.close()
        if is_machine_fault(exc):
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
        for _, header in itertools.islice(row_iter, HEADER_SEARCH_ROWS):
            cells = [_cell_text(v) for v in header]
            seen_cells = seen_cells or any(c.strip() for c in cells)
            positions = map_header(cells)
            if len(positions) >= MIN_HEADER_COLUMNS:
                refuse_too_wide(len(cells), lim)
                require_columns(positions)
                break
            best = max(best, positions, key=len)
        else:
            if not seen_cells:
                raise SubmissionRejected("file_empty")
            raise SubmissionRejected("file_missing_columns", columns=", ".join(missing_columns(best)))
    except SubmissionRejected:
        close()
        raise
    except Exception as exc:
        close()
        if is_machine_fault(exc):
            raise
        raise SubmissionRejected("file_unreadable") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in row_iter:
                yield number, [_cell_text(v) for v in values]
        finally:
            close()

    return ParsedFile("xlsx", None, positions, rows(), lim.max_rows)
