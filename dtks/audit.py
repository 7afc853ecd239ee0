"""Auditors: masking, record lineage, the read-only view of the warehouse, and the round audit export.

Auditors (BPK, inspectorate, internal audit) reconstruct long after the fact
what was received, which checks ran with which suite version, what was
accepted or rejected, what changed in the registry and which run did it.
Everything here reads the audit and metrics schemas and the masked views of
migration 003; the auditor page (``plugins/dtks_auditor``) reads them through
the ``dtks_auditor`` database role (:func:`auditor_engine`), so unmasked
registry data cannot reach it even by mistake.

Masking rules (the same in SQL, ``audit.mask_nik`` / ``audit.name_initials`` /
``audit.mask_file_name``): in auditor views NIK and KK numbers keep the 4-digit
region prefix only (``3171************``; the rest encodes birth date, sex and
a serial), names are shown by initials (``B. A.``), file names without names
or NIK-like numbers (``perbaikan NIK ****************.csv``). NIK-like numbers
in free text are scrubbed to ``3171**********01``.

Lineage lookups by auditors are requests recorded in ``audit.lineage_lookup``
(migration 014): a committed request first, then the masked answer, within an
hourly limit per login, by members of ``dtks_lineage`` only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.display import wib
from dtks.identifiers import mask_file_name, mask_identifier, mask_nik
from dtks.spreadsheet_safety import neutralise_formula

__all__ = [
    "AUDITOR_ROLE", "LINEAGE_ROLE", "mask_identifier", "mask_nik", "mask_file_name", "initials", "scrub_identifiers",
    "mask_value_sent", "auditor_engine",
    "AuditReader", "lineage", "format_lineage", "task_result_counts", "render_audit_export",
    "write_audit_export",
]

AUDITOR_ROLE = "dtks_auditor"
LINEAGE_ROLE = "dtks_lineage"   # may look up one NIK/KK at a time, recorded and rate-limited
ROUND_ID = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
DISTRICT_CODE = re.compile(r"^[0-9]{4}$")

# A sha256 (64 hex characters) is kept whole; any other run of 13+ digits (a NIK,
# a KK, a NIK with lost leading zeros or a '.0' suffix) is masked.
_HASH_OR_DIGITS = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])|(?<![0-9])[0-9]{13,}(?![0-9])")
_WORD = re.compile(r"\S+")
_PERSONAL_NAME_HEADER = re.compile(r"^(nama|name|nama_lengkap|full_name|nama_ibu|nama_ibu_kandung|mother_name|"
                                   r"alamat|address|tempat_lahir|birth_place)$")
_CODE_FIELDS = {"jenis_kelamin", "hubungan_keluarga", "kode_desa", "status_keberadaan", "tanggal_verifikasi",
                "pkh", "bpnt", "pbi", "rt", "rw"}


# ---------------------------------------------------------------- masking
def initials(name: str | None) -> str:
    """'BUDI ASTUTI' -> 'B. A.': names are shown by initials only."""
    words = [w for w in _WORD.findall(name or "") if any(ch.isalnum() for ch in w)]
    return " ".join(w[0].upper() + "." for w in words)


def scrub_identifiers(text: str) -> str:
    """Mask every NIK/KK-like run of 13+ digits in free text (sha256 hashes are left whole)."""
    def repl(m: re.Match) -> str:
        s = m.group(0)
        return s if len(s) == 64 and not s.isdigit() else mask_identifier(s)
    return _HASH_OR_DIGITS.sub(repl, text)


def mask_value_sent(field: str | None, value: str | None) -> str | None:
    """A value as a district sent it, as an auditor may see it (same rule as SQL audit.mask_value_sent)."""
    if value is None:
        return None
    field = (field or "").strip().lower()
    if field in ("nik", "no_kk", "id_dtks"):
        return mask_nik(value)
    if field in ("nama", "nama_ibu_kandung"):
        return initials(value)
    if field in _CODE_FIELDS:
        return scrub_identifiers(value)
    return re.sub(r"[^\W\d_]", "x", re.sub(r"[0-9]", "9", value))


def mask_record(header: list[str], row: list[str]) -> list[str]:
    """One row of a tabular file (e.g. a district feedback file) with personal columns masked.

    Identifier columns are masked, name and address columns reduced to
    initials, a "value as sent" column masked by the field it belongs to, and
    every other cell scrubbed of NIK-like numbers.
    """
    names = [h.strip().lower() for h in header]
    # a feedback file's header is bilingual ("Kolom / Column"): its first word names the column
    field_col = next((i for i, h in enumerate(names)
                      if h.split(" / ")[0] in ("field", "kolom", "column", "kolom_field")), None)
    out = []
    for i, cell in enumerate(row):
        h = names[i] if i < len(names) else ""
        text = "" if cell is None else str(cell)
        if re.search(r"(^|_)(nik|kk|no_kk|nomor_kk|nomor_nik|id_dtks)($|_)", h):
            out.append(mask_nik(text))
        elif _PERSONAL_NAME_HEADER.search(h):
            out.append(initials(text))
        elif re.search(r"value|nilai", h):
            field = row[field_col] if field_col is not None and field_col < len(row) else ""
            out.append(mask_value_sent(str(field or ""), text) or "")
        else:
            out.append(scrub_identifiers(text))
    return out


# ---------------------------------------------------------------- the auditor's connection
@lru_cache(maxsize=4)
def _auditor_engine_for(url: str) -> Engine:
    # Every session starts as dtks_auditor, read-only: the role's grants decide
    # what can be read (masked views), whatever the query.
    return sa.create_engine(url, pool_pre_ping=True, connect_args={
        "options": f"-c role={AUDITOR_ROLE} -c default_transaction_read_only=on",
        "application_name": "dtks-auditor",
    })


def auditor_engine(url: str | None = None) -> Engine:
    """An engine whose sessions run as the ``dtks_auditor`` role (read-only, masked views only).

    The URL is ``DTKS_AUDITOR_WAREHOUSE_URL`` (a LOGIN user granted
    dtks_auditor), else the warehouse URL (whose user must be able to SET ROLE
    dtks_auditor). A connecting user who cannot assume the role fails closed.
    """
    from dtks.warehouse import normalise_url, warehouse_url

    url = url or settings().auditor_warehouse_url or warehouse_url()
    return _auditor_engine_for(normalise_url(url))


# ---------------------------------------------------------------- reading the audit trail
def _rows(conn: sa.Connection, sql: str, **params) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.text(sql), params).mappings().all()]


class AuditReader:
    """What auditors see: audit, metrics and ref tables and the masked registry/quarantine views only."""

    def __init__(self, eng: Engine):
        self.eng = eng

    def _q(self, sql: str, **params) -> list[dict]:
        with self.eng.connect() as conn:
            return _rows(conn, sql, **params)

    # rounds
    def rounds(self) -> list[dict]:
        return self._q("""
            SELECT r.round_id, r.opens_on, r.cutoff_on, r.grace_days, r.penetapan_on, r.status,
                   (SELECT count(*) FROM audit.round_expected_district e WHERE e.round_id = r.round_id) AS expected,
                   (SELECT count(*) FROM audit.submission_masked s WHERE s.round_id = r.round_id) AS submissions,
                   (SELECT count(*) FROM audit.submission_masked s
                     WHERE s.round_id = r.round_id AND s.status = 'merged') AS merged,
                   (SELECT count(*) FROM audit.submission_masked s
                     WHERE s.round_id = r.round_id AND s.status = 'rejected') AS rejected,
                   n.accepted_districts, n.reporting_rate, n.on_time_rate, n.coverage_24m, n.acceptance_rate,
                   n.computed_at
            FROM audit.round r LEFT JOIN metrics.national_round n USING (round_id)
            ORDER BY r.opens_on DESC""")

    def round(self, round_id: str) -> dict | None:
        return next((r for r in self.rounds() if r["round_id"] == round_id), None)

    def district_choices(self, round_id: str) -> list[dict]:
        """The round's expected districts with their provinces (for the filters)."""
        return self._q("""
            SELECT k.code AS kabkota_code, k.name AS kabkota_name, p.code AS province_code, p.name AS province_name
            FROM audit.round_expected_district e
            JOIN ref.kabkota k ON k.code = e.kabkota_code JOIN ref.province p ON p.code = k.province_code
            WHERE e.round_id = :r ORDER BY k.code""", r=round_id)

    def districts(self, round_id: str, province: str | None = None, district: str | None = None) -> list[dict]:
        return self._q("""
            SELECT p.name AS province_name, d.*
            FROM metrics.district_round d JOIN ref.province p ON p.code = d.province_code
            WHERE d.round_id = :r AND (CAST(:p AS text) IS NULL OR d.province_code = :p)
              AND (CAST(:d AS text) IS NULL OR d.kabkota_code = :d)
            ORDER BY d.province_code, d.kabkota_code""", r=round_id, p=province, d=district)

    def new_districts(self, round_id: str) -> list[dict]:
        """Districts of the round a newer edition created by a split: when, and from which parent."""
        from dtks.metrics import NEW_DISTRICTS_SQL
        return self._q(NEW_DISTRICTS_SQL, r=round_id)

    def provinces(self, round_id: str) -> list[dict]:
        return self._q("SELECT * FROM metrics.province_round WHERE round_id = :r ORDER BY province_code", r=round_id)

    def counts(self, round_id: str) -> dict:
        with self.eng.connect() as conn:
            row = conn.execute(sa.text("""
                SELECT count(*) AS submissions,
                       count(DISTINCT kabkota_code) AS districts_submitting,
                       count(*) FILTER (WHERE status = 'merged') AS merged,
                       count(*) FILTER (WHERE status = 'rejected') AS rejected,
                       count(*) FILTER (WHERE status = 'superseded') AS superseded,
                       count(*) FILTER (WHERE status IN ('received', 'staged', 'validated')) AS unfinished,
                       coalesce(sum(rows_in), 0) AS rows_in,
                       coalesce(sum(rows_accepted), 0) AS rows_accepted,
                       coalesce(sum(rows_quarantined), 0) AS rows_quarantined,
                       coalesce(sum(rows_warned), 0) AS rows_warned,
                       coalesce(sum(size_bytes), 0) AS bytes_received
                FROM audit.submission_masked WHERE round_id = :r"""), {"r": round_id}).mappings().one()
            expected = conn.execute(sa.text(
                "SELECT count(*) FROM audit.round_expected_district WHERE round_id = :r"), {"r": round_id}).scalar()
        return {"expected": expected, **dict(row)}

    # submissions
    _SUBMISSION_SELECT = """
        SELECT s.submission_id, s.kind, s.round_id, s.kabkota_code, k.name AS kabkota_name,
               k.province_code, s.file_name, s.sha256, s.size_bytes, s.received_at, s.registered_at,
               s.registered_by_run, s.status, s.reject_reason, s.reject_detail, s.rows_in, s.rows_accepted,
               s.rows_quarantined, s.rows_warned, s.suite_name, s.suite_version, s.merged_at,
               (SELECT count(*) FROM audit.validation_result v
                 WHERE v.submission_id = s.submission_id) AS checks_run,
               (SELECT count(*) FROM audit.validation_result v
                 WHERE v.submission_id = s.submission_id AND NOT v.success) AS checks_failed
        FROM audit.submission_masked s LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code"""

    def submissions(self, round_id: str | None, province: str | None = None,
                    district: str | None = None) -> list[dict]:
        """A round's submissions; ``round_id=None``: baseline loads and files for no known round."""
        return self._q(self._SUBMISSION_SELECT + """
            WHERE (s.round_id = CAST(:r AS text) OR (CAST(:r AS text) IS NULL AND s.round_id IS NULL))
              AND (CAST(:p AS text) IS NULL OR k.province_code = :p)
              AND (CAST(:d AS text) IS NULL OR s.kabkota_code = :d)
            ORDER BY s.received_at, s.submission_id""", r=round_id, p=province, d=district)

    def submission(self, submission_id: int) -> dict | None:
        rows = self._q(self._SUBMISSION_SELECT + " WHERE s.submission_id = :sid", sid=submission_id)
        return rows[0] if rows else None

    def submission_events(self, submission_id: int) -> list[dict]:
        return self._q("""
            SELECT event_id, event, at, run_id, detail FROM audit.submission_event_masked
            WHERE submission_id = :sid ORDER BY at, event_id""", sid=submission_id)

    def validation_results(self, submission_id: int) -> list[dict]:
        return self._q("""
            SELECT suite_name, suite_version, expectation_type, reason_code, severity, column_name,
                   element_count, unexpected_count, success, run_id, validated_at
            FROM audit.validation_result WHERE submission_id = :sid
            ORDER BY success, CASE severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 ELSE 2 END, reason_code""",
            sid=submission_id)

    def issue_summary(self, submission_id: int) -> list[dict]:
        return self._q("""
            SELECT reason_code, severity, field, count(*) AS rows
            FROM quarantine.row_issue_masked WHERE submission_id = :sid
            GROUP BY reason_code, severity, field ORDER BY severity, reason_code""", sid=submission_id)

    def issues(self, submission_id: int, limit: int = 200) -> list[dict]:
        return self._q("""
            SELECT i.file_row, i.reason_code, i.severity, i.field, i.value_sent_masked, i.detail,
                   r.nik_masked, r.nama_initials
            FROM quarantine.row_issue_masked i
            LEFT JOIN quarantine.rejected_row_masked r USING (submission_id, file_row)
            WHERE i.submission_id = :sid ORDER BY i.file_row, i.reason_code LIMIT :n""",
            sid=submission_id, n=limit)

    def registry_events(self, submission_id: int) -> list[dict]:
        return self._q("""
            SELECT event, count(*) AS records FROM registry.individual_event_masked
            WHERE submission_id = :sid GROUP BY event ORDER BY event""", sid=submission_id)

    # runs
    def task_runs(self, round_id: str | None = None, submission_id: int | None = None) -> list[dict]:
        """Task runs of a round (its own or of runs that touched its submissions), or of one submission's runs."""
        return self._q("""
            WITH touched AS (
                SELECT e.run_id FROM audit.submission_event_masked e
                JOIN audit.submission_masked s USING (submission_id)
                WHERE (CAST(:r AS text) IS NOT NULL AND s.round_id = :r) OR s.submission_id = :sid
                UNION
                SELECT s.registered_by_run FROM audit.submission_masked s
                WHERE (CAST(:r AS text) IS NOT NULL AND s.round_id = :r) OR s.submission_id = :sid
            )
            SELECT t.task_run_id, t.run_id, t.dag_id, t.task_id, t.map_index, t.round_id, t.started_at, t.ended_at,
                   t.outcome, t.rows_in, t.rows_out, t.detail,
                   extract(epoch FROM t.ended_at - t.started_at) AS seconds
            FROM audit.task_run t
            WHERE ((CAST(:r AS text) IS NOT NULL AND t.round_id = :r) OR t.run_id IN (SELECT run_id FROM touched))
              AND (CAST(:sid AS bigint) IS NULL OR t.detail -> 'submission_id' IS NULL
                   OR t.detail -> 'submission_id' = to_jsonb(CAST(:sid AS bigint)))
            ORDER BY t.started_at, t.task_run_id""", r=round_id, sid=submission_id)

    # lineage
    def lineage_lookup(self, identifier: str, asked_by: str | None = None) -> tuple[list[dict], list[dict]]:
        """Masked lineage of one NIK or KK and its attempts that never reached the registry.

        Two transactions as ``dtks_lineage``: the request is recorded and
        committed (refused past the hourly limit), then the answer is read for
        that committed request only. ``asked_by``: the person, as the page's
        login names them (the database login is recorded in any case).
        """
        identifier = identifier.strip()
        with self.eng.connect() as conn:
            with conn.begin():
                # the login's sessions default to read-only; the request is its only possible write
                conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                conn.execute(sa.text(f"SET LOCAL ROLE {LINEAGE_ROLE}"))
                lookup_id = conn.execute(sa.text("SELECT registry.lineage_request(:i, :who)"),
                                         {"i": identifier, "who": asked_by}).scalar()
            with conn.begin():
                conn.execute(sa.text(f"SET LOCAL ROLE {LINEAGE_ROLE}"))
                events = _rows(conn, "SELECT * FROM registry.lineage_masked(:l, :i)", l=lookup_id, i=identifier)
                attempts = _rows(conn, "SELECT * FROM registry.attempts_masked(:l, :i)", l=lookup_id, i=identifier)
        return events, attempts

    def lineage(self, identifier: str, asked_by: str | None = None) -> list[dict]:
        """Masked registry lineage of one NIK or KK (one recorded lookup; see :meth:`lineage_lookup`)."""
        return self.lineage_lookup(identifier, asked_by)[0]


