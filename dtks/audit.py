"""Auditors' read-only view of the warehouse: the ``dtks_auditor`` engine, ``AuditReader`` and record lineage.

Auditors (BPK, inspectorate, internal audit) reconstruct long after the fact
what was received, which checks ran with which suite version, what was
accepted or rejected, what changed in the registry and which run did it.
Everything here reads the audit and metrics schemas and the masked views of
migration 003; the auditor page (``plugins/dtks_auditor``) reads them through
the ``dtks_auditor`` database role (:func:`auditor_engine`), so unmasked
registry data cannot reach it even by mistake. The masking rules are in
``dtks.masking``; the round's audit export in ``dtks.audit_export``.

Lineage lookups by auditors are requests recorded in ``audit.lineage_lookup``
(migration 014): a committed request first, then the masked answer, within an
hourly limit per login, by members of ``dtks_lineage`` only.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.display import wib
from dtks.identifiers import mask_identifier
from dtks.warehouse import read_sql

__all__ = ["AUDITOR_ROLE", "LINEAGE_ROLE", "AuditReader", "auditor_engine", "format_lineage", "lineage"]

AUDITOR_ROLE = "dtks_auditor"
LINEAGE_ROLE = "dtks_lineage"  # may look up one NIK/KK at a time, recorded and rate-limited


# ---------------------------------------------------------------- the auditor's connection
@lru_cache(maxsize=4)
def _auditor_engine_for(url: str) -> Engine:
    # Every session starts as dtks_auditor, read-only: the role's grants decide
    # what can be read (masked views), whatever the query.
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        connect_args={
            "options": f"-c role={AUDITOR_ROLE} -c default_transaction_read_only=on",
            "application_name": "dtks-auditor",
        },
    )


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
def _rows(conn: sa.Connection, sql: str, **params: object) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sa.text(sql), params).mappings().all()]


class AuditReader:
    """What auditors see: audit, metrics and ref tables and the masked registry/quarantine views only."""

    def __init__(self, eng: Engine):
        self.eng = eng

    def _q(self, sql: str, **params: object) -> list[dict[str, Any]]:
        with self.eng.connect() as conn:
            return _rows(conn, sql, **params)

    # rounds
    def rounds(self) -> list[dict[str, Any]]:
        return self._q(read_sql("audit/rounds.sql"))

    def round(self, round_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rounds() if r["round_id"] == round_id), None)

    def district_choices(self, round_id: str) -> list[dict[str, Any]]:
        """The round's expected districts with their provinces (for the filters)."""
        return self._q(
            read_sql("audit/round_district_choices.sql"),
            r=round_id,
        )

    def districts(
        self, round_id: str, province: str | None = None, district: str | None = None
    ) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/round_districts.sql"),
            r=round_id,
            p=province,
            d=district,
        )

    def new_districts(self, round_id: str) -> list[dict[str, Any]]:
        """Districts of the round a newer edition created by a split: when, and from which parent."""
        return self._q(read_sql("metrics/new_districts.sql"), r=round_id)

    def provinces(self, round_id: str) -> list[dict[str, Any]]:
        return self._q("SELECT * FROM metrics.province_round WHERE round_id = :r ORDER BY province_code", r=round_id)

    def counts(self, round_id: str) -> dict[str, Any]:
        with self.eng.connect() as conn:
            row = conn.execute(sa.text(read_sql("audit/round_counts.sql")), {"r": round_id}).mappings().one()
            expected = conn.execute(
                sa.text("SELECT count(*) FROM audit.round_expected_district WHERE round_id = :r"), {"r": round_id}
            ).scalar()
        return {"expected": expected, **dict(row)}

    # submissions
    _SUBMISSION_SELECT = read_sql("audit/submission_select.sql")

    def submissions(
        self, round_id: str | None, province: str | None = None, district: str | None = None
    ) -> list[dict[str, Any]]:
        """A round's submissions; ``round_id=None``: baseline loads and files for no known round."""
        return self._q(
            self._SUBMISSION_SELECT
            + """
            WHERE (s.round_id = CAST(:r AS text) OR (CAST(:r AS text) IS NULL AND s.round_id IS NULL))
              AND (CAST(:p AS text) IS NULL OR k.province_code = :p)
              AND (CAST(:d AS text) IS NULL OR s.kabkota_code = :d)
            ORDER BY s.received_at, s.submission_id""",
            r=round_id,
            p=province,
            d=district,
        )

    def submission(self, submission_id: int) -> dict[str, Any] | None:
        rows = self._q(self._SUBMISSION_SELECT + " WHERE s.submission_id = :sid", sid=submission_id)
        return rows[0] if rows else None

    def submission_events(self, submission_id: int) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/submission_events.sql"),
            sid=submission_id,
        )

    def validation_results(self, submission_id: int) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/submission_validation_results.sql"),
            sid=submission_id,
        )

    def issue_summary(self, submission_id: int) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/submission_issue_summary.sql"),
            sid=submission_id,
        )

    def issues(self, submission_id: int, limit: int = 200) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/submission_issues.sql"),
            sid=submission_id,
            n=limit,
        )

    def registry_events(self, submission_id: int) -> list[dict[str, Any]]:
        return self._q(
            read_sql("audit/submission_registry_events.sql"),
            sid=submission_id,
        )

    # runs
    def task_runs(self, round_id: str | None = None, submission_id: int | None = None) -> list[dict[str, Any]]:
        """Task runs of a round (its own or of runs that touched its submissions), or of one submission's runs."""
        return self._q(
            read_sql("audit/task_runs.sql"),
            r=round_id,
            sid=submission_id,
        )

    # lineage
    def lineage_lookup(
        self, identifier: str, asked_by: str | None = None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
                lookup_id = conn.execute(
                    sa.text("SELECT registry.lineage_request(:i, :who)"), {"i": identifier, "who": asked_by}
                ).scalar()
            with conn.begin():
                conn.execute(sa.text(f"SET LOCAL ROLE {LINEAGE_ROLE}"))
                events = _rows(conn, "SELECT * FROM registry.lineage_masked(:l, :i)", l=lookup_id, i=identifier)
                attempts = _rows(conn, "SELECT * FROM registry.attempts_masked(:l, :i)", l=lookup_id, i=identifier)
        return events, attempts

    def lineage(self, identifier: str, asked_by: str | None = None) -> list[dict[str, Any]]:
        """Masked registry lineage of one NIK or KK (one recorded lookup; see :meth:`lineage_lookup`)."""
        return self.lineage_lookup(identifier, asked_by)[0]


# ---------------------------------------------------------------- lineage for engineers (CLI)
def lineage(eng: Engine, identifier: str) -> list[dict[str, Any]]:
    """Every version and event of a NIK, or of a KK and everyone ever in it (registry.lineage_of)."""
    identifier = identifier.strip()
    if not re.fullmatch(r"[0-9]{16}", identifier):
        raise ValueError("give a 16-digit NIK or KK number")
    with eng.connect() as conn:
        events = _rows(conn, "SELECT * FROM registry.lineage_of(:i)", i=identifier)
        attempts = _rows(conn, "SELECT * FROM registry.attempts_of(:i)", i=identifier)
    # Attempts that never reached the registry (quarantined rows, files rejected whole), in time order.
    rows = events + [
        {
            "record_type": "attempt",
            "nik": a["nik"],
            "no_kk": a["no_kk"],
            "nama_initials": a["nama_initials"],
            "event": a["attempt"],
            "version_no": None,
            "changed_columns": None,
            "reasons": a["reasons"],
            "event_at": a["event_at"],
            "submission_id": a["submission_id"],
            "submission_kind": "district",
            "round_id": a["round_id"],
            "submitted_by_kabkota": a["submitted_by_kabkota"],
            "submitted_by_kabkota_name": a["submitted_by_kabkota_name"],
            "file_name": a["file_name"],
            "file_row": a["file_row"],
            "file_sha256": a["file_sha256"],
            "suite_name": None,
            "suite_version": None,
            "merge_run_id": a["run_id"],
        }
        for a in attempts
    ]
    return sorted(rows, key=lambda r: (r["event_at"], r["record_type"] == "attempt"))


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, datetime):
        return wib(v)
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v)) or "(none)"
    return str(v)


