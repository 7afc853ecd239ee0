"""The life of a submission: register (+archive), stage, validate, merge.

Each step is a plain function that the ``dtks_ingest`` DAG's tasks call and
tests call directly. Each is idempotent: it looks at the submission's status
and does nothing if its work is already done, so a retried task or a re-run
DAG changes nothing the second time. Every status change goes through
``dtks.lifecycle`` (the table of states and moves). Nothing in this module logs a NIK or a
name: log lines carry submission ids, district codes and counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import lifecycle, value_mapping
from dtks.config import settings
from dtks.faults import failpoint
from dtks.landed_files import (
    HASH_CHUNK,
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
    sha256_of,
    unlink_if_same,
)
from dtks.parsing import BulkCopyPlan, bulk_copy_plan, limits, open_submission
from dtks.reasons import SubmissionRejected
from dtks.schema import STAGED_COLUMNS
from dtks.validation import (
    FILE_SUITE_FILE,
    ROW_SUITE_FILE,
    load_suite_spec,
    record_file_checks,
    record_suite_definition,
    record_validation,
    run_file_suite,
    run_row_suite,
)
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

_COPY_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class SubmissionRef:
    """What XCom carries between tasks: ids and names, never data."""

    submission_id: int
    kabkota_code: str | None
    round_id: str | None
    file_name: str

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------- register
def _record_duplicate(conn: sa.Connection, landed: LandedFile, duplicate_of: int, sha: str, size: int,
                      received_at: datetime, run_id: str) -> None:
    """The same content landing again: recorded (never applied twice), pointing at the original."""
    conn.execute(
        sa.text("INSERT INTO audit.duplicate_upload (duplicate_of, round_folder, kabkota_folder, file_name,"
                " landing_path, sha256, size_bytes, received_at, run_id)"
                " VALUES (:of, :round, :district, :name, :landing, :sha, :size, :received, :run)"
                " ON CONFLICT (sha256, landing_path, received_at) DO NOTHING"),
        {"of": duplicate_of, "round": landed.round_id[:200] or None,
         "district": (landed.kabkota_code or "")[:200] or None, "name": printable_name(landed.path.name)[:500],
         "landing": printable_name(str(landed.path))[:2000], "sha": sha, "size": size, "received": received_at,
         "run": run_id},
    )


UNROUTED_ARCHIVE = "_unrouted"  # archive folder of files that landed outside <round>/<kabkota>/
# Refused at registration for where or when they landed, never read: the same bytes landing again
# (in the right folder, or after the round was created or moved) are a new submission, not a
# duplicate. Same list as the partial unique index of migration 015.
REFUSED_BEFORE_READING = ("file_misplaced", "round_unknown", "round_closed", "district_unknown")


def register(eng: Engine, landed: LandedFile, run_id: str, archive_dir: Path | None = None,
             kind: str = "district", received_at: datetime | None = None,
             keep_source: bool = False) -> SubmissionRef | None:
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
        archive_folder = archive_dir / safe_file_name(landed.round_id or kind) / safe_file_name(
            landed.kabkota_code or kind)
    archive_path = archive_folder / f"{sha[:16]}__{safe_file_name(landed.path.name)}"
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(captured.intake, archive_path)  # archived (content-addressed name) before anything is recorded
    fsync_dir(archive_path.parent)
    failpoint("register.after_archive_copy")
    with eng.begin() as conn:
        # Two runs registering the same content at once: the second waits, then sees a duplicate.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('dtks-register-' || :s))"), {"s": sha})
        existing = conn.execute(sa.text(
            "SELECT submission_id FROM audit.submission WHERE sha256 = :s"
            " AND (reject_reason IS NULL OR reject_reason <> ALL(:refused))"),
            {"s": sha, "refused": list(REFUSED_BEFORE_READING)}).first()
        if existing is not None:
            log.info("file with sha256 %s… already registered as submission %s: duplicate upload recorded",
                     sha[:12], existing[0])
            _record_duplicate(conn, landed, existing[0], sha, size, received_at, run_id)
            sub_id = None
        else:
            from dtks import rounds  # the round a file counts for: by arrival time (dtks.rounds.assign_round)
            assignment = (rounds.assign_round(conn, landed.round_id, received_at)
                          if kind == "district" and not misplaced else None)
            round_known = assignment is not None and assignment.round_id is not None
            district_known = landed.kabkota_code is not None and conn.execute(
                sa.text("SELECT 1 FROM ref.kabkota WHERE code = :k"), {"k": landed.kabkota_code}).first()
            sub_id = conn.execute(
                sa.text(
                    "INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, archive_path,"
                    " sha256, size_bytes, received_at, registered_by_run, manifest)"
                    " VALUES (:kind, :round, :district, :name, :landing, :archive, :sha, :size, :received, :run,"
                    " CAST(:manifest AS jsonb)) RETURNING submission_id"
                ),
                {"kind": kind, "round": assignment.round_id if round_known else None,
                 "district": landed.kabkota_code if district_known else None,
                 "name": printable_name(landed.path.name)[:500], "landing": printable_name(str(landed.path))[:2000],
                 "archive": str(archive_path),
                 "sha": sha, "size": size, "received": received_at, "run": run_id,
                 "manifest": json.dumps(manifest) if manifest is not None else None},
            ).scalar_one()
            if assignment is not None:
                lifecycle.record_assignment(conn, sub_id, assignment)
            lifecycle.record_event(conn, sub_id, "received", run_id, {"size_bytes": size, "sha256": sha, **arrival,
                                                                      **(assignment.detail() if assignment else {})})
            lifecycle.record_event(conn, sub_id, "archived", run_id, {"archive_path": str(archive_path)})
            if misplaced:
                lifecycle.reject(conn, sub_id, SubmissionRejected("file_misplaced", found=misplaced_location(landed)),
                                 run_id)
            elif kind == "district":
                if not round_known:
                    lifecycle.reject(conn, sub_id, SubmissionRejected(assignment.reject_code,
                                                                      round_id=safe_file_name(landed.round_id)), run_id)
                elif not district_known:
                    lifecycle.reject(conn, sub_id, SubmissionRejected(
                        "district_unknown", district=safe_file_name(landed.kabkota_code or "")), run_id)
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
    return SubmissionRef(sub_id, landed.kabkota_code if not misplaced else None,
                         assignment.round_id if round_known else (landed.round_id or None),
                         printable_name(landed.path.name))


# ----------------------------------------------------------------- stage
def _csv_chunks(records, submission_id: int):
    buf = io.StringIO()
    writer = csv.writer(buf)
    n = 0
    for file_row, source_line, values in records:
        writer.writerow((submission_id, file_row, source_line, *values))
        n += 1
        if n % _COPY_CHUNK_ROWS == 0:
            yield buf, n
            buf = io.StringIO()
            writer = csv.writer(buf)
    yield buf, n


def _copy_plain_file(conn: sa.Connection, submission_id: int, path: Path, plan: BulkCopyPlan) -> int | None:
    """COPY a plain CSV into staging without Python touching its rows; rows staged, or None.

    The file goes as it is into a temporary table of its own columns, then
    one INSERT maps the columns, trims values (``staging.strip_text``: what
    the parser's ``str.strip`` does; an empty value is NULL, as the parser's
    rows arrive through COPY too), drops blank lines and numbers rows and
    source lines as the parser does. None: COPY refused the file (a row with
    too few or too many fields, a mixed line end, a byte the encoding cannot
    hold …); everything is undone and the parser reads it and names the reason.
    """
    raw = [f"c{i}" for i in range(plan.columns)]
    # (a value starting and ending with a visible ASCII character needs no trimming: most of them)
    values = ["NULL" if (p := plan.positions.get(c)) is None else
              f"CASE WHEN ascii(c{p}) BETWEEN 33 AND 126 AND ascii(right(c{p}, 1)) BETWEEN 33 AND 126 THEN c{p}"
              f" ELSE nullif(staging.strip_text(c{p}), '') END" for c in STAGED_COLUMNS]
    # the parser skips lines without any value (most lines fail this at their first column)
    blank = "(" + " AND ".join(f"coalesce(staging.strip_text({c}), '') = ''" for c in raw) + ")"
    attempt = conn.begin_nested()
    try:
        conn.execute(sa.text(f"CREATE TEMP TABLE file_row_as_sent (line_no integer GENERATED ALWAYS AS IDENTITY,"
                             f" {', '.join(c + ' text' for c in raw)}) ON COMMIT DROP"))
        delimiter = plan.delimiter.replace("\t", "\\t")
        with conn.connection.cursor() as cur, path.open("rb") as f:
            f.seek(plan.data_offset)
            cur.copy_expert(f"COPY pg_temp.file_row_as_sent ({', '.join(raw)}) FROM STDIN WITH (FORMAT csv,"
                            f" DELIMITER E'{delimiter}', ENCODING '{plan.copy_encoding}')", f, size=HASH_CHUNK)
        blanks = conn.execute(sa.text(f"SELECT count(*) FROM pg_temp.file_row_as_sent WHERE {blank}")).scalar_one()
        # numbered like the parser: data rows from 1 without blank lines; source_line counts every physical line
        file_row = "line_no" if blanks == 0 else "row_number() OVER (ORDER BY line_no)"
        rows = conn.execute(sa.text(
            f"INSERT INTO staging.submission_row (submission_id, file_row, source_line, {', '.join(STAGED_COLUMNS)})"
            f" SELECT :sid, {file_row}, :header_lines + line_no, {', '.join(values)}"
            f" FROM pg_temp.file_row_as_sent" + (f" WHERE NOT {blank}" if blanks else "")),
            {"sid": submission_id, "header_lines": plan.header_lines}).rowcount
        conn.execute(sa.text("DROP TABLE pg_temp.file_row_as_sent"))
    except (psycopg2.Error, sa.exc.DBAPIError) as exc:
        # Whatever the database refused (a malformed row, too many columns for a table, a row
        # too big for a page …), the parser reads the file and names the reason. If the
        # connection itself is gone, the rollback raises and the task is retried.
        attempt.rollback()
        code = getattr(getattr(exc, "orig", exc), "pgcode", None)
        log.info("submission %s: the bulk path refused the file (%s); read by the parser instead",
                 submission_id, code)
        return None
    attempt.commit()
    return rows


def stage(eng: Engine, submission_id: int, run_id: str) -> dict:
    """Parse the archived file and COPY its rows into staging (streamed, chunked).

    Whatever the file holds, the outcome is 'staged' or 'rejected' with a
    reason (recorded under the critical suite): the parser turns every defect
    of the content into a reason, and the size and row limits
    (``DTKS_MAX_FILE_BYTES``, ``DTKS_MAX_ROWS``) are checked before and while
    reading. Only faults of the machine (database, disk) fail the task, to be
    retried.
    """
    lim = limits()
    with eng.begin() as conn:
        status = lifecycle.status(conn, submission_id, lock=True)
        if status != "received":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        path, expected_sha, size = conn.execute(
            sa.text("SELECT archive_path, sha256, size_bytes FROM audit.submission WHERE submission_id = :sid"),
            {"sid": submission_id},
        ).one()
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        columns = ", ".join(("submission_id", "file_row", "source_line", *STAGED_COLUMNS))
        rows_in = 0
        try:
            if size > lim.max_file_bytes:
                raise SubmissionRejected("file_too_large", size=size, limit=lim.max_file_bytes)
            if sha256_of(Path(path))[0] != expected_sha:
                # The archive no longer holds what was received: never stage it, say so.
                log.error("archived file of submission %s changed since registration (sha256 mismatch)", submission_id)
                raise SubmissionRejected("archive_integrity")
            plan = bulk_copy_plan(Path(path), lim)
            copied = _copy_plain_file(conn, submission_id, Path(path), plan) if plan else None
            if copied is not None:
                rows_in, read_as = copied, {"format": "csv", "encoding": plan.encoding, "path": "bulk"}
            else:
                parsed = open_submission(Path(path), lim)
                with conn.connection.cursor() as cur:
                    for buf, rows_in in _csv_chunks(parsed.records(), submission_id):
                        buf.seek(0)
                        cur.copy_expert(f"COPY staging.submission_row ({columns}) FROM STDIN WITH (FORMAT csv)", buf)
                read_as = {"format": parsed.format, "encoding": parsed.encoding, "path": "parser"}
            if rows_in == 0:
                raise SubmissionRejected("file_empty")
            if rows_in > lim.max_rows:
                raise SubmissionRejected("file_too_many_rows", limit=lim.max_rows)
        except SubmissionRejected as why:
            lifecycle.reject_unreadable(conn, submission_id, why, run_id)
            return {"submission_id": submission_id, "status": "rejected", "reason": why.code}
        lifecycle.mark_staged(conn, submission_id, rows_in, run_id, read_as)
        failpoint("stage.before_commit")
    return {"submission_id": submission_id, "status": "staged", "rows_in": rows_in}


# ----------------------------------------------------------------- validate
def validate(eng: Engine, submission_ids: list[int], run_id: str) -> dict[int, dict]:
    """The critical suite over the staged submissions, then the row suite over those that pass.

    One GX run per suite for the whole batch. A submission failing a critical
    rule is rejected whole (every failed rule recorded); the others get their
    rows' errors quarantined and warnings flagged, with the suite's name and
    version stored with every result.
    """
    row_spec = load_suite_spec(ROW_SUITE_FILE)
    file_spec = load_suite_spec(FILE_SUITE_FILE)
    outcome: dict[int, dict] = {}
    with eng.connect() as conn:
        staged = [int(sid) for sid in conn.execute(
            sa.text("SELECT submission_id FROM audit.submission WHERE submission_id = ANY(:ids) AND status = 'staged'"
                    " ORDER BY submission_id"), {"ids": [int(s) for s in submission_ids]}).scalars()]
    if not staged:
        return outcome
    with eng.begin() as conn:
        record_suite_definition(conn, file_spec)
        record_suite_definition(conn, row_spec)
        # the words the checks read as codes: the declared file as it is now
        mapping_version = value_mapping.sync(conn)
    with eng.connect() as conn:
        # Fresh statistics for the rows just staged (autovacuum may not have seen them yet):
        # with stale ones the planner chose plans minutes slower for a national batch.
        conn.execute(sa.text("ANALYZE staging.submission_row"))
        conn.commit()
    critical = run_file_suite(eng, staged, file_spec)
    ready: list[int] = []
    for sid in staged:
        with eng.begin() as conn:
            if lifecycle.status(conn, sid, lock=True) != "staged":
                continue
            failed = critical.get(sid, [])
            record_file_checks(conn, sid, file_spec, failed, run_id)
            if failed:
                lifecycle.reject(conn, sid, failed[0], run_id)
                outcome[sid] = {"status": "rejected", "reason": failed[0].code}
                continue
        ready.append(sid)
    position = 0
    for batch_ids in _validation_batches(eng, ready):
        batch = run_row_suite(eng, batch_ids, run_id, row_spec)
        failpoint("validate.after_gx")
        for sid in batch_ids:
            position += 1
            if position == 2:
                failpoint("validate.between_submissions")
            with eng.begin() as conn:
                if lifecycle.status(conn, sid, lock=True) != "staged":
                    continue
                counts = record_validation(conn, sid, batch, run_id)
                lifecycle.mark_validated(conn, sid, counts, row_spec.name, row_spec.version, run_id,
                                         {"suite": row_spec.name, "version": row_spec.version,
                                          "critical_suite": file_spec.name, "critical_version": file_spec.version,
                                          "value_mapping": mapping_version, **counts})
                outcome[sid] = {"status": "validated", **counts}
    return outcome


def validation_batch_rows() -> int:
    """Staged rows checked together in one run of the row suite (DTKS_VALIDATION_BATCH_ROWS)."""
    return settings().validation_batch_rows


def _validation_batches(eng: Engine, submission_ids: list[int]) -> list[list[int]]:
    """Whole submissions, in order, grouped up to the batch size (a larger file is a batch of its own).

    Every rule looks within one file or at the registry, so how files are
    grouped never changes a result; bounded batches keep the check table, its
    sorts and GX's lists of failing rows the same size whatever the round's.
    """
    limit = validation_batch_rows()
    with eng.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT submission_id, coalesce(rows_in, 0) FROM audit.submission"
                                         " WHERE submission_id = ANY(:ids)"), {"ids": submission_ids}).all())
    batches: list[list[int]] = []
    size = 0
    for sid in submission_ids:
        if not batches or size + rows.get(sid, 0) > limit:
            batches.append([])
            size = 0
        batches[-1].append(sid)
        size += rows.get(sid, 0)
    return batches


# ----------------------------------------------------------------- merge
def merge(eng: Engine, submission_id: int, run_id: str) -> dict:
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
            earlier = conn.execute(sa.text(
                "SELECT e.submission_id FROM audit.submission e, audit.submission s"
                " WHERE s.submission_id = :sid AND e.status = 'validated' AND e.kind = s.kind"
                " AND e.kabkota_code IS NOT DISTINCT FROM s.kabkota_code"
                " AND (e.received_at, e.submission_id) < (s.received_at, s.submission_id)"
                " ORDER BY e.received_at, e.submission_id"), {"sid": submission_id}).scalars().all()
            conn.commit()
            for sid in earlier:
                _merge_one(conn, sid, run_id)
            return _merge_one(conn, submission_id, run_id)
        finally:
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('dtks-merge-' || :d))"), {"d": district})
            conn.commit()


def _merge_one(conn: sa.Connection, submission_id: int, run_id: str) -> dict:
    with conn.begin():
        status = lifecycle.status(conn, submission_id, lock=True)
        if status != "validated":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        events = dict(conn.execute(sa.text(read_sql("merge_submission.sql")),
                                   {"sid": submission_id, "run_id": run_id}).all())
        accepted = sum(events.values())
        lifecycle.mark_merged(conn, submission_id, accepted, run_id, {"rows_accepted": accepted, "events": events})
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        # resubmission policy: the district's latest accepted file of the round stands
        superseded = lifecycle.supersede_earlier(conn, submission_id, run_id)
        failpoint("merge.before_commit")
    failpoint("merge.after_commit")
    log.info("submission %s merged: %s", submission_id, events)
    return {"submission_id": submission_id, "status": "merged", "rows_accepted": accepted, "events": events,
            **({"superseded": superseded} if superseded else {})}


# ----------------------------------------------------------------- baseline
def load_baseline(eng: Engine, path: Path, run_id: str, received_at: datetime) -> dict:
    """Import the existing registry once, through the same stage and merge path.

    The baseline is the registry as it stood before the first round: it is
    recorded as a submission of kind 'baseline' (archived, hashed) and merged
    without district checks; re-loading the same file is a no-op. The
    operator's file is read, never changed or removed: the archive holds the copy.
    """
    ref = register(eng, LandedFile(path, "", None), run_id, kind="baseline", received_at=received_at,
                   keep_source=True)
    if ref is None:
        return {"status": "already loaded"}
    staged = stage(eng, ref.submission_id, run_id)
    with eng.begin() as conn:
        if lifecycle.status(conn, ref.submission_id, lock=True) == "staged":  # (not when stage rejected the file)
            lifecycle.trust_baseline(conn, ref.submission_id)
    merged = merge(eng, ref.submission_id, run_id)
    with eng.connect() as conn:
        # a bulk load: the next merges plan with statistics of the registry as it now is
        conn.execute(sa.text("ANALYZE registry.individual, registry.household, registry.individual_version,"
                             " registry.household_version"))
        conn.commit()
    return {"submission_id": ref.submission_id, "rows_in": staged.get("rows_in"), **merged}


# ----------------------------------------------------------------- DAG glue
def register_landing(run_id: str, landing_dir: str | Path | None = None,
                     settle_seconds: float | None = None) -> list[dict]:
    """Register every landed file, then list every submission still to finish.

    Returning unfinished submissions too (not only this run's) is what makes a
    failed run recover: the next run stages, validates and merges them.
    """
    from dtks.warehouse import engine

    eng = engine()
    conf = settings()
    landing = Path(landing_dir) if landing_dir else conf.landing_dir
    settle = conf.landing_settle_seconds if settle_seconds is None else settle_seconds
    problems: dict[str, LandingProblem] = {}
    for landed in discover(landing, settle):
        # One file that cannot be read must not stop the others (nor every later run).
        try:
            register(eng, landed, run_id, conf.archive_dir)
        except LandingProblem as why:
            log.warning("a landed file could not be taken in (%s); it stays in landing: see `dtks landing`", why.code)
            problems[printable_name(str(landed.path))] = why
    record_landing_problems(eng, problems, run_id)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT submission_id, kabkota_code, round_id, file_name FROM audit.submission"
            " WHERE kind = 'district' AND status = ANY(:unfinished)"
            " ORDER BY received_at, submission_id"), {"unfinished": list(lifecycle.UNFINISHED)}).all()
    return [SubmissionRef(r.submission_id, r.kabkota_code, r.round_id, r.file_name).to_dict() for r in rows]


def record_landing_problems(eng: Engine, problems: dict[str, LandingProblem], run_id: str) -> None:
    """Keep this run's unreadable landed files in ``audit.landing_problem``; resolve the ones gone.

    When there are new ones and ``DTKS_ALERT_EMAIL`` is set, the operators get
    one e-mail with the count (no file names: they may hold names or NIKs).
    """
    with eng.begin() as conn:
        known = set(conn.execute(sa.text(
            "SELECT landing_path FROM audit.landing_problem WHERE resolved_at IS NULL")).scalars())
        for path, why in problems.items():
            conn.execute(sa.text(
                "INSERT INTO audit.landing_problem (landing_path, problem, detail, last_run_id)"
                " VALUES (:path, :problem, :detail, :run) ON CONFLICT (landing_path) DO UPDATE SET"
                " problem = excluded.problem, detail = excluded.detail, last_seen_at = now(),"
                " last_run_id = excluded.last_run_id, resolved_at = NULL"),
                {"path": path[:2000], "problem": why.code, "detail": why.detail, "run": run_id})
        conn.execute(sa.text("UPDATE audit.landing_problem SET resolved_at = now()"
                             " WHERE resolved_at IS NULL AND NOT (landing_path = ANY(:paths))"),
                     {"paths": [p[:2000] for p in problems]})
    new = [p for p in problems if p[:2000] not in known]
    if new:
        from dtks import notify
        recipients = notify.alert_recipients()
        if recipients:
            try:
                notify.send_alert(f"[DTKS] {len(new)} landed file(s) could not be read",
                                  f"<p>{len(new)} new file(s) in the landing folder could not be read and wait"
                                  " there. Run <code>dtks landing</code> on the pipeline host to see which and why."
                                  "</p>", recipients)
            except Exception as exc:  # alerting must never change the run's outcome
                log.warning("could not send the landing alert (%s)", type(exc).__name__)


def district_label(submission: dict) -> str:
    """How a mapped task is named in the Airflow UI: district code and submission id."""
    return f"{submission.get('kabkota_code') or 'tanpa-kode'} #{submission['submission_id']}"


def summarise(eng: Engine, submission_ids: list[int]) -> dict:
    """What a run did to its submissions, by final status (for the asset event and logs)."""
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT CASE WHEN merged_at IS NOT NULL THEN 'merged' ELSE status END AS status, count(*) AS n,"
            " coalesce(sum(rows_accepted), 0) AS accepted"
            " FROM audit.submission WHERE submission_id = ANY(:ids) GROUP BY 1"),
            {"ids": [int(i) for i in submission_ids]}).all()
    by_status = {r.status: r.n for r in rows}
    # (a file merged and then superseded by a later one in the same run counts as merged)
    return {
        "submissions_merged": by_status.get("merged", 0),
        "submissions_rejected": by_status.get("rejected", 0),
        "submissions_unfinished": sum(by_status.get(s, 0) for s in lifecycle.UNFINISHED),
        "rows_accepted": int(sum(r.accepted for r in rows if r.status == "merged")),
    }
