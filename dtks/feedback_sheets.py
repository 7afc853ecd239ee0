"""The feedback a district officer opens: the workbook (summary, errors, warnings) and its CSV twins, as bytes.

The workbook's first sheet (``Ringkasan``) answers the officer's questions in
order: which district and round, when the file arrived (WIB), what happened to
it in one sentence, and how many rows failed for which reason, worst first.
Then ``Kesalahan`` (rows not accepted, and whole-file reasons) and
``Peringatan`` (rows accepted with a warning): one bilingual header row, an
autofilter, the row number as the district's spreadsheet shows it, the value
as sent and what to do. ``feedback_<id>.csv`` has exactly those columns (both
severities, told apart by the severity column). Cells a spreadsheet would
execute get a leading ``'``; the bytes depend on the content only.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from dtks.display import wib
from dtks.identifiers import mask_file_name
from dtks.spreadsheet_safety import neutralise_formula
from dtks.workbook import deterministic_xlsx

# One column list for the two row sheets (errors, warnings) and the CSV twin: (key, one-row bilingual header).
ROW_FIELDS = (
    ("sheet_row", "Baris di berkas Anda / Row in your file"),
    ("severity", "Tingkat / Severity"),
    ("field", "Kolom / Column"),
    ("value_sent", "Nilai yang dikirim / Value as sent"),
    ("reason_code", "Kode alasan / Reason code"),
    ("alasan", "Alasan / Reason (Bahasa Indonesia)"),
    ("reason", "Reason (English) / Alasan (bahasa Inggris)"),
    ("what_to_do", "Yang harus dilakukan / What to do"),
    ("file_row", "Baris data ke- (tanpa judul) / Data row no. (header not counted)"),
)
ROW_COLUMNS = tuple(k for k, _ in ROW_FIELDS)
ROW_HEADERS = tuple(label for _, label in ROW_FIELDS)
SUMMARY_FIELDS = (
    ("severity", "Tingkat / Severity"),
    ("rows", "Jumlah baris / Rows"),
    ("alasan", "Alasan / Reason (Bahasa Indonesia)"),
    ("reason", "Reason (English) / Alasan (bahasa Inggris)"),
    ("reason_code", "Kode alasan / Reason code"),
)
SUMMARY_COLUMNS = tuple(k for k, _ in SUMMARY_FIELDS)
SUMMARY_HEADERS = tuple(label for _, label in SUMMARY_FIELDS)
SEVERITY_LABEL = {
    "critical": "berkas ditolak / file refused",
    "error": "baris ditolak / row not accepted",
    "warning": "peringatan / warning",
}
WHAT_TO_DO = {
    "critical": "Perbaiki berkas lalu kirim ulang seluruh berkas. / Correct the file and send the whole file again.",
    # the rule's own message says how (fix a digit, coordinate a move, ...); this says what happens next
    "error": "Baris ini tidak masuk DTKS. Ikuti petunjuk pada kolom alasan, lalu kirim ulang baris ini pada "
    "putaran ini. / This row did not enter DTKS. Follow the reason's advice, then send the row again "
    "in this round.",
    "warning": "Periksa baris ini; baris sudah diterima, perbaiki bila memang salah. / "
    "Check this row; it was accepted, correct it only if it is wrong.",
}
SHEET_SUMMARY, SHEET_ERRORS, SHEET_WARNINGS = "Ringkasan", "Kesalahan", "Peringatan"
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: object) -> str:
    """A cell as plain text a spreadsheet will not execute; control characters made visible."""
    if value is None:
        return ""
    text = str(value)
    text = _ILLEGAL_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return neutralise_formula(text)


def _cell(value: object) -> int | str:
    return value if isinstance(value, int) and not isinstance(value, bool) else neutralise(value)


def _display(row: dict[str, Any], key: str) -> Any:
    return SEVERITY_LABEL.get(row["severity"], row["severity"]) if key == "severity" else row.get(key)


def outcome_sentence(submission: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """What happened to the file, in one bilingual sentence."""
    status = submission.get("status")
    n, ok = submission.get("rows_in"), submission.get("rows_accepted")
    bad, warned = submission.get("rows_quarantined") or 0, submission.get("rows_warned") or 0
    first = next((r for r in rows if r["severity"] == "critical"), None)
    if status == "duplicate" and first:
        return f"Berkas tidak diproses: {first['alasan']} / The file was not processed: {first['reason']}"
    if status == "rejected" and first:
        return (
            f"Seluruh berkas ditolak, tidak ada baris yang masuk DTKS: {first['alasan']} "
            f"/ The whole file was refused, no row entered DTKS: {first['reason']}"
        )
    if status == "superseded":
        return (
            "Berkas ini digantikan oleh kiriman berikutnya dari kabupaten/kota Anda pada putaran yang sama; "
            "lihat umpan balik kiriman terbaru. / This file was replaced by a later file from your district "
            "in the same round; see the feedback of the latest file."
        )
    if status == "merged" and not bad and not warned:
        return (
            f"Berkas diterima seluruhnya: {n} baris masuk DTKS, tanpa masalah. "
            f"/ File accepted in full: all {n} rows entered DTKS, no problems found."
        )
    if status == "merged":
        return (
            f"Berkas diterima: {ok} dari {n} baris masuk DTKS; {bad} baris ditolak (lembar {SHEET_ERRORS}) "
            f"dan {warned} baris dengan peringatan (lembar {SHEET_WARNINGS}). / File accepted: {ok} of {n} rows "
            f"entered DTKS; {bad} rows not accepted (sheet {SHEET_ERRORS}) and {warned} rows with a warning "
            f"(sheet {SHEET_WARNINGS})."
        )
    return f"Status: {status}"


def overview(
    submission: dict[str, Any], round_id: str | None, rows: list[dict[str, Any]]
) -> list[tuple[str, str, object]]:
    """(label id, label en, value) lines at the top of the summary sheet, the officer's questions first."""
    s = submission
    district = " ".join(str(x) for x in (s.get("kabkota_code"), s.get("kabkota_name")) if x)

    def count(key: str) -> object:
        return s.get(key) if s.get(key) is not None else ""

    return [
        ("Kabupaten/kota", "District", district),
        ("Putaran", "Round", round_id or ""),
        ("Waktu diterima", "Arrived", wib(s.get("received_at")) if s.get("received_at") else ""),
        ("Hasil", "Outcome", outcome_sentence(s, rows)),
        # masked like every file name shown to people: districts name files after the person (NIK, name)
        ("Nama berkas", "File name", mask_file_name(s.get("file_name"))),
        ("ID kiriman", "Submission id", s["submission_id"]),
        ("SHA-256 berkas", "File SHA-256", s.get("sha256") or ""),
        ("Baris dikirim", "Rows sent", count("rows_in")),
        ("Baris diterima", "Rows accepted", count("rows_accepted")),
        ("Baris ditolak", "Rows rejected", count("rows_quarantined")),
        ("Baris dengan peringatan", "Rows with warnings", count("rows_warned")),
        ("Aturan pemeriksaan", "Rule suite", " ".join(x for x in (s.get("suite_name"), s.get("suite_version")) if x)),
    ]


