"""Feedback to districts: what was wrong with each submission, and how to fix it.

For every district submission that reached a final status (merged,
rejected, superseded), three files in the outbox::

    <outbox>/<round>/<kabkota>/feedback_<submission_id>.xlsx          sheets Ringkasan, Kesalahan, Peringatan
    <outbox>/<round>/<kabkota>/feedback_<submission_id>.csv           the two row sheets' lines, same columns
    <outbox>/<round>/<kabkota>/feedback_<submission_id>_summary.csv   counts per reason, worst first

A file that landed outside ``<round>/<kabkota>/``, or in a folder that is no
district code, has no district to read it: its feedback goes to the
operators' folder ``<outbox>/_operator/`` (same three files).

Each rejected (error) or flagged (warning) row appears once per reason, with
the row number the district's spreadsheet shows (CSV line / sheet row where
it starts), the field, the value exactly as sent, the severity, the reason in
Bahasa Indonesia and English (from the suite version the submission was
validated with) and what to do; the layout is in ``dtks.feedback_sheets``. A
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

import logging
import os
import re
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.display import wib
from dtks.feedback_sheets import (  # noqa: F401 - the columns and the cell rule are part of this module's API
    ROW_COLUMNS,
    ROW_FIELDS,
    SEVERITY_LABEL,
    SUMMARY_COLUMNS,
    SUMMARY_FIELDS,
    WHAT_TO_DO,
    csv_bytes,
    neutralise,
    xlsx_bytes,
)
from dtks.reasons import CRITICAL_REASONS
from dtks.validation import ROW_SUITE_FILE, load_suite_spec, stored_suite_spec
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

_SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2}
FINAL_STATUSES = ("merged", "rejected", "superseded")


def _safe_part(name: str | None, default: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "").strip("._")
    return cleaned[:60] or default


OPERATOR_FOLDER = "_operator"  # <outbox>/_operator/: feedback on files no district folder can be named for


def feedback_paths(
    outbox: Path, round_id: str | None, kabkota_code: str | None, submission_id: int | str
) -> dict[str, Path]:
    """The three feedback files of a submission (or of a duplicate upload: ``submission_id="duplicate_<id>"``).

    A file that landed outside ``<round>/<kabkota>/`` (or in a folder that is
    not a district code) has no district to read its feedback: it goes to the
    operators' folder ``<outbox>/_operator/``, never to an invented round or
    district folder.
    """
    round_part, district_part = _safe_part(round_id, ""), _safe_part(kabkota_code, "")
    if round_part and district_part:
        folder = Path(outbox) / round_part / district_part
    else:
        folder = Path(outbox) / OPERATOR_FOLDER
    ident = int(submission_id) if isinstance(submission_id, int) else _safe_part(str(submission_id), "x")
    stem = f"feedback_{ident}"
    return {
        "xlsx": folder / f"{stem}.xlsx",
        "csv": folder / f"{stem}.csv",
        "summary_csv": folder / f"{stem}_summary.csv",
    }


# ----------------------------------------------------------------- content
@dataclass
class Feedback:
    submission: dict[str, Any]  # the audit.submission row, with kabkota_name
    rows: list[dict[str, Any]] = field(default_factory=list)  # ROW_COLUMNS
    summary: list[dict[str, Any]] = field(default_factory=list)  # SUMMARY_COLUMNS

    @property
    def round_id(self) -> str | None:
        round_id: str | None = self.submission.get("round_id") or self.submission.get("landed_round_id")
        return round_id


def _critical_messages(conn: sa.Connection, sub: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(code, message_id, message_en) of why a whole file was refused, primary reason first."""
    found: list[tuple[str, str, str]] = []
    event = conn.execute(
        sa.text(
            "SELECT detail FROM audit.submission_event WHERE submission_id = :sid AND event = 'rejected'"
            " ORDER BY event_id DESC LIMIT 1"
        ),
        {"sid": sub["submission_id"]},
    ).scalar()
    code = sub.get("reject_reason")
    if code:
        if event and event.get("message_id"):
            found.append((code, event["message_id"], event.get("message_en") or ""))
        elif sub.get("reject_detail") and " / " in sub["reject_detail"]:
            message_id, _, message_en = sub["reject_detail"].partition(" / ")
            found.append((code, message_id, message_en))
        else:
            found.append((code, sub.get("reject_detail") or code, sub.get("reject_detail") or code))
    others = (
        conn.execute(
            sa.text(
                "SELECT reason_code FROM audit.validation_result WHERE submission_id = :sid AND severity = 'critical'"
                " AND NOT success ORDER BY reason_code"
            ),
            {"sid": sub["submission_id"]},
        )
        .scalars()
        .all()
    )
    for other in others:
        if other == code or other not in CRITICAL_REASONS:
            continue
        reason = CRITICAL_REASONS[other]
        blanks = _Blank()
        found.append((other, reason.message_id.format_map(blanks), reason.message_en.format_map(blanks)))
    return found


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def build_feedback(conn: sa.Connection, submission_id: int) -> Feedback:
    sub = dict(
        conn.execute(
            sa.text(
                "SELECT s.*, k.name AS kabkota_name FROM audit.submission s LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code"
                " WHERE s.submission_id = :sid"
            ),
            {"sid": submission_id},
        )
        .mappings()
        .one()
    )
    fb = Feedback(sub)
    counts: Counter[tuple[str, str]] = Counter()
    messages: dict[str, tuple[str, str]] = {}
    if sub["status"] == "rejected" or sub.get("reject_reason"):
        for code, message_id, message_en in _critical_messages(conn, sub):
            fb.rows.append(_line("critical", code, message_id, message_en))
            counts[(code, "critical")] += 1
            messages[code] = (message_id, message_en)
    spec = stored_suite_spec(conn, sub.get("suite_name") or "", sub.get("suite_version")) or load_suite_spec(
        ROW_SUITE_FILE
    )
    issues = (
        conn.execute(
            sa.text(
                "SELECT file_row, source_line, reason_code, severity, field, value_sent, detail FROM quarantine.row_issue"
                " WHERE submission_id = :sid"
            ),
            {"sid": submission_id},
        )
        .mappings()
        .all()
    )
    ordered = sorted(issues, key=lambda i: (i["file_row"], _SEVERITY_ORDER.get(i["severity"], 9), i["reason_code"]))
    for issue in ordered:
        rule = spec.find(issue["reason_code"])
        if rule is not None:
            message_id, message_en = rule.messages(issue["detail"])
            generic = rule.messages("…")
        else:
            message_id = message_en = issue["reason_code"]
            generic = (message_id, message_en)
        fb.rows.append(
            _line(
                issue["severity"],
                issue["reason_code"],
                message_id,
                message_en,
                sheet_row=issue["source_line"],
                file_row=issue["file_row"],
                field=issue["field"],
                value_sent=issue["value_sent"],
            )
        )
        counts[(issue["reason_code"], issue["severity"])] += 1
        messages.setdefault(issue["reason_code"], generic)
    # worst first: whole-file reasons, then rows not accepted, then warnings; the commonest first within each
    for (code, severity), n in sorted(
        counts.items(), key=lambda kv: (_SEVERITY_ORDER.get(kv[0][1], 9), -kv[1], kv[0][0])
    ):
        message_id, message_en = messages[code]
        fb.summary.append(
            {"reason_code": code, "severity": severity, "rows": n, "alasan": message_id, "reason": message_en}
        )
    return fb


