"""What one ingest or close run did, read back from the warehouse, for the person who ran it.

``dtks ingest`` prints one line per file the run handled (round, district,
file name, outcome, row counts, why a file was refused, where its feedback
is) and totals; ``dtks close-round`` the round's headline figures and the
paths of its outputs. Both also as JSON for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.identifiers import mask_file_name  # names may carry a NIK or a person's name: the shared mask
from dtks.warehouse import read_sql

OUTCOME_WORDS = {  # status -> what the line says
    "merged": "merged",
    "rejected": "REJECTED",
    "superseded": "merged, superseded by a later file",
    "duplicate": "duplicate (not processed again)",
    "received": "unfinished",
    "staged": "unfinished",
    "validated": "unfinished",
}


class IngestTotals(TypedDict):
    files: int
    merged: int
    rejected: int
    duplicate: int
    unfinished: int
    rows_sent: int
    rows_accepted: int
    rows_quarantined: int
    rows_warned: int


class IngestOutcome(TypedDict):
    run_id: str
    files: list[dict[str, Any]]  # one per file handled: outcome, counts, reason, feedback path
    totals: IngestTotals
    state: NotRequired[str]  # the DAG run's final state, landing folder and failure line (`dtks ingest`)
    landing: NotRequired[str]
    error: NotRequired[str | None]


class CloseOutcome(TypedDict):
    round_id: str
    run_id: str | None
    headline: dict[str, Any]  # national figures by name (_HEADLINE_WORDS), plain numbers
    outputs: dict[str, str]  # output name -> path, those that exist


def ingest_outcomes(eng: Engine, run_id: str) -> IngestOutcome:
    """Every file the run handled (its submissions and its duplicate uploads), with totals."""
    from dtks.feedback import feedback_paths, rejection_reasons

    outbox = settings().outbox_dir
    files: list[dict[str, Any]] = []
    with eng.connect() as conn:
        subs = conn.execute(sa.text(read_sql("run_outcomes/run_submissions.sql")), {"run": run_id}).mappings().all()
        for s in subs:
            round_id = s["round_id"] or s["landed_round_id"]
            reasons = rejection_reasons(conn, dict(s)) if s["status"] == "rejected" else []
            files.append(
                {
                    "submission_id": s["submission_id"],
                    "round_id": round_id,
                    "kabkota_code": (s["kabkota_code"] or "").strip() or None,
                    "kabkota_name": s["kabkota_name"],
                    "file_name": mask_file_name(s["file_name"]),
                    "outcome": s["status"],
                    "rows_sent": s["rows_in"],
                    "rows_accepted": s["rows_accepted"],
                    "rows_quarantined": s["rows_quarantined"],
                    "rows_warned": s["rows_warned"],
                    "reason_code": s["reject_reason"] if reasons else None,
                    "reason": reasons[0][2] if reasons else None,
                    "feedback": str(feedback_paths(outbox, round_id, s["kabkota_code"], s["submission_id"])["xlsx"]),
                }
            )
        dups = (
            conn.execute(
                sa.text(
                    "SELECT d.*, k.name AS kabkota_name FROM audit.duplicate_upload d"
                    " LEFT JOIN ref.kabkota k ON k.code = d.kabkota_folder"
                    " WHERE d.run_id = :run ORDER BY d.duplicate_id"
                ),
                {"run": run_id},
            )
            .mappings()
            .all()
        )
        for d in dups:
            files.append(
                {
                    "submission_id": None,
                    "duplicate_of": d["duplicate_of"],
                    "round_id": d["round_folder"],
                    "kabkota_code": d["kabkota_folder"],
                    "kabkota_name": d["kabkota_name"],
                    "file_name": mask_file_name(d["file_name"]),
                    "outcome": "duplicate",
                    "rows_sent": None,
                    "rows_accepted": None,
                    "rows_quarantined": None,
                    "rows_warned": None,
                    "reason_code": "file_duplicate",
                    "reason": f"same content as submission #{d['duplicate_of']}",
                    "feedback": str(
                        feedback_paths(
                            outbox, d["round_folder"], d["kabkota_folder"], f"duplicate_{d['duplicate_id']}"
                        )["xlsx"]
                    ),
                }
            )
    return {"run_id": run_id, "files": files, "totals": _totals(files)}


def _totals(files: list[dict[str, Any]]) -> IngestTotals:
    def total(key: str) -> int:
        return sum(f[key] or 0 for f in files)

    by = {o: sum(1 for f in files if f["outcome"] == o) for o in ("merged", "superseded", "rejected", "duplicate")}
    return {
        "files": len(files),
        "merged": by["merged"] + by["superseded"],
        "rejected": by["rejected"],
        "duplicate": by["duplicate"],
        "unfinished": sum(1 for f in files if f["outcome"] in ("received", "staged", "validated")),
        "rows_sent": total("rows_sent"),
        "rows_accepted": total("rows_accepted"),
        "rows_quarantined": total("rows_quarantined"),
        "rows_warned": total("rows_warned"),
    }


def _n(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def format_ingest(outcome: IngestOutcome) -> str:
    """One line per file, then the totals."""
    lines = []
    for f in outcome["files"]:
        district = " ".join(x for x in (f["kabkota_code"], f["kabkota_name"]) if x) or "district unknown"
        which = f"#{f['submission_id']}" if f["submission_id"] else f"duplicate of #{f['duplicate_of']}"
        line = (
            f"{f['round_id'] or 'round unknown'}  {district}  {which} {f['file_name']}: "
            f"{OUTCOME_WORDS.get(f['outcome'], f['outcome'])}"
        )
        if any(f[k] is not None for k in ("rows_sent", "rows_accepted", "rows_quarantined", "rows_warned")):
            line += (
                f" — rows sent {_n(f['rows_sent'])}, accepted {_n(f['rows_accepted'])}, "
                f"quarantined {_n(f['rows_quarantined'])}, warnings {_n(f['rows_warned'])}"
            )
        if f["reason"]:
            line += f" — {f['reason_code']}: {f['reason']}"
        line += f" — feedback {f['feedback']}"
        lines.append(line)
    t = outcome["totals"]
    if not outcome["files"]:
        lines.append("no new files in landing")
    lines.append(
        f"total: {t['files']} file(s): {t['merged']} merged, {t['rejected']} rejected, "
        f"{t['duplicate']} duplicate"
        + (f", {t['unfinished']} unfinished" if t["unfinished"] else "")
        + f"; rows sent {t['rows_sent']:,}, accepted {t['rows_accepted']:,}, "
        f"quarantined {t['rows_quarantined']:,}, warnings {t['rows_warned']:,}"
    )
    return "\n".join(lines)


def close_outcome(eng: Engine, round_id: str, run_id: str | None = None) -> CloseOutcome:
    """A closed round's headline figures (national row, penetapan) and the paths of its outputs."""
    from dtks import metrics

    national = metrics.national_row(eng, round_id) or {}
    snap = metrics.penetapan(eng, round_id)
    out = settings().out_dir / round_id
    outputs = {
        name: out / file
        for name, file in (
            ("district_csv", "district_metrics.csv"),
            ("district_xlsx", "district_metrics.xlsx"),
            ("report_html", "report.html"),
            ("data_docs", Path("data_docs") / "index.html"),
        )
    }
    keep = (
        "expected_districts",
        "submitted_districts",
        "accepted_districts",
        "on_time_districts",
        "active_records",
        "coverage_12m",
        "coverage_24m",
        "acceptance_rate",
        "update_index_mean",
    )
    headline = {k: _plain(national[k]) for k in keep if k in national}
    if snap:
        headline.update(
            penetapan_snapshot=snap["snapshot_no"],
            penetapan_individuals=snap["active_individuals"],
            penetapan_households=snap["households"],
        )
    return {
        "round_id": round_id,
        "run_id": run_id,
        "headline": headline,
        "outputs": {k: str(p) for k, p in outputs.items() if p.exists()},
    }


