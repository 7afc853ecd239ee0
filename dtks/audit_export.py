"""The round audit export: one self-contained HTML file an auditor archives, and CSV of masked rows.

The page's template is ``dtks/audit_export.html`` (Jinja, autoescaped); it
reads the warehouse through :class:`dtks.audit.AuditReader` and every
NIK-like number left in the page is scrubbed (``dtks.masking``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.audit import AuditReader
from dtks.config import settings
from dtks.display import wib
from dtks.masking import scrub_identifiers
from dtks.rounds import ROUND_ID
from dtks.spreadsheet_safety import neutralise_formula

_TEMPLATE = Path(__file__).with_name("audit_export.html")


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


def _export_context(reader: AuditReader, round_id: str) -> dict[str, Any]:
    rnd = reader.round(round_id)
    if rnd is None:
        raise LookupError(f"round {round_id} does not exist")
    subs = reader.submissions(round_id)
    for s in subs:
        s["events"] = reader.submission_events(s["submission_id"])
        s["checks"] = reader.validation_results(s["submission_id"])
        s["registry"] = reader.registry_events(s["submission_id"])
    national_cols = (
        "expected_districts",
        "submitted_districts",
        "accepted_districts",
        "on_time_districts",
        "reporting_rate",
        "on_time_rate",
        "active_records",
        "coverage_12m",
        "coverage_24m",
        "acceptance_rate",
        "computed_at",
    )
    with reader.eng.connect() as conn:
        national = (
            conn.execute(sa.text("SELECT * FROM metrics.national_round WHERE round_id = :r"), {"r": round_id})
            .mappings()
            .first()
        )
        database = conn.execute(sa.text("SELECT current_database()")).scalar()
    return {
        "r": rnd,
        "n": reader.counts(round_id),
        "subs": subs,
        "runs": reader.task_runs(round_id),
        "districts": reader.districts(round_id),
        "national": dict(national) if national else None,
        "national_cols": [c for c in national_cols if national is not None and c in national],
        "database": database,
        "generated_at": wib(datetime.now(UTC), seconds=True),
        "c": _cell,
    }


def render_audit_export(eng: Engine, round_id: str) -> str:
    """One self-contained HTML file (no scripts, no external resources) for an auditor to archive."""
    import jinja2

    if not ROUND_ID.match(round_id):
        raise ValueError(f"round id must look like 2026-11, got {round_id!r}")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(**_export_context(AuditReader(eng), round_id))
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
def to_csv(rows: Iterable[dict[str, Any]], columns: list[str] | None = None) -> str:
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
