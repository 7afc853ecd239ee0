"""What a new region-code edition changes beyond ``ref.*``: the registry's addresses and the rounds' expected sets.

Called by dtks.reference.load_reference inside the load's transaction, when
the edition retires codes with a successor (a split district, re-coded
villages). Persons and households living in a re-coded village get a new
version at the edition's effective date (00:00 WIB), under a submission of
kind 'edition' whose lineage is the edition load; their verification dates
stay theirs. A district split from another one joins the expected set of
every open round that opens on or after its creation date and expects its
parent; rounds that opened earlier keep their snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from dtks import lifecycle
from dtks.warehouse import read_sql

if TYPE_CHECKING:
    from dtks.reference import Edition, EditionDiff


@dataclass(frozen=True)
class Recoded:
    persons: int = 0
    households: int = 0
    submission_id: int | None = None
    rounds_extended: tuple[str, ...] = ()


def effective_at(effective_on: date) -> datetime:
    """The instant an edition takes effect: the start of its effective date, Asia/Jakarta."""
    from dtks.rounds import JAKARTA

    return datetime.combine(effective_on, time(0, 0), tzinfo=JAKARTA)


def apply_edition(conn: sa.Connection, edition: Edition, diff: EditionDiff) -> Recoded:
    """Re-attribute the registry and extend open rounds for ``edition`` (load_successor is filled)."""
    from dtks.reference import EditionRefused

    at = effective_at(edition.effective_on)
    run_id = f"reference-load:{edition.name}"
    # the latest thing that happened to them: a version, or a confirmation (an event without a version,
    # which moved their coverage state at its own time)
    affected = conn.execute(sa.text(read_sql("recoding/persons_affected.sql"))).one()
    later_household = conn.execute(
        sa.text(
            "SELECT max(h.valid_from) FROM registry.household h JOIN load_successor s ON s.code = h.kode_desa::text"
        )
    ).scalar()
    latest = max((t for t in (affected.latest, later_household) if t is not None), default=None)
    if latest is not None and latest >= at:
        raise EditionRefused(
            f"{edition.name} takes effect {edition.effective_on}, but records in the villages it re-codes were "
            f"received later (up to {latest.astimezone(at.tzinfo):%Y-%m-%d %H:%M} WIB): history cannot be rewritten "
            "behind them. Give the edition an effective date after them (edition.json effective_on)"
        )
    if affected.persons:
        closed = (
            conn.execute(
                sa.text(
                    "SELECT round_id FROM audit.round_calendar WHERE status = 'closed' AND close_at > :at ORDER BY opens_on"
                ),
                {"at": at},
            )
            .scalars()
            .all()
        )
        if closed:
            raise EditionRefused(
                f"{edition.name} takes effect {edition.effective_on}, inside round(s) {', '.join(closed)}, which "
                "are already closed: their published figures would change when re-run. Give the edition an "
                "effective date after their close, or reopen them first (`dtks round reopen`)"
            )
    sid = None
    persons = households = 0
    if affected.persons:
        sid = _lineage_submission(conn, edition, at, run_id)
        counts = conn.execute(sa.text(read_sql("recode_registry.sql")), {"sid": sid, "at": at, "run_id": run_id}).one()
        persons, households = int(counts.persons), int(counts.households)
        lifecycle.mark_edition_merged(
            conn, sid, persons, run_id, {"persons_recoded": persons, "households_recoded": households}
        )
    rounds_extended = ()
    if diff.splits:
        rounds_extended = tuple(
            sorted(
                set(
                    conn.execute(
                        sa.text(read_sql("recoding/extend_open_rounds.sql")),
                        {"new": list(diff.splits), "on": edition.effective_on},
                    ).scalars()
                )
            )
        )
    return Recoded(persons, households, sid, rounds_extended)


def _lineage_submission(conn: sa.Connection, edition: Edition, at: datetime, run_id: str) -> int:
    """The submission every re-attributed version points at: the edition's successors.csv, as loaded."""
    path = edition.folder / "successors.csv"
    data = path.read_bytes()
    moves = conn.execute(sa.text("SELECT count(*) FROM load_successor")).scalar_one()
    sid: int = conn.execute(
        sa.text(read_sql("recoding/register_edition_submission.sql")),
        {
            "name": f"{edition.name}/successors.csv",
            "path": str(path),
            # the file's hash, salted with the edition and its date: the same successors list in two
            # editions is two loads
            "sha": hashlib.sha256(data + f"\n{edition.name}|{edition.effective_on}".encode()).hexdigest(),
            "size": len(data),
            "at": at,
            "run": run_id,
            "rows": moves,
            "manifest": json.dumps({"edition": edition.name, "effective_on": edition.effective_on.isoformat()}),
        },
    ).scalar_one()
    lifecycle.record_event(conn, sid, "received", run_id)
    return sid
