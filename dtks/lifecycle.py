"""The submission lifecycle: its states, the moves allowed between them, and the record of every move.

Every change of ``audit.submission.status`` goes through this module, and
each move (except the baseline's, which is trusted) leaves one row in
``audit.submission_event``. A move from a state the table does not allow
raises :class:`IllegalTransition` and changes nothing: the update only
applies ``WHERE status`` is one of the move's sources.

===============  ====================  ============  ===================================================
state            move (event)          next state    who calls it
===============  ====================  ============  ===================================================
(new row)        received              received      intake.register; recoding (an edition's successors)
received         reject (rejected)     rejected      intake.register (misplaced, round or district
                                                     unknown); staging.stage (unreadable file)
received         stage (staged)        staged        staging.stage
staged           reject (rejected)     rejected      ingest.validate (a critical rule failed)
staged           validate (validated)  validated     ingest.validate (row suite run)
staged           trust_baseline (-)    validated     merging.load_baseline (kind baseline: not validated,
                                                     no event)
validated        merge (merged)        merged        merging.merge
received         merge_edition         merged        recoding (kind edition: re-attribution, no
                 (merged)                            staging or validation)
merged           supersede             superseded    merging.merge, through supersede_earlier
                 (superseded)                        (include/sql/round_supersede.sql)
===============  ====================  ============  ===================================================

``rejected`` and ``superseded`` are final; ``merged`` is final except for
supersession (the database holds to that too: ``audit.guard_submission``,
migration 003, refuses any change to a final submission). Other events that change no state: ``archived`` (intake.register);
``restaged`` (staging.restage_if_lost: staged rows lost in a database crash, staged again from the archive).
Which round a file counts for is the calendar's rule (``dtks.rounds.assign_round``);
the submission keeps it through :func:`record_assignment`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from dtks.rounds import Assignment

from dtks.reasons import SubmissionRejected
from dtks.validation import FILE_SUITE_FILE, load_suite_spec, record_suite_definition
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

STATES = ("received", "staged", "validated", "merged", "rejected", "superseded")
UNFINISHED = ("received", "staged", "validated")  # a later run carries these on
ANY_KIND = ("district", "baseline", "edition")


@dataclass(frozen=True)
class Transition:
    source: str
    move: str
    target: str
    kinds: tuple[str, ...] = ANY_KIND


TRANSITIONS = (
    Transition("received", "reject", "rejected"),
    Transition("received", "stage", "staged"),
    Transition("staged", "reject", "rejected"),
    Transition("staged", "validate", "validated"),
    Transition("staged", "trust_baseline", "validated", ("baseline",)),
    Transition("validated", "merge", "merged"),
    Transition("received", "merge_edition", "merged", ("edition",)),
    Transition("merged", "supersede", "superseded", ("district",)),
)

# What each move writes besides the status (fixed SQL; values are bound parameters).
_SETS = {
    "reject": "reject_reason = :reject_reason, reject_detail = :reject_detail",
    "stage": "rows_in = :rows_in",
    "validate": (
        "rows_quarantined = :rows_quarantined, rows_warned = :rows_warned,"
        " suite_name = :suite_name, suite_version = :suite_version"
    ),
    "trust_baseline": "rows_quarantined = 0, rows_warned = 0",
    "merge": "rows_accepted = :rows_accepted, merged_at = now()",
    "merge_edition": "rows_accepted = :rows_accepted, merged_at = now()",
}


class IllegalTransition(RuntimeError):
    """A move the lifecycle does not allow from the submission's state (a bug in the caller, not in the file)."""


def status(conn: sa.Connection, submission_id: int, lock: bool = False) -> str:
    """The submission's state; ``lock`` holds its row until the transaction ends (one step at a time)."""
    state: str = conn.execute(
        sa.text("SELECT status FROM audit.submission WHERE submission_id = :sid" + (" FOR UPDATE" if lock else "")),  # noqa: S608
        {"sid": submission_id},
    ).scalar_one()
    return state


def record_event(
    conn: sa.Connection, submission_id: int, event: str, run_id: str, detail: dict[str, Any] | None = None
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO audit.submission_event (submission_id, event, run_id, detail)"
            " VALUES (:sid, :event, :run, CAST(:detail AS jsonb))"
        ),
        {"sid": submission_id, "event": event, "run": run_id, "detail": json.dumps(detail or {})},
    )


