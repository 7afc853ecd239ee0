"""Staging: an archived submission's rows into ``staging.submission_row``, by bulk COPY or through the parser.

A plain CSV goes straight to PostgreSQL (``_copy_plain_file``); every other
file, and any file COPY refuses, is read by ``dtks.parsing`` and streamed in
chunks. The outcome is 'staged' or 'rejected' with a reason. The statement
that writes the rows as sent also writes them typed and normalised, once
(``staging.normalised_row``: a trigger, ``include/sql/objects``). Both tables
are UNLOGGED; a submission whose staged rows a database crash emptied is
staged again from the archive when validation or the merge next reaches it
(:func:`restage_if_lost`).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import lifecycle
from dtks.csv_reading import BulkCopyPlan, bulk_copy_plan
from dtks.dbapi import driver_cursor
from dtks.faults import failpoint
from dtks.landed_files import HASH_CHUNK, sha256_of
from dtks.parsing import open_submission
from dtks.reading import limits
from dtks.reasons import SubmissionRejected
from dtks.schema import STAGED_COLUMNS

log = logging.getLogger(__name__)

_COPY_CHUNK_ROWS = 20_000


def _csv_chunks(
    records: Iterable[tuple[int, int, tuple[str | None, ...]]], submission_id: int
) -> Iterator[tuple[io.StringIO, int]]:
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
    values = [
        "NULL"
        if (p := plan.positions.get(c)) is None
        else f"CASE WHEN ascii(c{p}) BETWEEN 33 AND 126 AND ascii(right(c{p}, 1)) BETWEEN 33 AND 126 THEN c{p}"
        f" ELSE nullif(staging.strip_text(c{p}), '') END"
        for c in STAGED_COLUMNS
    ]
    # the parser skips lines without any value (most lines fail this at their first column)
    blank = "(" + " AND ".join(f"coalesce(staging.strip_text({c}), '') = ''" for c in raw) + ")"
    attempt = conn.begin_nested()
    try:
        conn.execute(
            sa.text(
                f"CREATE TEMP TABLE file_row_as_sent (line_no integer GENERATED ALWAYS AS IDENTITY,"
                f" {', '.join(c + ' text' for c in raw)}) ON COMMIT DROP"
            )
        )
        delimiter = plan.delimiter.replace("\t", "\\t")
        with driver_cursor(conn) as cur, path.open("rb") as f:
            f.seek(plan.data_offset)
            cur.copy_expert(
                f"COPY pg_temp.file_row_as_sent ({', '.join(raw)}) FROM STDIN WITH (FORMAT csv,"
                f" DELIMITER E'{delimiter}', ENCODING '{plan.copy_encoding}')",
                f,
                size=HASH_CHUNK,
            )
        # S608 here and below: the formatted parts are our column lists and expressions, and the
        # delimiter and encoding bulk_copy_plan chose from its fixed lists; every value is bound.
        blanks = conn.execute(sa.text(f"SELECT count(*) FROM pg_temp.file_row_as_sent WHERE {blank}")).scalar_one()  # noqa: S608
        # numbered like the parser: data rows from 1 without blank lines; source_line counts every physical line
        file_row = "line_no" if blanks == 0 else "row_number() OVER (ORDER BY line_no)"
        rows = conn.execute(
            sa.text(
                f"INSERT INTO staging.submission_row (submission_id, file_row, source_line, {', '.join(STAGED_COLUMNS)})"  # noqa: S608
                f" SELECT :sid, {file_row}, :header_lines + line_no, {', '.join(values)}"
                f" FROM pg_temp.file_row_as_sent" + (f" WHERE NOT {blank}" if blanks else "")
            ),
            {"sid": submission_id, "header_lines": plan.header_lines},
        ).rowcount
        conn.execute(sa.text("DROP TABLE pg_temp.file_row_as_sent"))
    except (psycopg2.Error, sa.exc.DBAPIError) as exc:
        # Whatever the database refused (a malformed row, too many columns for a table, a row
        # too big for a page …), the parser reads the file and names the reason. If the
        # connection itself is gone, the rollback raises and the task is retried.
        attempt.rollback()
        code = getattr(getattr(exc, "orig", exc), "pgcode", None)
        log.info("submission %s: the bulk path refused the file (%s); read by the parser instead", submission_id, code)
        return None
    attempt.commit()
    return rows


def _stage_rows(
    conn: sa.Connection, submission_id: int, path: Path, expected_sha: str, size: int
) -> tuple[int, dict[str, Any]]:
    """Stage the archived file's rows (as sent, and typed by the trigger of ``staging.submission_row``).

    Returns (rows staged, how the file was read); raises
    :class:`SubmissionRejected` for whatever makes the file unreadable.
    """
    lim = limits()
    conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
    columns = ", ".join(("submission_id", "file_row", "source_line", *STAGED_COLUMNS))
    rows_in = 0
    if size > lim.max_file_bytes:
        raise SubmissionRejected("file_too_large", size=size, limit=lim.max_file_bytes)
    if sha256_of(path)[0] != expected_sha:
        # The archive no longer holds what was received: never stage it, say so.
        log.error("archived file of submission %s changed since registration (sha256 mismatch)", submission_id)
        raise SubmissionRejected("archive_integrity")
    plan = bulk_copy_plan(path, lim)
    copied = _copy_plain_file(conn, submission_id, path, plan) if plan else None
    if copied is not None and plan is not None:
        rows_in = copied
        read_as: dict[str, str | None] = {"format": "csv", "encoding": plan.encoding, "path": "bulk"}
    else:
        parsed = open_submission(path, lim)
        with driver_cursor(conn) as cur:
            for buf, copied_so_far in _csv_chunks(parsed.records(), submission_id):
                buf.seek(0)
                cur.copy_expert(f"COPY staging.submission_row ({columns}) FROM STDIN WITH (FORMAT csv)", buf)
                rows_in = copied_so_far
        read_as = {"format": parsed.format, "encoding": parsed.encoding, "path": "parser"}
    if rows_in == 0:
        raise SubmissionRejected("file_empty")
    if rows_in > lim.max_rows:
        raise SubmissionRejected("file_too_many_rows", limit=lim.max_rows)
    return rows_in, read_as


def _archived(conn: sa.Connection, submission_id: int) -> tuple[Path, str, int]:
    path, sha, size = conn.execute(
        sa.text("SELECT archive_path, sha256, size_bytes FROM audit.submission WHERE submission_id = :sid"),
        {"sid": submission_id},
    ).one()
    return Path(path), sha, size


def stage(eng: Engine, submission_id: int, run_id: str) -> dict[str, Any]:
    """Parse the archived file and COPY its rows into staging (streamed, chunked).

    Whatever the file holds, the outcome is 'staged' or 'rejected' with a
    reason (recorded under the critical suite): the parser turns every defect
    of the content into a reason, and the size and row limits
    (``DTKS_MAX_FILE_BYTES``, ``DTKS_MAX_ROWS``) are checked before and while
    reading. Only faults of the machine (database, disk) fail the task, to be
    retried. The rows are written as sent (``staging.submission_row``) and,
    by the same statement, typed and normalised (``staging.normalised_row``).
    """
    with eng.begin() as conn:
        status = lifecycle.status(conn, submission_id, lock=True)
        if status != "received":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        try:
            rows_in, read_as = _stage_rows(conn, submission_id, *_archived(conn, submission_id))
        except SubmissionRejected as why:
            lifecycle.reject_unreadable(conn, submission_id, why, run_id)
            return {"submission_id": submission_id, "status": "rejected", "reason": why.code}
        lifecycle.mark_staged(conn, submission_id, rows_in, run_id, read_as)
        failpoint("stage.before_commit")
    return {"submission_id": submission_id, "status": "staged", "rows_in": rows_in}


def restage_if_lost(conn: sa.Connection, submission_id: int, run_id: str) -> bool:
    """Stage again from the archive a staged or validated submission whose staged rows are gone; True if it was.

    Staging tables are UNLOGGED (migration 018): after a crash of the
    database server they come back empty, while ``audit.submission`` still
    says staged or validated. The archive is the record: the same file gives
    the same rows, and the count recorded at stage time (``rows_in``) must
    match. Runs in the caller's transaction (validation or merge), with the
    submission's row locked by it; recorded as a ``restaged`` event.
    """
    status, rows_in = conn.execute(
        sa.text("SELECT status, rows_in FROM audit.submission WHERE submission_id = :sid FOR UPDATE"),
        {"sid": submission_id},
    ).one()
    if (
        status not in ("staged", "validated")
        or conn.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM staging.submission_row WHERE submission_id = :sid)"),
            {"sid": submission_id},
        ).scalar_one()
    ):
        return False
    try:
        rows, read_as = _stage_rows(conn, submission_id, *_archived(conn, submission_id))
    except SubmissionRejected as why:
        raise RuntimeError(
            f"submission {submission_id} lost its staged rows and cannot be staged again from the"
            f" archive ({why.code}): restore the archived file"
        ) from None
    if rows != rows_in:
        raise RuntimeError(f"submission {submission_id}: the archive gave {rows} rows, {rows_in} were staged")
    lifecycle.record_event(conn, submission_id, "restaged", run_id, {"rows": rows, **read_as})
    log.warning(
        "submission %s (%s) had lost its staged rows (database restart?): staged again from the archive",
        submission_id,
        status,
    )
    return True


def ensure_staged(eng: Engine, submission_ids: list[int], run_id: str) -> list[int]:
    """:func:`restage_if_lost` for each submission, one transaction each; the ids staged again."""
    restaged = []
    for sid in submission_ids:
        with eng.begin() as conn:
            if restage_if_lost(conn, sid, run_id):
                restaged.append(sid)
    return restaged
