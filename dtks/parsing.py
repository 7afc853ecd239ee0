"""Read a district's file (CSV or XLSX) as a stream of canonical rows: the entry point, by the file's content.

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

from pathlib import Path

from dtks.csv_reading import open_csv
from dtks.reading import Limits, ParsedFile, is_machine_fault, limits, sniff_format
from dtks.reasons import SubmissionRejected
from dtks.xlsx_reading import MissingSafeguard, open_xlsx


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
    except Exception as exc:
        if is_machine_fault(exc):
            raise
        raise SubmissionRejected("file_unreadable") from exc