# ---------------------------------------------------------------- lineage for engineers (CLI)
def lineage(eng: Engine, identifier: str) -> list[dict]:
    """Every version and event of a NIK, or of a KK and everyone ever in it (registry.lineage_of)."""
    identifier = identifier.strip()
    if not re.fullmatch(r"[0-9]{16}", identifier):
        raise ValueError("give a 16-digit NIK or KK number")
    with eng.connect() as conn:
        events = _rows(conn, "SELECT * FROM registry.lineage_of(:i)", i=identifier)
        attempts = _rows(conn, "SELECT * FROM registry.attempts_of(:i)", i=identifier)
    # Attempts that never reached the registry (quarantined rows, files rejected whole), in time order.
    rows = events + [{
        "record_type": "attempt", "nik": a["nik"], "no_kk": a["no_kk"], "nama_initials": a["nama_initials"],
        "event": a["attempt"], "version_no": None, "changed_columns": None, "reasons": a["reasons"],
        "event_at": a["event_at"], "submission_id": a["submission_id"], "submission_kind": "district",
        "round_id": a["round_id"], "submitted_by_kabkota": a["submitted_by_kabkota"],
        "submitted_by_kabkota_name": a["submitted_by_kabkota_name"], "file_name": a["file_name"],
        "file_row": a["file_row"], "file_sha256": a["file_sha256"], "suite_name": None, "suite_version": None,
        "merge_run_id": a["run_id"]} for a in attempts]
    return sorted(rows, key=lambda r: (r["event_at"], r["record_type"] == "attempt"))


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, datetime):
        return wib(v)
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v)) or "(none)"
    return str(v)


