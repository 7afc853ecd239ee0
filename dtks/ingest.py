"""The life of a submission, orchestrated: register, stage, validate, merge (and the run's summary).

Each step is a plain function that the ``dtks_ingest`` DAG's tasks call:
``dtks.intake.register`` (+archive), ``dtks.staging.stage``, ``validate``
here (the suites of ``dtks.validation`` over a batch), ``dtks.merging.merge``.
``process_landed`` runs them in the DAG's order without Airflow (tests, the
benchmark, a one-off run by hand). Each is
idempotent: it looks at the submission's status and does nothing if its work
is already done, so a retried task or a re-run DAG changes nothing the second
time. Every status change goes through ``dtks.lifecycle`` (the table of
states and moves). Nothing in this module logs a NIK or a name: log lines
carry submission ids, district codes and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import feedback, intake, lifecycle, merging, staging, value_mapping
from dtks.config import settings
from dtks.faults import failpoint
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

# ----------------------------------------------------------------- the whole run, headless
Step = Literal["register", "stage", "validate", "merge"]
_STEPS: tuple[Step, ...] = ("register", "stage", "validate", "merge")


@dataclass
class LandedRun:
    """What ``process_landed`` did: the submissions and each step's result, by submission id."""

    registered: list[intake.SubmissionRef]  # registered now (refusals too), in landing order
    submissions: list[int]  # what the steps worked on: every submission unfinished after registering
    staged: dict[int, dict[str, Any]] = field(default_factory=dict)
    validated: dict[int, dict[str, Any]] = field(default_factory=dict)
    merged: dict[int, dict[str, Any]] = field(default_factory=dict)
    feedback: feedback.RunFeedback | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def process_landed(eng: Engine, landing: Path, run_id: str, *, archive_dir: Path | None = None,
                   settle_seconds: float | None = None, until: Step = "merge",
                   feedback_outbox: Path | None = None) -> LandedRun:
    """Every file waiting in ``landing`` through register → stage → validate → merge, as a DAG run does.

    The same calls in the same order as the ``dtks_ingest`` tasks: register
    every landed file, then stage, validate and merge every submission still
    unfinished (this run's and any an earlier run left), one after the other
    instead of as mapped tasks. ``until`` stops after that step;
    ``feedback_outbox`` also writes the run's feedback files there (the
    summarising task's first job; Data Docs are left to the DAG). A step that
    raises stops the run here (in the DAG only that task would fail).
    """
    conf = settings()
    registered = intake.register_landed(eng, landing, run_id, archive_dir,
                                        conf.landing_settle_seconds if settle_seconds is None else settle_seconds)
    ids = [int(s["submission_id"]) for s in intake.unfinished_submissions(eng)]
    run = LandedRun(registered, ids)
    last = _STEPS.index(until)
    if last >= _STEPS.index("stage"):
        run.staged = {sid: staging.stage(eng, sid, run_id) for sid in ids}
    if last >= _STEPS.index("validate"):
        run.validated = validate(eng, ids, run_id)
    if last >= _STEPS.index("merge"):
        run.merged = {sid: merging.merge(eng, sid, run_id) for sid in ids}
        if feedback_outbox is not None:
            run.feedback = feedback.write_run_feedback(eng, run_id, ids, feedback_outbox)
    run.summary = summarise(eng, ids)
    return run


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
    for batch_ids in _validation_batches(eng, ready):
        batch = run_row_suite(eng, batch_ids, run_id, row_spec)
        failpoint("validate.after_gx")
        for sid in batch_ids:
            failpoint("validate.between_submissions")  # (tests: @2 stops with one submission recorded)
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


# ----------------------------------------------------------------- DAG glue
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