def format_lineage(rows: list[dict[str, Any]], identifier: str) -> str:
    """A terminal table: the number asked for in full, every other NIK/KK masked, names by initials."""
    identifier = identifier.strip()
    if not rows:
        return f"no registry record or household with NIK/KK {identifier}"

    def ident(v: str | None) -> str:
        return "" if v is None else (v if v == identifier else mask_identifier(v))

    header = (
        "when (received)",
        "record",
        "NIK",
        "KK",
        "name",
        "event",
        "ver",
        "changed",
        "round",
        "district",
        "submission",
        "file:row",
        "suite",
        "run",
    )
    table = []
    for r in rows:
        suite = (
            f"{r['suite_name']}@{r['suite_version']}"
            if r.get("suite_name")
            else ("baseline (no row suite)" if r.get("submission_kind") == "baseline" else "–")
        )
        if r["record_type"] == "attempt":
            changed = "reasons: " + _fmt(r.get("reasons"))
        else:
            changed = "(new)" if r["event"] == "inserted" else _fmt(r.get("changed_columns"))
        table.append(
            (
                _fmt(r["event_at"]),
                r["record_type"],
                ident(r["nik"]),
                ident(r["no_kk"]),
                r.get("nama_initials") or "",
                r["event"],
                "–" if r["version_no"] is None else str(r["version_no"]),
                changed,
                r.get("round_id") or r.get("submission_kind") or "–",
                f"{r['submitted_by_kabkota']} {r['submitted_by_kabkota_name']}"
                if r.get("submitted_by_kabkota")
                else "–",
                f"#{r['submission_id']}",
                f"{r['file_name']}:{r['file_row']}",
                suite,
                r.get("merge_run_id") or "–",
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in (header, *table)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
