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

import math
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
    SuiteSpec,
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


def process_landed(
    eng: Engine,
    landing: Path,
    run_id: str,
    *,
    archive_dir: Path | None = None,
    settle_seconds: float | None = None,
    until: Step = "merge",
    feedback_outbox: Path | None = None,
) -> LandedRun:
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
    registered = intake.register_landed(
        eng, landing, run_id, archive_dir, conf.landing_settle_seconds if settle_seconds is None else settle_seconds
    )
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
def validate(eng: Engine, submission_ids: list[int], run_id: str) -> dict[int, dict[str, Any]]:
    """Every batch of :func:`validation_plan`, one after another (what the DAG's mapped tasks do in parallel)."""
    outcome: dict[int, dict[str, Any]] = {}
    for batch in validation_plan(eng, submission_ids):
        outcome.update(validate_batch(eng, batch["submission_ids"], run_id))
    return outcome


def _suites_and_mapping(eng: Engine) -> tuple[SuiteSpec, SuiteSpec, str]:
    """The suites that run (their exact JSON recorded) and the value mapping the checks read (synced)."""
    row_spec = load_suite_spec(ROW_SUITE_FILE)
    file_spec = load_suite_spec(FILE_SUITE_FILE)
    with eng.begin() as conn:
        record_suite_definition(conn, file_spec)
        record_suite_definition(conn, row_spec)
        # the words the checks read as codes: the declared file as it is now
        mapping_version = value_mapping.sync(conn)
    return file_spec, row_spec, mapping_version


def validation_plan(eng: Engine, submission_ids: list[int]) -> list[dict[str, Any]]:
    """The staged submissions among these, in batches of whole files: ``[{submission_ids, label}]``.

    Every rule looks within one file or at the registry, so batches are
    independent and the DAG validates them in parallel (mapped tasks, under
    the warehouse pool); how files are grouped never changes a result.
    Files are grouped in district order so a batch is named by its districts.
    """
    with eng.connect() as conn:
        staged = conn.execute(
            sa.text(
                "SELECT submission_id, kabkota_code, coalesce(rows_in, 0) AS rows_in FROM audit.submission"
                " WHERE submission_id = ANY(:ids) AND status = 'staged' ORDER BY kabkota_code, submission_id"
            ),
            {"ids": [int(s) for s in submission_ids]},
        ).all()
    if not staged:
        return []
    _suites_and_mapping(eng)  # once, before the batches start (a new mapping re-reads every staged row)
    with eng.connect() as conn:
        # Fresh statistics for the rows just staged (autovacuum may not have seen them yet):
        # with stale ones the planner chose plans minutes slower for a national batch.
        conn.execute(sa.text("ANALYZE staging.submission_row, staging.normalised_row"))
        conn.commit()
    # As few batches as the size limit allows, of about equal size (no small last batch): a file
    # goes to the batch its middle row falls in (a batch may pass the limit by half a file).
    total = sum(r.rows_in for r in staged)
    count = max(1, math.ceil(total / validation_batch_rows()))
    batches: list[list[sa.Row[Any]]] = [[] for _ in range(count)]
    before = 0
    for row in staged:
        batches[min(count - 1, int((before + row.rows_in / 2) * count / max(total, 1)))].append(row)
        before += row.rows_in
    batches = [b for b in batches if b]
    return [{"submission_ids": [int(r.submission_id) for r in batch], "label": batch_label(batch)} for batch in batches]


def batch_label(batch: list[sa.Row[Any]]) -> str:
    """How a validation batch is named in the Airflow UI: its districts (first–last, and how many files)."""
    codes = sorted({r.kabkota_code or "tanpa-kode" for r in batch})
    districts = codes[0] if len(codes) == 1 else f"{codes[0]}–{codes[-1]}"
    return f"{districts} ({len(batch)} file{'s' if len(batch) != 1 else ''})"


def validate_batch(eng: Engine, submission_ids: list[int], run_id: str) -> dict[int, dict[str, Any]]:
    """The critical suite over a batch of staged submissions, then the row suite over those that pass.

    One GX run per suite for the batch. A submission failing a critical
    rule is rejected whole (every failed rule recorded); the others get their
    rows' errors quarantined and warnings flagged, with the suite's name and
    version stored with every result. Submissions whose staged rows a
    database crash emptied are staged again from the archive first.
    """
    outcome: dict[int, dict[str, Any]] = {}
    with eng.connect() as conn:
        staged = [
            int(sid)
            for sid in conn.execute(
                sa.text(
                    "SELECT submission_id FROM audit.submission WHERE submission_id = ANY(:ids) AND status = 'staged'"
                    " ORDER BY submission_id"
                ),
                {"ids": [int(s) for s in submission_ids]},
            ).scalars()
        ]
    if not staged:
        return outcome
    file_spec, row_spec, mapping_version = _suites_and_mapping(eng)
    staging.ensure_staged(eng, staged, run_id)
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
    if not ready:
        return outcome
    batch = run_row_suite(eng, ready, run_id, row_spec)
    failpoint("validate.after_gx")
    for sid in ready:
        failpoint("validate.between_submissions")  # (tests: @2 stops with one submission recorded)
        with eng.begin() as conn:
            if lifecycle.status(conn, sid, lock=True) != "staged":
                continue
            counts = record_validation(conn, sid, batch, run_id)
            lifecycle.mark_validated(
                conn,
                sid,
                counts,
                row_spec.name,
                row_spec.version,
                run_id,
                {
                    "suite": row_spec.name,
                    "version": row_spec.version,
                    "critical_suite": file_spec.name,
                    "critical_version": file_spec.version,
                    "value_mapping": mapping_version,
                    **counts,
                },
            )
            outcome[sid] = {"status": "validated", **counts}
    return outcome


def validation_batch_rows() -> int:
    """Staged rows checked together in one run of the row suite (DTKS_VALIDATION_BATCH_ROWS)."""
    return settings().validation_batch_rows


# ----------------------------------------------------------------- DAG glue
def district_label(submission: dict[str, Any]) -> str:
    """How a mapped task is named in the Airflow UI: district code and submission id."""
    return f"{submission.get('kabkota_code') or 'tanpa-kode'} #{submission['submission_id']}"


def summarise(eng: Engine, submission_ids: list[int]) -> dict[str, Any]:
    """What a run did to its submissions, by final status (for the asset event and logs)."""
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT CASE WHEN merged_at IS NOT NULL THEN 'merged' ELSE status END AS status, count(*) AS n,"
                " coalesce(sum(rows_accepted), 0) AS accepted"
                " FROM audit.submission WHERE submission_id = ANY(:ids) GROUP BY 1"
            ),
            {"ids": [int(i) for i in submission_ids]},
        ).all()
    by_status = {r.status: r.n for r in rows}
    # (a file merged and then superseded by a later one in the same run counts as merged)
    return {
        "submissions_merged": by_status.get("merged", 0),
        "submissions_rejected": by_status.get("rejected", 0),
        "submissions_unfinished": sum(by_status.get(s, 0) for s in lifecycle.UNFINISHED),
        "rows_accepted": int(sum(r.accepted for r in rows if r.status == "merged")),
    }
