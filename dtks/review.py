"""The review queue: NIKs a district sent while they are active in another district's registry.

Policy (README, "Across districts"): such a row is never moved silently. It
is quarantined with reason ``nik_active_in_other_district`` ("active in
district X") and listed here (view ``quarantine.review_queue``). The item is
*open* while the NIK is still active elsewhere; it resolves itself when the
other district deactivates the record (status 2, moved) or when the sending
district's row is accepted in a later submission. NIKs are masked in the
printed list unless asked for.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.identifiers import mask_identifier

COLUMNS = (
    "submission_id",
    "round_id",
    "sent_by_kabkota",
    "file_row",
    "source_line",
    "nik",
    "active_in_kabkota",
    "review_status",
    "received_at",
)


def review_queue(eng: Engine, round_id: str | None = None, status: str | None = "open") -> list[dict[str, Any]]:
    with eng.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT * FROM quarantine.review_queue"
                    " WHERE (CAST(:r AS text) IS NULL OR round_id = :r) AND (CAST(:s AS text) IS NULL OR review_status = :s)"
                    " ORDER BY received_at, submission_id, file_row"
                ),
                {"r": round_id, "s": status},
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def format_review_queue(rows: list[dict[str, Any]], show_nik: bool = False) -> str:
    if not rows:
        return "antrean tinjauan kosong / review queue empty"
    lines = [f"{'kiriman':>8} {'putaran':8} {'dari':5} {'baris':>6} {'NIK':16} {'aktif di':8} status"]
    for r in rows:
        nik = (r["nik"] or "") if show_nik else mask_identifier(r["nik"])
        lines.append(
            f"{r['submission_id']:>8} {r['round_id'] or '-':8} {r['sent_by_kabkota'] or '-':5} "
            f"{r['file_row']:>6} {nik:16} {r['active_in_kabkota'] or '-':8} {r['review_status']}"
        )
    return "\n".join(lines)