def format_lineage(rows: list[dict], identifier: str) -> str:
    """A terminal table: the number asked for in full, every other NIK/KK masked, names by initials."""
    identifier = identifier.strip()
    if not rows:
        return f"no registry record or household with NIK/KK {identifier}"

    def ident(v):
        return "" if v is None else (v if v == identifier else mask_identifier(v))

    header = ("when (received)", "record", "NIK", "KK", "name", "event", "ver", "changed",
              "round", "district", "submission", "file:row", "suite", "run")
    table = []
    for r in rows:
        suite = f"{r['suite_name']}@{r['suite_version']}" if r.get("suite_name") else (
            "baseline (no row suite)" if r.get("submission_kind") == "baseline" else "–")
        if r["record_type"] == "attempt":
            changed = "reasons: " + _fmt(r.get("reasons"))
        else:
            changed = ("(new)" if r["event"] == "inserted" else _fmt(r.get("changed_columns")))
        table.append((
            _fmt(r["event_at"]), r["record_type"], ident(r["nik"]), ident(r["no_kk"]), r.get("nama_initials") or "",
            r["event"], "–" if r["version_no"] is None else str(r["version_no"]), changed,
            r.get("round_id") or r.get("submission_kind") or "–",
            f"{r['submitted_by_kabkota']} {r['submitted_by_kabkota_name']}" if r.get("submitted_by_kabkota") else "–",
            f"#{r['submission_id']}", f"{r['file_name']}:{r['file_row']}", suite, r.get("merge_run_id") or "–",
        ))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in (header, *table)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------- task row counts (audit.task_run)