def _plain(v: object) -> object:
    from decimal import Decimal

    return float(v) if isinstance(v, Decimal) else v


_HEADLINE_WORDS = {
    "expected_districts": "districts expected",
    "submitted_districts": "submitted",
    "accepted_districts": "accepted",
    "on_time_districts": "on time",
    "active_records": "active records",
    "coverage_12m": "coverage 12 months",
    "coverage_24m": "coverage 24 months",
    "acceptance_rate": "rows accepted",
    "update_index_mean": "mean update index",
    "penetapan_individuals": "penetapan: active individuals",
    "penetapan_households": "households",
}


def format_close(outcome: CloseOutcome) -> str:
    parts = []
    for key, word in _HEADLINE_WORDS.items():
        v = outcome["headline"].get(key)
        if v is None:
            continue
        if key in ("coverage_12m", "coverage_24m", "acceptance_rate"):
            parts.append(f"{word} {v * 100:.1f}%")
        elif key == "update_index_mean":
            parts.append(f"{word} {v:.3f}")
        else:
            parts.append(f"{word} {v:,}")
    lines = [f"round {outcome['round_id']} closed: " + ", ".join(parts)]
    lines += [f"  {name}: {path}" for name, path in outcome["outputs"].items()]
    return "\n".join(lines)


def as_json(outcome: IngestOutcome | CloseOutcome) -> str:
    return json.dumps(outcome, ensure_ascii=False, indent=2, default=str)