def _move(conn: sa.Connection, submission_id: int, move: str, **values: object) -> None:
    allowed = [t for t in TRANSITIONS if t.move == move]
    if not allowed:
        raise ValueError(f"unknown lifecycle move {move!r}")
    target = allowed[0].target
    sources = sorted({t.source for t in allowed})
    kinds = sorted({k for t in allowed for k in t.kinds})
    # _SETS: this module's own fixed assignments; every value is bound
    moved = conn.execute(
        sa.text(
            f"UPDATE audit.submission SET status = :target, {_SETS[move]}"  # noqa: S608
            " WHERE submission_id = :sid AND status = ANY(:sources) AND kind = ANY(:kinds)"
            " RETURNING submission_id"
        ),
        {"sid": submission_id, "target": target, "sources": sources, "kinds": kinds, **values},
    ).first()
    if moved is None:
        now = conn.execute(
            sa.text("SELECT status, kind FROM audit.submission WHERE submission_id = :sid"), {"sid": submission_id}
        ).first()
        if now is None:
            raise IllegalTransition(f"submission {submission_id} does not exist: cannot {move}")
        raise IllegalTransition(
            f"submission {submission_id} ({now.kind}) is {now.status}: cannot {move} to {target}"
            f" (allowed from {', '.join(sources)}; kinds {', '.join(kinds)})"
        )


def record_assignment(conn: sa.Connection, submission_id: int, assignment: Assignment) -> None:
    """Keep the folder a file landed in and the rule that gave it its round (``dtks.rounds.Assignment``)."""
    conn.execute(
        sa.text("UPDATE audit.submission SET landed_round_id = :landed, round_rule = :rule WHERE submission_id = :sid"),
        {"sid": submission_id, "landed": assignment.landed_round_id, "rule": assignment.rule},
    )


def reject(conn: sa.Connection, submission_id: int, why: SubmissionRejected, run_id: str) -> None:
    """Refuse the whole file with its reason; keep which NIK/KK it carried, drop its staged rows."""
    _move(conn, submission_id, "reject", reject_reason=why.code, reject_detail=f"{why.message_id} / {why.message_en}")
    conn.execute(sa.text(read_sql("lifecycle_keep_rejected_rows.sql")), {"sid": submission_id})
    conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
    record_event(
        conn,
        submission_id,
        "rejected",
        run_id,
        {"reason": why.code, "message_id": why.message_id, "message_en": why.message_en},
    )
    log.info("submission %s rejected: %s", submission_id, why.code)


def reject_unreadable(conn: sa.Connection, submission_id: int, why: SubmissionRejected, run_id: str) -> None:
    """A file the parser refused: recorded under the critical suite (it has no rows to check), then rejected."""
    spec = load_suite_spec(FILE_SUITE_FILE)
    record_suite_definition(conn, spec)
    conn.execute(
        sa.text(read_sql("lifecycle/unreadable_file_result.sql")),
        {"sid": submission_id, "suite": spec.name, "version": spec.version, "code": why.code, "run": run_id},
    )
    reject(conn, submission_id, why, run_id)


def mark_staged(conn: sa.Connection, submission_id: int, rows_in: int, run_id: str, detail: dict[str, Any]) -> None:
    _move(conn, submission_id, "stage", rows_in=rows_in)
    record_event(conn, submission_id, "staged", run_id, {"rows": rows_in, **detail})


def mark_validated(
    conn: sa.Connection,
    submission_id: int,
    counts: dict[str, int],
    suite_name: str,
    suite_version: str,
    run_id: str,
    detail: dict[str, Any],
) -> None:
    _move(
        conn,
        submission_id,
        "validate",
        rows_quarantined=counts["rows_quarantined"],
        rows_warned=counts["rows_warned"],
        suite_name=suite_name,
        suite_version=suite_version,
    )
    record_event(conn, submission_id, "validated", run_id, detail)


def trust_baseline(conn: sa.Connection, submission_id: int) -> None:
    """The baseline is the registry as it stood: merged as staged, without the suites (and without an event)."""
    _move(conn, submission_id, "trust_baseline")


def mark_merged(
    conn: sa.Connection, submission_id: int, rows_accepted: int, run_id: str, detail: dict[str, Any]
) -> None:
    _move(conn, submission_id, "merge", rows_accepted=rows_accepted)
    record_event(conn, submission_id, "merged", run_id, detail)


def mark_edition_merged(
    conn: sa.Connection, submission_id: int, rows_accepted: int, run_id: str, detail: dict[str, Any]
) -> None:
    """A reference edition's re-attribution, applied in one statement (never staged nor validated)."""
    _move(conn, submission_id, "merge_edition", rows_accepted=rows_accepted)
    record_event(conn, submission_id, "merged", run_id, detail)


def supersede_earlier(conn: sa.Connection, submission_id: int, run_id: str) -> list[int]:
    """After a merge: the district's latest accepted submission of the round stands, earlier ones are superseded.

    Runs inside the merge's transaction (under the district's merge lock).
    "Latest" is by arrival, so merging two files out of order still leaves the
    later-received one standing. Superseded submissions stay in the warehouse
    (their rows in history, their events in audit); returns their ids. Only
    merged district submissions are moved (the statement's own conditions).
    """
    return list(
        conn.execute(sa.text(read_sql("round_supersede.sql")), {"sid": submission_id, "run_id": run_id}).scalars()
    )