def task_result_counts(result: Any) -> tuple[int | None, int | None, dict]:
    """Rows in and out (and ids for the detail column) from what a DTKS task returned.

    stage: rows_in staged; validate: rows checked / rows passing; merge: rows
    accepted; register: submissions listed (files, not rows); close-round:
    district rows computed. Unknown shapes give (None, None, {}).
    """
    detail: dict = {}
    if isinstance(result, list):
        ids = [r.get("submission_id") for r in result if isinstance(r, dict) and r.get("submission_id") is not None]
        detail = {"unit": "submissions", "submission_ids": ids[:1000]}
        return None, len(result), detail
    if not isinstance(result, dict):
        return None, None, detail
    if result.get("submission_id") is not None:
        detail["submission_id"] = int(result["submission_id"])
    if result.get("status"):
        detail["status"] = str(result["status"])[:40]
    if result.get("skipped"):
        detail["skipped"] = True
    values = list(result.values())
    if values and all(isinstance(v, dict) for v in values) and all(str(k).isdigit() for k in result):
        # validate: {submission_id: {"rows_in": .., "rows_quarantined": ..}}
        rows_in = sum(int(v.get("rows_in") or 0) for v in values)
        rows_out = sum(int(v.get("rows_in") or 0) - int(v.get("rows_quarantined") or 0) for v in values
                       if v.get("status") == "validated")
        detail["submission_ids"] = [int(k) for k in result][:1000]
        return rows_in, rows_out, detail
    if "rows_accepted" in result:
        return (int(result["rows_in"]) if result.get("rows_in") is not None else None), int(result["rows_accepted"]), \
            detail
    if "rows_in" in result:
        n = int(result["rows_in"])
        return n, n, detail
    if "districts" in result and isinstance(result["districts"], int):
        detail["unit"] = "districts"
        return None, result["districts"], detail
    return None, None, detail


