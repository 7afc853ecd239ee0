"""DAG dtks_ingest: district files in the landing zone → checked, merged registry."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from dtks.dag_defaults import DEFAULT_ARGS

# Emitted when at least one submission was merged; downstream DAGs listen for it.
REGISTRY_UPDATED = Asset(name="dtks_registry_updated", uri="dtks://warehouse/registry")
WAREHOUSE_POOL = "dtks_warehouse"  # bounds concurrent merges into the warehouse

DOC = """
### Ingest district submissions / Ingest kiriman kabupaten/kota

Runs hourly (and on demand). For every file waiting in
`<landing>/<round>/<kab/kota code>/`:

1. **register_landed_files** – hash (sha256), record in `audit.submission`, move into the archive.
   A file whose content was seen before is a no-op. Submissions left unfinished by an earlier
   failed run are picked up again here.
2. **stage_submission** (one task per submission, named by district) – parse CSV/XLSX, map the
   columns, `COPY` into `staging.submission_row`. Unreadable / empty / unmappable files are
   rejected whole, with the reason recorded.
3. **plan_validation**, then **validate_submissions** (one task per batch of whole files, named by
   its districts, pool `dtks_warehouse`, in parallel) – critical checks, then the Great
   Expectations suites from `expectations/*.json` over the batch's staged rows, in the warehouse.
   Every rule looks within one file or at the registry, so batches are independent.
4. **merge_submission** (one per submission, pool `dtks_warehouse`) – one transaction per
   submission: insert / change / confirm / deactivate with full history; failing rows to
   `quarantine.*`.
5. **summarise_run** – writes each finished submission's feedback file (XLSX + CSV, in Bahasa
   Indonesia and English) to `<outbox>/<round>/<kab/kota>/feedback_<id>.*` (`dtks.feedback`),
   brings the round's Data Docs site `out/<round>/data_docs/` up to date (`dtks.datadocs`), and
   emits the `dtks_registry_updated` asset when anything was merged.

XCom carries submission ids and counts only. Logic: `dtks.ingest` (the steps in order), `dtks.intake`,
`dtks.staging`, `dtks.merging`.
"""


@dag(
    dag_id="dtks_ingest",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),  # UTC, Airflow's default zone, written out
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=DOC,
    tags=["dtks"],
    params={
        "landing_dir": Param(
            None, type=["null", "string"], description="Landing folder to scan (default: DTKS_LANDING_DIR)."
        ),
    },
)
def dtks_ingest():
    @task
    def register_landed_files(**context) -> list[dict]:
        from dtks.intake import register_landing

        return register_landing(context["run_id"], context["params"].get("landing_dir"))

    @task(map_index_template="{{ district_label }}")
    def stage_submission(submission: dict, **context) -> dict:
        from dtks import ingest, staging
        from dtks.warehouse import engine

        get_current_context()["district_label"] = ingest.district_label(submission)
        return staging.stage(engine(), submission["submission_id"], context["run_id"])

    # all_done: one district's failed task must not hold back the others; each
    # step acts only on submissions whose warehouse status says they are ready.
    @task(trigger_rule=TriggerRule.ALL_DONE)
    def plan_validation(submissions: list[dict]) -> list[dict]:
        from dtks import ingest
        from dtks.warehouse import engine

        # Batches of whichever of these are staged (status in the warehouse decides).
        return ingest.validation_plan(engine(), [s["submission_id"] for s in submissions])

    @task(map_index_template="{{ batch_label }}", pool=WAREHOUSE_POOL)
    def validate_submissions(batch: dict, **context) -> dict:
        from dtks import ingest
        from dtks.warehouse import engine

        get_current_context()["batch_label"] = batch["label"]
        outcome = ingest.validate_batch(engine(), batch["submission_ids"], context["run_id"])
        return {str(k): v for k, v in outcome.items()}

    @task(map_index_template="{{ district_label }}", pool=WAREHOUSE_POOL, trigger_rule=TriggerRule.ALL_DONE)
    def merge_submission(submission: dict, **context) -> dict:
        from dtks import ingest, merging
        from dtks.warehouse import engine

        get_current_context()["district_label"] = ingest.district_label(submission)
        return merging.merge(engine(), submission["submission_id"], context["run_id"])

    @task(outlets=[REGISTRY_UPDATED], trigger_rule=TriggerRule.ALL_DONE)
    def summarise_run(submissions: list[dict], **context) -> dict:
        from dtks import datadocs, feedback
        from dtks.ingest import summarise
        from dtks.warehouse import engine

        ids = [s["submission_id"] for s in submissions]
        # Feedback files for every finished submission (outbox), then the rounds' Data Docs.
        written = feedback.write_run_feedback(engine(), context["run_id"], ids)
        datadocs.build_sites_for(engine(), ids + written["submissions"])
        summary = summarise(engine(), ids)
        if summary["submissions_unfinished"]:
            # Fail the run visibly; the next run picks these submissions up again.
            raise RuntimeError(f"{summary['submissions_unfinished']} submission(s) not finished: see failed tasks")
        if not summary["submissions_merged"]:
            # Nothing changed in the registry: no asset event for downstream DAGs.
            raise AirflowSkipException("no submission merged in this run")
        context["outlet_events"][REGISTRY_UPDATED].extra = summary
        return summary

    submissions = register_landed_files()
    staged = stage_submission.expand(submission=submissions)
    batches = plan_validation(submissions)
    validated = validate_submissions.expand(batch=batches)
    merged = merge_submission.expand(submission=submissions)
    staged >> batches
    validated >> merged >> summarise_run(submissions)


dtks_ingest()