def csv_bytes(fields: tuple[tuple[str, str], ...], rows: list[dict[str, Any]]) -> bytes:
    """A feedback CSV: the bilingual header row, then one line per row (severities as words)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([label for _, label in fields])
    for row in rows:
        writer.writerow([neutralise(_display(row, key)) for key, _ in fields])
    # UTF-8 with BOM: Excel on Windows then opens it with the right characters.
    return buf.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    submission: dict[str, Any], round_id: str | None, rows: list[dict[str, Any]], summary: list[dict[str, Any]]
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.worksheet import Worksheet

    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="DDE7F0")
    wb = Workbook()
    first = wb.active
    assert isinstance(first, Worksheet)  # a new workbook's one sheet
    first.title = SHEET_SUMMARY
    first.append([neutralise("Umpan balik kiriman DTKS / DTKS submission feedback")])
    first["A1"].font = Font(bold=True, size=13)
    first.append([])
    for label_id, label_en, value in overview(submission, round_id, rows):
        first.append([neutralise(label_id), neutralise(label_en), _cell(value)])
        first.cell(row=first.max_row, column=1).font = bold
        first.cell(row=first.max_row, column=3).alignment = wrap
    first.append([])
    first.append([neutralise("Jumlah per alasan, terparah dulu / Count per reason, worst first")])
    first.cell(row=first.max_row, column=1).font = bold
    first.append(list(SUMMARY_HEADERS))
    for cell in first[first.max_row]:
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
    if not summary:
        first.append([neutralise("Tidak ada masalah / No problems found")])
    for line in summary:
        first.append([_cell(_display(line, key)) for key, _ in SUMMARY_FIELDS])
        for cell in first[first.max_row]:
            cell.alignment = wrap
    for letter, width in zip("ABCDE", (30, 22, 90, 60, 60), strict=True):
        first.column_dimensions[letter].width = width

    for title, severities in ((SHEET_ERRORS, ("critical", "error")), (SHEET_WARNINGS, ("warning",))):
        sheet = wb.create_sheet(title)
        sheet.append(list(ROW_HEADERS))
        for cell in sheet[1]:
            cell.font, cell.fill, cell.alignment = bold, fill, wrap
        for row in rows:
            if row["severity"] in severities:
                sheet.append([_cell(_display(row, key)) for key in ROW_COLUMNS])
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{sheet.cell(row=1, column=len(ROW_COLUMNS)).column_letter}{sheet.max_row}"
        sheet.print_title_rows = "1:1"
        sheet.page_setup.orientation = "landscape"
        for letter, width in zip("ABCDEFGHI", (12, 18, 16, 24, 22, 60, 60, 40, 14), strict=True):
            sheet.column_dimensions[letter].width = width
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                cell.alignment = wrap
    # every cell is text or a number: nothing a spreadsheet would evaluate
    for sheet in wb.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":  # pragma: no cover - neutralise() makes this impossible
                    raise AssertionError("a formula would be written to a feedback file")
    when = submission.get("received_at") or datetime(2000, 1, 1, tzinfo=UTC)
    return deterministic_xlsx(wb, when)