# ---------------------------------------------------------------- audit export
def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "ya / yes" if v else "tidak / no"
    if isinstance(v, datetime):
        return wib(v, seconds=True)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return f"{float(v):.4f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, (dict, list)):
        import json
        return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    return str(v)


_EXPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>DTKS Pemutakhiran – audit export {{ r.round_id }}</title>
<meta name="generator" content="dtks audit-export">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;color:#1f2933;font-size:13px}
h1{color:#12355b;margin:0 0 4px}h2{color:#12355b;border-bottom:2px solid #12355b;padding-bottom:3px;margin-top:28px}
h3{margin:18px 0 6px}.en{color:#6b7785;font-weight:normal}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border:1px solid #d5dbe1;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#eef3f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px;word-break:break-all}
.fail{background:#fdecea}.ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dt{font-weight:600}
.sub{page-break-inside:avoid;border-left:4px solid #12355b;padding-left:10px;margin:14px 0}
footer{margin-top:30px;color:#6b7785;font-size:11px}
@media print{body{margin:8mm}h2{page-break-after:avoid}}
</style></head><body>
<h1>DTKS Pemutakhiran – Ekspor audit putaran {{ r.round_id }}
 <span class="en">/ audit export of round {{ r.round_id }}</span></h1>
<dl>
<dt>Putaran / round</dt><dd>{{ r.round_id }} ({{ r.status }})</dd>
<dt>Dibuka / opens</dt><dd>{{ c(r.opens_on) }}</dd>
<dt>Batas / cut-off</dt><dd>{{ c(r.cutoff_on) }} + {{ r.grace_days }} hari tenggang / grace days</dd>
<dt>Penetapan</dt><dd>{{ c(r.penetapan_on) }}</dd>
<dt>Dibuat / generated</dt><dd>{{ generated_at }} by <code>dtks audit-export</code> from database <code>{{ database }}</code></dd>
</dl>

<h2>Ringkasan <span class="en">/ Summary</span></h2>
<table><tr><th>Kab/kota wajib lapor / expected districts</th><td class="n">{{ n.expected }}</td></tr>
<tr><th>Kab/kota mengirim / districts submitting</th><td class="n">{{ n.districts_submitting }}</td></tr>
<tr><th>Kiriman / submissions received</th><td class="n">{{ n.submissions }}</td></tr>
<tr><th>Digabung / merged</th><td class="n">{{ n.merged }}</td></tr>
<tr><th>Ditolak / rejected</th><td class="n">{{ n.rejected }}</td></tr>
<tr><th>Digantikan / superseded</th><td class="n">{{ n.superseded }}</td></tr>
<tr><th>Belum selesai / unfinished</th><td class="n">{{ n.unfinished }}</td></tr>
<tr><th>Baris dikirim / rows received</th><td class="n">{{ n.rows_in }}</td></tr>
<tr><th>Baris diterima / rows accepted</th><td class="n">{{ n.rows_accepted }}</td></tr>
<tr><th>Baris dikarantina / rows quarantined</th><td class="n">{{ n.rows_quarantined }}</td></tr>
<tr><th>Baris dengan peringatan / rows with warnings</th><td class="n">{{ n.rows_warned }}</td></tr>
<tr><th>Byte diterima / bytes received</th><td class="n">{{ n.bytes_received }}</td></tr>
</table>
{% if national %}<table><tr>{% for k in national_cols %}<th>{{ k }}</th>{% endfor %}</tr>
<tr>{% for k in national_cols %}<td class="n">{{ c(national[k]) }}</td>{% endfor %}</tr></table>{% endif %}

<h2>Kiriman dan file yang diterima <span class="en">/ Submissions and the files received</span></h2>
<table><tr><th>#</th><th>Kab/kota</th><th>File</th><th>sha256</th><th>Byte</th><th>Diterima / received</th>
<th>Status</th><th>Alasan / reason</th><th>Baris masuk / in</th><th>Diterima / accepted</th><th>Karantina</th>
<th>Peringatan</th><th>Suite</th><th>Didaftarkan oleh / registered by run</th></tr>
{% for s in subs %}<tr{% if s.status == 'rejected' %} class="fail"{% endif %}>
<td class="n">{{ s.submission_id }}</td><td>{{ s.kabkota_code or '–' }} {{ s.kabkota_name or '' }}</td>
<td>{{ s.file_name }}</td><td class="hash">{{ s.sha256 }}</td><td class="n">{{ s.size_bytes }}</td>
<td>{{ c(s.received_at) }}</td><td>{{ s.status }}</td><td>{{ s.reject_reason or '' }}</td>
<td class="n">{{ c(s.rows_in) }}</td><td class="n">{{ c(s.rows_accepted) }}</td>
<td class="n">{{ c(s.rows_quarantined) }}</td><td class="n">{{ c(s.rows_warned) }}</td>
<td>{% if s.suite_name %}{{ s.suite_name }}@{{ s.suite_version }}{% else %}–{% endif %}</td>
<td><code>{{ s.registered_by_run }}</code></td></tr>{% else %}<tr><td colspan="14">Tidak ada / none</td></tr>{% endfor %}
</table>

<h2>Riwayat dan pemeriksaan per kiriman <span class="en">/ Lifecycle and checks per submission</span></h2>
{% for s in subs %}<div class="sub"><h3>#{{ s.submission_id }} – {{ s.kabkota_code or '–' }} {{ s.kabkota_name or '' }}
 – {{ s.file_name }} – {{ s.status }}</h3>
{% if s.reject_detail %}<p>{{ s.reject_detail }}</p>{% endif %}
<table><tr><th>Waktu / at</th><th>Peristiwa / event</th><th>Run</th><th>Detail</th></tr>
{% for e in s.events %}<tr><td>{{ c(e.at) }}</td><td>{{ e.event }}</td><td><code>{{ e.run_id }}</code></td>
<td><code>{{ c(e.detail) }}</code></td></tr>{% endfor %}</table>
{% if s.checks %}<table><tr><th>Suite</th><th>Aturan / rule (reason)</th><th>Expectation</th><th>Kolom</th>
<th>Tingkat / severity</th><th>Baris / rows</th><th>Gagal / unexpected</th><th>Hasil</th><th>Run</th></tr>
{% for v in s.checks %}<tr{% if not v.success %} class="fail"{% endif %}><td>{{ v.suite_name }}@{{ v.suite_version }}</td>
<td>{{ v.reason_code }}</td><td>{{ v.expectation_type }}</td><td>{{ v.column_name or '' }}</td><td>{{ v.severity }}</td>
<td class="n">{{ v.element_count }}</td><td class="n">{{ v.unexpected_count }}</td>
<td>{% if v.success %}<span class="ok">lulus / pass</span>{% else %}<span class="bad">gagal / fail</span>{% endif %}</td>
<td><code>{{ v.run_id }}</code></td></tr>{% endfor %}</table>
{% else %}<p>Tidak ada hasil pemeriksaan baris / no row checks recorded{% if s.status == 'rejected' %} (file rejected before row checks){% endif %}.</p>{% endif %}
{% if s.registry %}<p>Registri / registry: {% for e in s.registry %}{{ e.event }} {{ e.records }}{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
</div>{% endfor %}

<h2>Eksekusi tugas pipeline <span class="en">/ Pipeline task runs</span></h2>
<table><tr><th>Run</th><th>DAG</th><th>Task</th><th>Map</th><th>Mulai / start</th><th>Selesai / end</th>
<th>Hasil / outcome</th><th>Baris masuk / rows in</th><th>Baris keluar / rows out</th><th>Detail</th></tr>
{% for t in runs %}<tr{% if t.outcome == 'failed' %} class="fail"{% endif %}><td><code>{{ t.run_id }}</code></td>
<td>{{ t.dag_id }}</td><td>{{ t.task_id }}</td><td class="n">{{ t.map_index }}</td><td>{{ c(t.started_at) }}</td>
<td>{{ c(t.ended_at) }}</td><td>{{ t.outcome }}</td><td class="n">{{ c(t.rows_in) }}</td>
<td class="n">{{ c(t.rows_out) }}</td><td><code>{{ c(t.detail) }}</code></td></tr>
{% else %}<tr><td colspan="10">Tidak ada / none recorded</td></tr>{% endfor %}</table>

<h2>Hasil per kabupaten/kota <span class="en">/ Outcome per district</span></h2>
{% if districts %}<table><tr><th>Kode</th><th>Kab/kota</th><th>Provinsi</th><th>Kiriman</th><th>Diterima / accepted</th>
<th>Tepat waktu / on time</th><th>Hari terlambat</th><th>Baris dikirim</th><th>Baris diterima</th>
<th>Cakupan 24 bln</th><th>Indeks</th></tr>
{% for d in districts %}<tr><td>{{ d.kabkota_code }}</td><td>{{ d.kabkota_name }}</td><td>{{ d.province_name }}</td>
<td class="n">{{ d.submissions_received }}</td><td>{{ c(d.accepted) }}</td><td>{{ c(d.on_time) }}</td>
<td class="n">{{ c(d.days_late) }}</td><td class="n">{{ d.rows_submitted }}</td><td class="n">{{ d.rows_accepted }}</td>
<td class="n">{{ c(d.coverage_24m) }}</td><td class="n">{{ c(d.update_index) }}</td></tr>{% endfor %}</table>
{% else %}<p>Metrik putaran belum dihitung / the round's metrics have not been computed yet.</p>{% endif %}

<footer>Berisi data audit saja: tidak ada NIK, No. KK atau nama. / Audit data only: no NIK, KK number or name.
sha256 adalah hash isi file yang diterima sistem / sha256 is the hash of each received file's content.</footer>
</body></html>
"""


def _export_context(reader: AuditReader, round_id: str) -> dict:
    rnd = reader.round(round_id)
    if rnd is None:
        raise LookupError(f"round {round_id} does not exist")
    subs = reader.submissions(round_id)
    for s in subs:
        s["events"] = reader.submission_events(s["submission_id"])
        s["checks"] = reader.validation_results(s["submission_id"])
        s["registry"] = reader.registry_events(s["submission_id"])
    national_cols = ("expected_districts", "submitted_districts", "accepted_districts", "on_time_districts",
                     "reporting_rate", "on_time_rate", "active_records", "coverage_12m", "coverage_24m",
                     "acceptance_rate", "computed_at")
    with reader.eng.connect() as conn:
        national = conn.execute(sa.text("SELECT * FROM metrics.national_round WHERE round_id = :r"),
                                {"r": round_id}).mappings().first()
        database = conn.execute(sa.text("SELECT current_database()")).scalar()
    return {
        "r": rnd, "n": reader.counts(round_id), "subs": subs, "runs": reader.task_runs(round_id),
        "districts": reader.districts(round_id), "national": dict(national) if national else None,
        "national_cols": [c for c in national_cols if national is not None and c in national],
        "database": database, "generated_at": wib(datetime.now(timezone.utc), seconds=True),
        "c": _cell,
    }


def render_audit_export(eng: Engine, round_id: str) -> str:
    """One self-contained HTML file (no scripts, no external resources) for an auditor to archive."""
    import jinja2

    if not ROUND_ID.match(round_id):
        raise ValueError(f"round id must look like 2026-11, got {round_id!r}")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(_EXPORT_TEMPLATE).render(**_export_context(AuditReader(eng), round_id))
    return scrub_identifiers(html)


def write_audit_export(eng: Engine, round_id: str, out: Path | None = None) -> tuple[Path, str]:
    """Write the export (default ``$DTKS_OUT_DIR/<round>/audit_export_<round>.html``); return path and sha256."""
    html = render_audit_export(eng, round_id).encode("utf-8")
    path = Path(out) if out else settings().out_dir / round_id / f"audit_export_{round_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(html)
    os.replace(tmp, path)
    return path, hashlib.sha256(html).hexdigest()


# ---------------------------------------------------------------- CSV
def to_csv(rows: Iterable[dict], columns: list[str] | None = None) -> str:
    """CSV of already-masked rows, with spreadsheet formulas neutralised and NIK-like numbers scrubbed."""
    rows = list(rows)
    columns = columns or (list(rows[0].keys()) if rows else [])
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for r in rows:
        out = []
        for c in columns:
            v = r.get(c)
            text = "" if v is None else (v.isoformat() if isinstance(v, (datetime, date)) else str(v))
            text = scrub_identifiers(text)
            out.append(neutralise_formula(text))
        writer.writerow(out)
    return buf.getvalue()


def task_counts_from_ti(ti) -> tuple[int | None, int | None, dict]:
    """Rows in/out of a finished task from its return value (pulled back from XCom); never raises."""
    try:
        map_index = getattr(ti, "map_index", None)
        result = ti.xcom_pull(task_ids=ti.task_id, map_indexes=-1 if map_index is None else map_index)
        return task_result_counts(result)
    except Exception:  # bookkeeping only: a missing XCom leaves the counts empty
        return None, None, {}
