"""Intake: a landed file captured, archived, checked for duplicates and registered as a submission.

``register`` records one landed file (content-addressed archive copy first,
then the row in ``audit.submission``, then the landing file removed);
``register_landing`` registers a whole landing folder and lists what is
still to finish; ``record_landing_problems`` keeps the files that could not
be read. Nothing here logs a NIK or a name: log lines carry submission ids,
district codes and counts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import lifecycle
from dtks.config import settings
from dtks.faults import failpoint
from dtks.landed_files import (
    MANIFEST_MAX_BYTES,
    MANIFEST_SUFFIX,
    LandedFile,
    LandingProblem,
    archive_copy,
    capture,
    discover,
    fsync_dir,
    manifest_for,
    misplaced_location,
    open_regular,
    printable_name,
    safe_file_name,
    unlink_if_same,
)
from dtks.reasons import SubmissionRejected
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubmissionRef:
    """What XCom carries between tasks: ids and names, never data."""

    submission_id: int
    kabkota_code: str | None
    round_id: str | None
    file_name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record_duplicate(
    conn: sa.Connection, landed: LandedFile, duplicate_of: int, sha: str, size: int, received_at: datetime, run_id: str
) -> None:
    """The same content landing again: recorded (never applied twice), pointing at the original."""
    conn.execute(
        sa.text(
            "INSERT INTO audit.duplicate_upload (duplicate_of, round_folder, kabkota_folder, file_name,"
            " landing_path, sha256, size_bytes, received_at, run_id)"
            " VALUES (:of, :round, :district, :name, :landing, :sha, :size, :received, :run)"
            " ON CONFLICT (sha256, landing_path, received_at) DO NOTHING"
        ),
        {
            "of": duplicate_of,
            "round": landed.round_id[:200] or None,
            "district": (landed.kabkota_code or "")[:200] or None,
            "name": printable_name(landed.path.name)[:500],
            "landing": printable_name(str(landed.path))[:2000],
            "sha": sha,
            "size": size,
            "received": received_at,
            "run": run_id,
        },
    )


UNROUTED_ARCHIVE = "_unrouted"  # archive folder of files that landed outside <round>/<kabkota>/
# Refused at registration for where or when they landed, never read: the same bytes landing again
# (in the right folder, or after the round was created or moved) are a new submission, not a
# duplicate. Same list as the partial unique index of migration 015.
REFUSED_BEFORE_READING = ("file_misplaced", "round_unknown", "round_closed", "district_unknown")


def register(
    eng: Engine,
    landed: LandedFile,
    run_id: str,
    archive_dir: Path | None = None,
    kind: str = "district",
    received_at: datetime | None = None,
    keep_source: bool = False,
) -> SubmissionRef | None:
    """Record a landed file and move it into the archive. None: content already known.

    The archive copy is made (and fsynced, with its folder) before the landing
    file is removed, so a crash at any point leaves the file in at least one of
    the two places; and the landing file is removed only if it is still the
    file that was archived. A file that cannot be read raises
    :class:`LandingProblem` and is left where it is, with nothing in the
    archive. ``received_at`` overrides the arrival time (a baseline's date,
    given by the operator); ``keep_source`` leaves the file where it is (an
    operator's own file, e.g. ``dtks baseline load FILE``).
    """
    archive_dir = archive_dir or settings().archive_dir
    # The manifest first: if it cannot be read, nothing is copied and both wait in landing.
    try:
        manifest_path, manifest, manifest_identity = manifest_for(landed.path)
        captured = capture(landed, archive_dir)
    except FileNotFoundError:
        log.info("a landed file vanished before it was registered: skipped")
        return None
    if captured is None:
        log.info("a landed file changed while being archived (still uploading): left for a later run")
        return None
    sha, size = captured.sha256, captured.size
    if received_at is None:
        received_at = captured.received_at
        arrival = {"arrival_source": captured.arrival_source}
    else:
        arrival = {"arrival_source": "given"}
    arrival["file_mtime"] = captured.file_mtime.isoformat()
    misplaced = kind == "district" and landed.misplaced
    if misplaced:
        archive_folder = archive_dir / UNROUTED_ARCHIVE
    else:
        archive_folder = (
            archive_dir / safe_file_name(landed.round_id or kind) / safe_file_name(landed.kabkota_code or kind)
        )
    archive_path = archive_folder / f"{sha[:16]}__{safe_file_name(landed.path.name)}"
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(captured.intake, archive_path)  # archived (content-addressed name) before anything is recorded
    fsync_dir(archive_path.parent)
    failpoint("register.after_archive_copy")
    with eng.begin() as conn:
        # Two runs registering the same content at once: the second waits, then sees a duplicate.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('dtks-register-' || :s))"), {"s": sha})
        existing = conn.execute(
            sa.text(
                "SELECT submission_id FROM audit.submission WHERE sha256 = :s"
                " AND (reject_reason IS NULL OR reject_reason <> ALL(:refused))"
            ),
            {"s": sha, "refused": list(REFUSED_BEFORE_READING)},
        ).first()
        if existing is not None:
            log.info(
                "file with sha256 %s… already registered as submission %s: duplicate upload recorded",
                sha[:12],
                existing[0],
            )
            _record_duplicate(conn, landed, existing[0], sha, size, received_at, run_id)
            sub_id = None
        else:
            from dtks import rounds  # the round a file counts for: by arrival time (dtks.rounds.assign_round)

            assignment = (
                rounds.assign_round(conn, landed.round_id, received_at)
                if kind == "district" and not misplaced
                else None
            )
            assigned_round = assignment.round_id if assignment is not None else None
            district_known = (
                landed.kabkota_code is not None
                and conn.execute(
                    sa.text("SELECT 1 FROM ref.kabkota WHERE code = :k"), {"k": landed.kabkota_code}
                ).first()
            )
            sub_id = conn.execute(
                sa.text(read_sql("intake/register_submission.sql")),
                {
                    "kind": kind,
                    "round": assigned_round,
                    "district": landed.kabkota_code if district_known else None,
                    "name": printable_name(landed.path.name)[:500],
                    "landing": printable_name(str(landed.path))[:2000],
                    "archive": str(archive_path),
                    "sha": sha,
                    "size": size,
                    "received": received_at,
                    "run": run_id,
                    "manifest": json.dumps(manifest) if manifest is not None else None,
                },
            ).scalar_one()
            if assignment is not None:
                lifecycle.record_assignment(conn, sub_id, assignment)
            lifecycle.record_event(
                conn,
                sub_id,
                "received",
                run_id,
                {"size_bytes": size, "sha256": sha, **arrival, **(assignment.detail() if assignment else {})},
            )
            lifecycle.record_event(conn, sub_id, "archived", run_id, {"archive_path": str(archive_path)})
            if misplaced:
                lifecycle.reject(
                    conn, sub_id, SubmissionRejected("file_misplaced", found=misplaced_location(landed)), run_id
                )
            elif assignment is not None:  # a district file that is not misplaced
                if assignment.reject_code is not None:
                    lifecycle.reject(
                        conn,
                        sub_id,
                        SubmissionRejected(assignment.reject_code, round_id=safe_file_name(landed.round_id)),
                        run_id,
                    )
                elif not district_known:
                    lifecycle.reject(
                        conn,
                        sub_id,
                        SubmissionRejected("district_unknown", district=safe_file_name(landed.kabkota_code or "")),
                        run_id,
                    )
    failpoint("register.after_commit")
    # Leave landing only once the archive holds the file (or it was known already), and
    # only the very file archived: a re-upload under the same name meanwhile stays.
    if not keep_source:
        unlink_if_same(landed.path, captured.identity)
    if manifest_path is not None:
        if sub_id is not None:
            archive_copy(manifest_path, archive_path.with_name(archive_path.name + MANIFEST_SUFFIX))
        elif manifest is not None:  # a duplicate's manifest is kept too, by its own content hash
            with open_regular(manifest_path) as f:
                tag = hashlib.sha256(f.read(MANIFEST_MAX_BYTES + 1)).hexdigest()[:16]
            archive_copy(manifest_path, archive_path.with_name(f"{archive_path.name}.{tag}{MANIFEST_SUFFIX}"))
        if not keep_source:
            unlink_if_same(manifest_path, manifest_identity)
    if sub_id is None:
        return None
    return SubmissionRef(
        sub_id,
        landed.kabkota_code if not misplaced else None,
        assigned_round or landed.round_id or None,
        printable_name(landed.path.name),
    )


def register_landing(
    run_id: str, landing_dir: str | Path | None = None, settle_seconds: float | None = None
) -> list[dict[str, Any]]:
    """Register every landed file, then list every submission still to finish.

    Returning unfinished submissions too (not only this run's) is what makes a
    failed run recover: the next run stages, validates and merges them.
    """
    from dtks.warehouse import engine

    eng = engine()
    conf = settings()
    register_landed(
        eng,
        Path(landing_dir) if landing_dir else conf.landing_dir,
        run_id,
        conf.archive_dir,
        conf.landing_settle_seconds if settle_seconds is None else settle_seconds,
    )
    return unfinished_submissions(eng)


def register_landed(
    eng: Engine, landing: Path, run_id: str, archive_dir: Path | None = None, settle_seconds: float = 0.0
) -> list[SubmissionRef]:
    """Register every file waiting in ``landing``; the submissions registered now, in landing order.

    Files refused at registration (misplaced, round closed ...) are among them;
    content already known is not. A file that cannot be taken in is recorded
    as a landing problem and left in landing.
    """
    problems: dict[str, LandingProblem] = {}
    registered: list[SubmissionRef] = []
    for landed in discover(landing, settle_seconds):
        # One file that cannot be read must not stop the others (nor every later run).
        try:
            ref = register(eng, landed, run_id, archive_dir)
        except LandingProblem as why:
            log.warning("a landed file could not be taken in (%s); it stays in landing: see `dtks landing`", why.code)
            problems[printable_name(str(landed.path))] = why
            continue
        if ref is not None:
            registered.append(ref)
    record_landing_problems(eng, problems, run_id)
    return registered


def unfinished_submissions(eng: Engine) -> list[dict[str, Any]]:
    """Every district submission not yet finished (received, staged or validated), oldest first."""
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT submission_id, kabkota_code, round_id, file_name FROM audit.submission"
                " WHERE kind = 'district' AND status = ANY(:unfinished)"
                " ORDER BY received_at, submission_id"
            ),
            {"unfinished": list(lifecycle.UNFINISHED)},
        ).all()
    return [SubmissionRef(r.submission_id, r.kabkota_code, r.round_id, r.file_name).to_dict() for r in rows]


def record_landing_problems(eng: Engine, problems: dict[str, LandingProblem], run_id: str) -> None:
    """Keep this run's unreadable landed files in ``audit.landing_problem``; resolve the ones gone.

    When there are new ones and ``DTKS_ALERT_EMAIL`` is set, the operators get
    one e-mail with the count (no file names: they may hold names or NIKs).
    """
    with eng.begin() as conn:
        known = set(
            conn.execute(sa.text("SELECT landing_path FROM audit.landing_problem WHERE resolved_at IS NULL")).scalars()
        )
        for path, why in problems.items():
            conn.execute(
                sa.text(read_sql("intake/record_landing_problem.sql")),
                {"path": path[:2000], "problem": why.code, "detail": why.detail, "run": run_id},
            )
        conn.execute(
            sa.text(
                "UPDATE audit.landing_problem SET resolved_at = now()"
                " WHERE resolved_at IS NULL AND NOT (landing_path = ANY(:paths))"
            ),
            {"paths": [p[:2000] for p in problems]},
        )
    new = [p for p in problems if p[:2000] not in known]
    if new:
        from dtks import notify

        recipients = notify.alert_recipients()
        if recipients:
            try:
                notify.send_alert(
                    f"[DTKS] {len(new)} landed file(s) could not be read",
                    f"<p>{len(new)} new file(s) in the landing folder could not be read and wait"
                    " there. Run <code>dtks landing</code> on the pipeline host to see which and why."
                    "</p>",
                    recipients,
                )
            except Exception as exc:  # alerting must never change the run's outcome
                log.warning("could not send the landing alert (%s)", type(exc).__name__)