def _line(
    severity: str,
    code: str,
    message_id: str,
    message_en: str,
    sheet_row: int | None = None,
    file_row: int | None = None,
    field: str | None = None,
    value_sent: str | None = None,
) -> dict[str, Any]:
    """One feedback line (ROW_COLUMNS); a whole-file reason has no row, field or value."""
    return {
        "sheet_row": "" if sheet_row is None else sheet_row,
        "file_row": "" if file_row is None else file_row,
        "field": field or "",
        "value_sent": value_sent,
        "severity": severity,
        "reason_code": code,
        "alasan": message_id,
        "reason": message_en,
        "what_to_do": WHAT_TO_DO.get(severity, ""),
    }


def build_duplicate_feedback(conn: sa.Connection, duplicate_id: int) -> Feedback:
    """A file whose content was received before: the reason, and the outcome of the original."""
    dup = dict(
        conn.execute(sa.text("SELECT * FROM audit.duplicate_upload WHERE duplicate_id = :d"), {"d": duplicate_id})
        .mappings()
        .one()
    )
    original = dict(
        conn.execute(sa.text("SELECT * FROM audit.submission WHERE submission_id = :s"), {"s": dup["duplicate_of"]})
        .mappings()
        .one()
    )
    outcome = original["status"] + (f" ({original['reject_reason']})" if original.get("reject_reason") else "")
    reason = CRITICAL_REASONS["file_duplicate"]
    details = {
        "original": original["submission_id"],
        "district": original.get("kabkota_code") or "-",
        "round_id": original.get("round_id") or original.get("landed_round_id") or "-",
        "received": wib(original["received_at"]),
        "outcome": outcome,
    }
    name = conn.execute(sa.text("SELECT name FROM ref.kabkota WHERE code = :c"), {"c": dup["kabkota_folder"]}).scalar()
    fb = Feedback(
        {
            "submission_id": f"duplicate_{duplicate_id}",
            "round_id": dup["round_folder"],
            "kabkota_code": dup["kabkota_folder"],
            "kabkota_name": name,
            "file_name": dup["file_name"],
            "sha256": dup["sha256"],
            "received_at": dup["received_at"],
            "status": "duplicate",
            "kind": "duplicate",
        }
    )
    lines = [("file_duplicate", reason.message_id.format(**details), reason.message_en.format(**details))]
    if original["status"] == "rejected" or original.get("reject_reason"):
        lines += _critical_messages(conn, original)  # same bytes, same verdict on the file itself
    for code, message_id, message_en in lines:
        fb.rows.append(_line("critical", code, message_id, message_en))
        fb.summary.append(
            {"reason_code": code, "severity": "critical", "rows": 1, "alasan": message_id, "reason": message_en}
        )
    return fb


