"""Merging: validated submissions into the registry's history, one district at a time; the baseline load.

``merge`` takes the district's lock and merges its earlier validated files
first (arrival order); ``_merge_one`` runs ``merge_submission.sql`` and the
resubmission policy in one transaction; ``load_baseline`` imports the
registry as it stood before the first round through the same paths.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import lifecycle
from dtks.faults import failpoint
from dtks.intake import register
from dtks.landed_files import LandedFile
from dtks.staging import restage_if_lost, stage
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)


def merge(eng: Engine, submission_id: int, run_id: str) -> dict[str, Any]:
    """Merge one validated submission in one transaction (all or nothing).

    Files of one district are merged one at a time (a session advisory lock
    per district) and in arrival order: an earlier validated file of the same
    district is merged first, so concurrent or out-of-order tasks leave the
    same history as processing the files one after another.
    """
    with eng.connect() as conn:
        district = conn.execute(
            sa.text("SELECT coalesce(kabkota_code, 'none') FROM audit.submission WHERE submission_id = :sid"),
            {"sid": submission_id},
        ).scalar_one()
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext('dtks-merge-' || :d))"), {"d": district})
        conn.commit()
        try:
            earlier = (
                conn.execute(
                    sa.text(read_sql("merging/earlier_validated_submissions.sql")),
                    {"sid": submission_id},
                )
                .scalars()
                .all()
            )
            conn.commit()
            for sid in earlier:
                _merge_one(conn, sid, run_id)
            return _merge_one(conn, submission_id, run_id)
        finally:
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('dtks-merge-' || :d))"), {"d": district})
            conn.commit()


def _merge_one(conn: sa.Connection, submission_id: int, run_id: str) -> dict[str, Any]:
    with conn.begin():
        status = lifecycle.status(conn, submission_id, lock=True)
        if status != "validated":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        restage_if_lost(conn, submission_id, run_id)  # (staging is unlogged: a crash empties it)
        events: dict[str, int] = dict(
            conn.execute(sa.text(read_sql("merge_submission.sql")), {"sid": submission_id, "run_id": run_id}).all()
        )
        accepted = sum(events.values())
        lifecycle.mark_merged(conn, submission_id, accepted, run_id, {"rows_accepted": accepted, "events": events})
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        # resubmission policy: the district's latest accepted file of the round stands
        superseded = lifecycle.supersede_earlier(conn, submission_id, run_id)
        failpoint("merge.before_commit")
    failpoint("merge.after_commit")
    log.info("submission %s merged: %s", submission_id, events)
    return {
        "submission_id": submission_id,
        "status": "merged",
        "rows_accepted": accepted,
        "events": events,
        **({"superseded": superseded} if superseded else {}),
    }


# ----------------------------------------------------------------- baseline
def load_baseline(eng: Engine, path: Path, run_id: str, received_at: datetime) -> dict[str, Any]:
    """Import the existing registry once, through the same stage and merge path.

    The baseline is the registry as it stood before the first round: it is
    recorded as a submission of kind 'baseline' (archived, hashed) and merged
    without district checks; re-loading the same file is a no-op. The
    operator's file is read, never changed or removed: the archive holds the copy.
    """
    ref = register(eng, LandedFile(path, "", None), run_id, kind="baseline", received_at=received_at, keep_source=True)
    if ref is None:
        return {"status": "already loaded"}
    staged = stage(eng, ref.submission_id, run_id)
    with eng.begin() as conn:
        if lifecycle.status(conn, ref.submission_id, lock=True) == "staged":  # (not when stage rejected the file)
            lifecycle.trust_baseline(conn, ref.submission_id)
    with eng.connect() as conn:
        # The baseline skips validation, whose ANALYZE would otherwise give the merge
        # the staged rows' statistics; without them it plans for ~1 k rows, not millions.
        conn.execute(sa.text("ANALYZE staging.submission_row, staging.normalised_row"))
        conn.commit()
    merged = merge(eng, ref.submission_id, run_id)
    with eng.connect() as conn:
        # a bulk load: the next merges plan with statistics of the registry as it now is
        conn.execute(
            sa.text(
                "ANALYZE registry.individual_current, registry.individual_verification,"
                " registry.household, registry.individual_version, registry.household_version"
            )
        )
        conn.commit()
    return {"submission_id": ref.submission_id, "rows_in": staged.get("rows_in"), **merged}
