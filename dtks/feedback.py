"""Feedback to districts: what was wrong with each submission, and how to fix it.

For every district submission that reached a final status (merged,
rejected, superseded), three files in the outbox::

    <outbox>/<round>/<kabkota>/feedback_<submission_id>.xlsx          sheets "Ringkasan" and "Baris"
    <outbox>/<round>/<kabkota>/feedback_<submission_id>.csv           one line per rejected/flagged row and reason
    <outbox>/<round>/<kabkota>/feedback_<submission_id>_summary.csv   counts per reason

Each rejected (error) or flagged (warning) row appears once per reason, with
its data row number, the line of the file where it starts, the field, the
value exactly as sent, the severity and the reason in Bahasa Indonesia and
English (from the suite version the submission was validated with). A
whole-file rejection is one line with the reason. A duplicate upload (the
same bytes as a file received before) gets ``feedback_duplicate_<id>.*`` in
the folder it landed in: the reason ``file_duplicate``, naming the earlier
submission and its outcome (and, when that file was refused whole, the same
reasons, since the same bytes get the same verdict). Cells a spreadsheet would
execute (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get
a leading ``'``. The files are a function of the warehouse only (no clock),
so writing them again gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.reasons import CRITICAL_REASONS
from dtks.spreadsheet_safety import neutralise_formula
from dtks.validation import ROW_SUITE_FILE, load_suite_spec, stored_suite_spec

log = logging.getLogger(__name__)

ROW_COLUMNS = ("file_row", "line_in_file", "field", "value_sent", "severity", "reason_code", "alasan", "reason")
ROW_LABELS = {  # XLSX header notes: (Bahasa Indonesia, English)
    "file_row": ("Baris data ke-", "Data row number (header not counted)"),
    "line_in_file": ("Baris di berkas", "Line in the file (CSV line / sheet row)"),
    "field": ("Kolom", "Field"),
    "value_sent": ("Nilai yang dikirim", "Value as sent"),
    "severity": ("Tingkat", "Severity"),
    "reason_code": ("Kode alasan", "Reason code"),
    "alasan": ("Alasan (Bahasa Indonesia)", "Reason (Bahasa Indonesia)"),
    "reason": ("Alasan (bahasa Inggris)", "Reason (English)"),
}
SUMMARY_COLUMNS = ("reason_code", "severity", "rows", "alasan", "reason")
SEVERITY_LABEL = {"critical": "kritis / critical", "error": "ditolak / rejected", "warning": "peringatan / warning"}
_SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FINAL_STATUSES = ("merged", "rejected", "superseded")


def neutralise(value: object) -> str:
    """A cell as plain text a spreadsheet will not execute; control characters made visible."""
    if value is None:
        return ""
    text = str(value)
    text = _ILLEGAL_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return neutralise_formula(text)


def _safe_part(name: str | None, default: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "").strip("._")
    return cleaned[:60] or default


def feedback_paths(outbox: Path, round_id: str | None, kabkota_code: str | None, submission_id: int | str
                   ) -> dict[str, Path]:
    """The three feedback files of a submission (or of a duplicate upload: ``submission_id="duplicate_<id>"``)."""
    folder = Path(outbox) / _safe_part(round_id, "no-round") / _safe_part(kabkota_code, "no-district")
    ident = int(submission_id) if isinstance(submission_id, int) else _safe_part(str(submission_id), "x")
    stem = f"feedback_{ident}"
    return {"xlsx": folder / f"{stem}.xlsx", "csv": folder / f"{stem}.csv",
            "summary_csv": folder / f"{stem}_summary.csv"}


# ----------------------------------------------------------------- content
@dataclass
class Feedback:
    submission: dict
    rows: list[dict] = field(default_factory=list)      # ROW_COLUMNS
    summary: list[dict] = field(default_factory=list)   # SUMMARY_COLUMNS

    @property
    def round_id(self) -> str | None:
        return self.submission.get("round_id") or self.submission.get("landed_round_id")


def _critical_messages(conn: sa.Connection, sub: dict) -> list[tuple[str, str, str]]:
    """(code, message_id, message_en) of why a whole file was refused, primary reason first."""
    found: list[tuple[str, str, str]] = []
    event = conn.execute(sa.text(
        "SELECT detail FROM audit.submission_event WHERE submission_id = :sid AND event = 'rejected'"
        " ORDER BY event_id DESC LIMIT 1"), {"sid": sub["submission_id"]}).scalar()
    code = sub.get("reject_reason")
    if code:
        if event and event.get("message_id"):
            found.append((code, event["message_id"], event.get("message_en") or ""))
        elif sub.get("reject_detail") and " / " in sub["reject_detail"]:
            message_id, _, message_en = sub["reject_detail"].partition(" / ")
            found.append((code, message_id, message_en))
        else:
            found.append((code, sub.get("reject_detail") or code, sub.get("reject_detail") or code))
    others = conn.execute(sa.text(
        "SELECT reason_code FROM audit.validation_result WHERE submission_id = :sid AND severity = 'critical'"
        " AND NOT success ORDER BY reason_code"), {"sid": sub["submission_id"]}).scalars().all()
    for other in others:
        if other == code or other not in CRITICAL_REASONS:
            continue
        reason = CRITICAL_REASONS[other]
        blanks = _Blank()
        found.append((other, reason.message_id.format_map(blanks), reason.message_en.format_map(blanks)))
    return found


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def build_feedback(conn: sa.Connection, submission_id: int) -> Feedback:
    sub = conn.execute(sa.text(
        "SELECT * FROM audit.submission WHERE submission_id = :sid"), {"sid": submission_id}).mappings().one()
    sub = dict(sub)
    fb = Feedback(sub)
    counts: Counter = Counter()
    messages: dict[str, tuple[str, str]] = {}
    if sub["status"] == "rejected" or sub.get("reject_reason"):
        for code, message_id, message_en in _critical_messages(conn, sub):
            fb.rows.append({"file_row": "", "line_in_file": "", "field": "", "value_sent": "",
                            "severity": "critical", "reason_code": code, "alasan": message_id, "reason": message_en})
            counts[(code, "critical")] += 1
            messages[code] = (message_id, message_en)
    spec = stored_suite_spec(conn, sub.get("suite_name") or "", sub.get("suite_version")) \
        or load_suite_spec(ROW_SUITE_FILE)
    issues = conn.execute(sa.text(
        "SELECT file_row, source_line, reason_code, severity, field, value_sent, detail FROM quarantine.row_issue"
        " WHERE submission_id = :sid"), {"sid": submission_id}).mappings().all()
    ordered = sorted(issues, key=lambda i: (i["file_row"], _SEVERITY_ORDER.get(i["severity"], 9), i["reason_code"]))
    for issue in ordered:
        rule = spec.find(issue["reason_code"])
        if rule is not None:
            message_id, message_en = rule.messages(issue["detail"])
            generic = rule.messages("…")
        else:
            message_id = message_en = issue["reason_code"]
            generic = (message_id, message_en)
        fb.rows.append({"file_row": issue["file_row"], "line_in_file": issue["source_line"] or "",
                        "field": issue["field"] or "", "value_sent": issue["value_sent"],
                        "severity": issue["severity"], "reason_code": issue["reason_code"],
                        "alasan": message_id, "reason": message_en})
        counts[(issue["reason_code"], issue["severity"])] += 1
        messages.setdefault(issue["reason_code"], generic)
    for (code, severity), n in sorted(counts.items(), key=lambda kv: (_SEVERITY_ORDER.get(kv[0][1], 9), kv[0][0])):
        message_id, message_en = messages[code]
        fb.summary.append({"reason_code": code, "severity": severity, "rows": n,
                           "alasan": message_id, "reason": message_en})
    return fb


_STATUS_WORDS = {"merged": "diterima / accepted", "rejected": "ditolak seluruhnya / rejected whole",
                 "superseded": "digantikan kiriman berikutnya / superseded by a later file",
                 "duplicate": "duplikat, tidak diproses / duplicate, not processed"}


def _when(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def build_duplicate_feedback(conn: sa.Connection, duplicate_id: int) -> Feedback:
    """A file whose content was received before: the reason, and the outcome of the original."""
    dup = dict(conn.execute(sa.text("SELECT * FROM audit.duplicate_upload WHERE duplicate_id = :d"),
                            {"d": duplicate_id}).mappings().one())
    original = dict(conn.execute(sa.text("SELECT * FROM audit.submission WHERE submission_id = :s"),
                                 {"s": dup["duplicate_of"]}).mappings().one())
    outcome = original["status"] + (f" ({original['reject_reason']})" if original.get("reject_reason") else "")
    reason = CRITICAL_REASONS["file_duplicate"]
    details = {"original": original["submission_id"], "district": original.get("kabkota_code") or "-",
               "round_id": original.get("round_id") or original.get("landed_round_id") or "-",
               "received": _when(original["received_at"]), "outcome": outcome}
    fb = Feedback({"submission_id": f"duplicate_{duplicate_id}", "round_id": dup["round_folder"],
                   "kabkota_code": dup["kabkota_folder"], "file_name": dup["file_name"], "sha256": dup["sha256"],
                   "received_at": dup["received_at"], "status": "duplicate", "kind": "duplicate"})
    lines = [("file_duplicate", reason.message_id.format(**details), reason.message_en.format(**details))]
    if original["status"] == "rejected" or original.get("reject_reason"):
        lines += _critical_messages(conn, original)   # same bytes, same verdict on the file itself
    for code, message_id, message_en in lines:
        fb.rows.append({"file_row": "", "line_in_file": "", "field": "", "value_sent": "", "severity": "critical",
                        "reason_code": code, "alasan": message_id, "reason": message_en})
        fb.summary.append({"reason_code": code, "severity": "critical", "rows": 1,
                           "alasan": message_id, "reason": message_en})
    return fb


def _overview(fb: Feedback) -> list[tuple[str, str, object]]:
    """(label id, label en, value) lines of the summary sheet."""
    s = fb.submission
    status_words = _STATUS_WORDS
    received = _when(s.get("received_at"))
    return [
        ("ID kiriman", "Submission id", s["submission_id"]),
        ("Putaran", "Round", fb.round_id or ""),
        ("Kabupaten/kota", "District", s.get("kabkota_code") or ""),
        ("Nama berkas", "File name", s.get("file_name") or ""),
        ("SHA-256 berkas", "File SHA-256", s.get("sha256") or ""),
        ("Diterima", "Received", received or ""),
        ("Status", "Status", status_words.get(s["status"], s["status"])),
        ("Baris dikirim", "Rows sent", s.get("rows_in") if s.get("rows_in") is not None else ""),
        ("Baris diterima", "Rows accepted", s.get("rows_accepted") if s.get("rows_accepted") is not None else ""),
        ("Baris ditolak", "Rows rejected", s.get("rows_quarantined") if s.get("rows_quarantined") is not None else ""),
        ("Baris dengan peringatan", "Rows with warnings", s.get("rows_warned") if s.get("rows_warned") is not None else ""),
        ("Aturan pemeriksaan", "Rule suite", " ".join(x for x in (s.get("suite_name"), s.get("suite_version")) if x)),
    ]


# ----------------------------------------------------------------- files
def _csv_bytes(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(c)) for c in columns])
    # UTF-8 with BOM: Excel on Windows then opens it with the right characters.
    return buf.getvalue().encode("utf-8-sig")


def deterministic_xlsx(workbook, when: datetime) -> bytes:
    """The workbook as XLSX bytes that depend on its content only (fixed document and zip times)."""
    from openpyxl.writer.excel import ExcelWriter

    stamp = when.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "DTKS pemutakhiran"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def _xlsx_bytes(fb: Feedback) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    wb = Workbook()
    summary = wb.active
    summary.title = "Ringkasan"
    summary.append([neutralise("Umpan balik kiriman DTKS / DTKS submission feedback")])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([])
    for label_id, label_en, value in _overview(fb):
        summary.append([neutralise(label_id), neutralise(label_en),
                        value if isinstance(value, int) else neutralise(value)])
    summary.append([])
    summary.append([neutralise("Jumlah per alasan / Count per reason")])
    summary.cell(row=summary.max_row, column=1).font = bold
    summary.append(list(SUMMARY_COLUMNS))
    for cell in summary[summary.max_row]:
        cell.font, cell.fill = bold, fill
    if not fb.summary:
        summary.append([neutralise("Tidak ada masalah / No problems found")])
    for row in fb.summary:
        summary.append([neutralise(row["reason_code"]), neutralise(SEVERITY_LABEL.get(row["severity"], row["severity"])),
                        int(row["rows"]), neutralise(row["alasan"]), neutralise(row["reason"])])
    for letter, width in zip("ABCDE", (30, 26, 70, 70, 70)):
        summary.column_dimensions[letter].width = width

    rows = wb.create_sheet("Baris")
    rows.append(list(ROW_COLUMNS))
    rows.append([neutralise(f"{ROW_LABELS[c][0]} / {ROW_LABELS[c][1]}") for c in ROW_COLUMNS])
    for cell in rows[1]:
        cell.font, cell.fill = bold, fill
    for cell in rows[2]:
        cell.font = Font(italic=True)
    for row in fb.rows:
        rows.append([row["file_row"] if isinstance(row["file_row"], int) else neutralise(row["file_row"]),
                     row["line_in_file"] if isinstance(row["line_in_file"], int) else neutralise(row["line_in_file"]),
                     neutralise(row["field"]), neutralise(row["value_sent"]),
                     neutralise(SEVERITY_LABEL.get(row["severity"], row["severity"])),
                     neutralise(row["reason_code"]), neutralise(row["alasan"]), neutralise(row["reason"])])
    rows.freeze_panes = "A3"
    for letter, width in zip("ABCDEFGH", (12, 12, 18, 24, 22, 30, 70, 70)):
        rows.column_dimensions[letter].width = width
    # every cell is text or a number: nothing a spreadsheet would evaluate
    for sheet in (summary, rows):
        for line in sheet.iter_rows():
            for cell in line:
                if cell.data_type == "f":  # pragma: no cover - neutralise() makes this impossible
                    raise AssertionError("a formula would be written to a feedback file")
    when = fb.submission.get("received_at") or datetime(2000, 1, 1, tzinfo=timezone.utc)
    return deterministic_xlsx(wb, when)


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written file around
        raise


def write_feedback(eng: Engine, submission_id: int, outbox: Path | None = None) -> dict[str, str]:
    """Write (or rewrite, byte-identical) the feedback files of one submission; their paths."""
    with eng.connect() as conn:
        fb = build_feedback(conn, submission_id)
    return _write_files(fb, Path(outbox or settings().outbox_dir))


def write_duplicate_feedback(eng: Engine, duplicate_id: int, outbox: Path | None = None) -> dict[str, str]:
    """The feedback files of a duplicate upload (``feedback_duplicate_<id>.*``)."""
    with eng.connect() as conn:
        fb = build_duplicate_feedback(conn, duplicate_id)
    return _write_files(fb, Path(outbox or settings().outbox_dir))


def _write_files(fb: Feedback, outbox: Path) -> dict[str, str]:
    submission_id = fb.submission["submission_id"]
    paths = feedback_paths(outbox, fb.round_id, fb.submission.get("kabkota_code"), submission_id)
    _write_if_changed(paths["csv"], _csv_bytes(ROW_COLUMNS, fb.rows))
    _write_if_changed(paths["summary_csv"], _csv_bytes(SUMMARY_COLUMNS, fb.summary))
    _write_if_changed(paths["xlsx"], _xlsx_bytes(fb))
    log.info("feedback for submission %s: %d row lines", submission_id, len(fb.rows))
    return {k: str(v) for k, v in paths.items()}


def finished_submissions(eng: Engine, run_id: str | None = None, submission_ids: list[int] | None = None,
                         round_id: str | None = None) -> list[int]:
    """District submissions in a final status: of these ids, registered by this run, or of a round."""
    with eng.connect() as conn:
        return [int(x) for x in conn.execute(sa.text(
            "SELECT submission_id FROM audit.submission WHERE kind = 'district' AND status = ANY(:final)"
            " AND (submission_id = ANY(:ids) OR registered_by_run = :run"
            "      OR (CAST(:round AS text) IS NOT NULL AND (round_id = :round OR landed_round_id = :round)))"
            " ORDER BY submission_id"),
            {"final": list(FINAL_STATUSES), "ids": [int(i) for i in (submission_ids or [])],
             "run": run_id or "", "round": round_id}).scalars()]


def _without_feedback(eng: Engine, outbox: Path) -> list[int]:
    """Finished district submissions whose feedback file is missing (e.g. an earlier run failed to write it)."""
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT submission_id, coalesce(round_id, landed_round_id) AS round_id, kabkota_code"
            " FROM audit.submission WHERE kind = 'district' AND status = ANY(:final)"),
            {"final": list(FINAL_STATUSES)}).all()
    return [r.submission_id for r in rows
            if not feedback_paths(outbox, r.round_id, r.kabkota_code, r.submission_id)["csv"].exists()]


def write_run_feedback(eng: Engine, run_id: str, submission_ids: list[int], outbox: Path | None = None) -> dict:
    """Feedback for every submission a run finished (including files rejected at registration),
    and for any finished submission still without its feedback files."""
    outbox = Path(outbox or settings().outbox_dir)
    todo = set(finished_submissions(eng, run_id, submission_ids)) | set(_without_feedback(eng, outbox))
    written = {sid: write_feedback(eng, sid, outbox) for sid in sorted(todo)}
    with eng.connect() as conn:
        duplicates = conn.execute(sa.text(
            "SELECT duplicate_id, round_folder, kabkota_folder FROM audit.duplicate_upload ORDER BY duplicate_id")).all()
    dup_written = [d.duplicate_id for d in duplicates
                   if not feedback_paths(outbox, d.round_folder, d.kabkota_folder,
                                         f"duplicate_{d.duplicate_id}")["csv"].exists()]
    for duplicate_id in dup_written:
        write_duplicate_feedback(eng, duplicate_id, outbox)
    return {"feedback_files": len(written) + len(dup_written), "submissions": sorted(written),
            "duplicates": dup_written}