def _write_if_changed(path: Path, data: bytes, outbox: Path) -> None:
    """Write a feedback file atomically, safe against links planted in the outbox.

    Districts can write into their outbox folders, so nothing there is
    trusted: the folders must be real folders (not links), the temporary
    file gets an unpredictable name created exclusively (``mkstemp``: never
    an existing file or link), and the rename replaces the name itself, never
    a link's target.
    """
    if _read_regular(path) == data:
        return
    _real_folder(path.parent, outbox)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # districts read their feedback (mkstemp creates 0600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written file around
        raise


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file at ``path``, not following a link; None if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read() if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else None


class UnsafeOutbox(RuntimeError):
    """An outbox folder that is a symbolic link: nothing is written through it."""


def _real_folder(folder: Path, outbox: Path) -> None:
    """Create ``folder`` if needed; refuse it if it, or a folder between it and the outbox, is a link."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in (folder, *folder.parents):
        if part == outbox:
            break
        if part.is_symlink():
            raise UnsafeOutbox(f"outbox folder {part} is a symbolic link: feedback not written there")


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
    _write_if_changed(paths["csv"], csv_bytes(ROW_FIELDS, fb.rows), outbox)
    _write_if_changed(paths["summary_csv"], csv_bytes(SUMMARY_FIELDS, fb.summary), outbox)
    _write_if_changed(paths["xlsx"], xlsx_bytes(fb.submission, fb.round_id, fb.rows, fb.summary), outbox)
    log.info("feedback for submission %s: %d row lines", submission_id, len(fb.rows))
    return {k: str(v) for k, v in paths.items()}


def finished_submissions(
    eng: Engine, run_id: str | None = None, submission_ids: list[int] | None = None, round_id: str | None = None
) -> list[int]:
    """District submissions in a final status: of these ids, registered by this run, or of a round."""
    with eng.connect() as conn:
        return [
            int(x)
            for x in conn.execute(
                sa.text(read_sql("feedback/finished_submissions.sql")),
                {
                    "final": list(FINAL_STATUSES),
                    "ids": [int(i) for i in (submission_ids or [])],
                    "run": run_id or "",
                    "round": round_id,
                },
            ).scalars()
        ]


def _without_feedback(eng: Engine, outbox: Path) -> list[int]:
    """Finished district submissions whose feedback file is missing (e.g. an earlier run failed to write it)."""
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT submission_id, coalesce(round_id, landed_round_id) AS round_id, kabkota_code"
                " FROM audit.submission WHERE kind = 'district' AND status = ANY(:final)"
            ),
            {"final": list(FINAL_STATUSES)},
        ).all()
    return [
        r.submission_id
        for r in rows
        if not feedback_paths(outbox, r.round_id, r.kabkota_code, r.submission_id)["csv"].exists()
    ]


class RunFeedback(TypedDict):
    """What a run's feedback step wrote (the task's return value)."""

    feedback_files: int
    submissions: list[int]
    duplicates: list[int]


def write_run_feedback(eng: Engine, run_id: str, submission_ids: list[int], outbox: Path | None = None) -> RunFeedback:
    """Feedback for every submission a run finished (including files rejected at registration),
    and for any finished submission still without its feedback files."""
    outbox = Path(outbox or settings().outbox_dir)
    todo = set(finished_submissions(eng, run_id, submission_ids)) | set(_without_feedback(eng, outbox))
    unsafe: list[str] = []
    written: dict[int, dict[str, str]] = {}
    for sid in sorted(todo):
        try:
            written[sid] = write_feedback(eng, sid, outbox)
        except UnsafeOutbox as exc:  # one district's tampered folder must not hold back the others' feedback
            unsafe.append(str(exc))
    with eng.connect() as conn:
        duplicates = conn.execute(
            sa.text(
                "SELECT duplicate_id, round_folder, kabkota_folder FROM audit.duplicate_upload ORDER BY duplicate_id"
            )
        ).all()
    dup_written = [
        d.duplicate_id
        for d in duplicates
        if not feedback_paths(outbox, d.round_folder, d.kabkota_folder, f"duplicate_{d.duplicate_id}")["csv"].exists()
    ]
    for duplicate_id in list(dup_written):
        try:
            write_duplicate_feedback(eng, duplicate_id, outbox)
        except UnsafeOutbox as exc:
            dup_written.remove(duplicate_id)
            unsafe.append(str(exc))
    if unsafe:
        raise UnsafeOutbox("; ".join(sorted(set(unsafe))) + " (every other feedback file was written)")
    return {
        "feedback_files": len(written) + len(dup_written),
        "submissions": sorted(written),
        "duplicates": dup_written,
    }


def rejection_reasons(conn: sa.Connection, submission: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(code, message_id, message_en) of why a whole file was refused, primary reason first (as in its feedback)."""
    return _critical_messages(conn, submission)
