"""Run bookkeeping shared by the DAGs: one audit row per task try, with the rows it took in and gave out.

Airflow 3 tasks cannot read Airflow's metadata database, so every task's
outcome is written to the warehouse's own ``audit.task_run`` (auditors
reconstruct runs from there).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from dtks.warehouse import engine

log = logging.getLogger(__name__)


def record_task_outcome(context: Mapping[str, Any], *, failed: bool | None = None, will_retry: bool = False) -> None:
    """Airflow success/failure callback: one append-only audit row per task try.

    ``failed`` None: judged by the context's exception (a failure callback can come
    without one, e.g. a task whose worker died: use ``record_task_failure`` there).
    """
    try:
        ti = context["ti"]
        params = context.get("params") or {}
        exc = context.get("exception")
        if failed is None:
            failed = exc is not None
        started = getattr(ti, "start_date", None) or datetime.now(UTC)
        detail: dict[str, Any] = {"try_number": getattr(ti, "try_number", None)}
        if failed:
            # The exception's type only: messages may quote data.
            detail["error_type"] = type(exc).__name__ if isinstance(exc, BaseException) else "unknown"
            if will_retry:
                detail["will_retry"] = True
        rows_in = rows_out = None
        if not failed:  # rows in/out (and submission ids) from what the task returned
            rows_in, rows_out, counted = task_counts_from_ti(ti)
            detail.update(counted)
        map_index = getattr(ti, "map_index", None)
        with engine().begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit.task_run (run_id, dag_id, task_id, map_index, round_id, started_at,"
                    " ended_at, outcome, rows_in, rows_out, detail) VALUES (:run, :dag, :task, :mi,"
                    " coalesce(:round, (SELECT round_id FROM audit.submission WHERE submission_id = :sid)),"
                    " :start, now(), :outcome, :rows_in, :rows_out, CAST(:detail AS jsonb))"
                ),
                {
                    "run": ti.run_id,
                    "dag": ti.dag_id,
                    "task": ti.task_id,
                    "mi": -1 if map_index is None else map_index,  # index 0 is a real district
                    "round": params.get("round_id") or None,
                    "start": started,
                    "outcome": "failed" if failed else "success",
                    "detail": json.dumps(detail),
                    "rows_in": rows_in,
                    "rows_out": rows_out,
                    "sid": detail.get("submission_id"),
                },
            )
    except Exception as exc:  # a bookkeeping failure must never mask the task's own outcome
        # The type only: a database error's message can quote the row it was given.
        log.error("could not record the task outcome in audit.task_run (%s)", type(exc).__name__)


def record_task_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``: the task failed for good (retries exhausted)."""
    record_task_outcome(context, failed=True)


def record_task_retry(context: Mapping[str, Any]) -> None:
    """``on_retry_callback``: this try failed and Airflow will try again (``detail.will_retry``)."""
    record_task_outcome(context, failed=True, will_retry=True)


# ---------------------------------------------------------------- task row counts (audit.task_run)
def task_result_counts(result: Any) -> tuple[int | None, int | None, dict[str, Any]]:
    """Rows in and out (and ids for the detail column) from what a DTKS task returned.

    stage: rows_in staged; validate: rows checked / rows passing; merge: rows
    accepted; register: submissions listed (files, not rows); plan_validation:
    batches (of submissions); close-round: district rows computed. Unknown shapes give (None, None, {}).
    """
    detail: dict[str, Any] = {}
    if isinstance(result, list):
        if result and all(isinstance(r, dict) and "submission_ids" in r for r in result):
            # plan_validation: batches of submissions
            batched = [int(i) for r in result for i in r["submission_ids"]]
            return None, len(result), {"unit": "batches", "submission_ids": batched[:1000]}
        ids = [r.get("submission_id") for r in result if isinstance(r, dict) and r.get("submission_id") is not None]
        detail = {"unit": "submissions", "submission_ids": ids[:1000]}
        return None, len(result), detail
    if not isinstance(result, dict):
        return None, None, detail
    if result.get("submission_id") is not None:
        detail["submission_id"] = int(result["submission_id"])
    if result.get("status"):
        detail["status"] = str(result["status"])[:40]
    if result.get("skipped"):
        detail["skipped"] = True
    values = list(result.values())
    if values and all(isinstance(v, dict) for v in values) and all(str(k).isdigit() for k in result):
        # validate: {submission_id: {"rows_in": .., "rows_quarantined": ..}}
        rows_in = sum(int(v.get("rows_in") or 0) for v in values)
        rows_out = sum(
            int(v.get("rows_in") or 0) - int(v.get("rows_quarantined") or 0)
            for v in values
            if v.get("status") == "validated"
        )
        detail["submission_ids"] = [int(k) for k in result][:1000]
        return rows_in, rows_out, detail
    if "rows_accepted" in result:
        return (
            (int(result["rows_in"]) if result.get("rows_in") is not None else None),
            int(result["rows_accepted"]),
            detail,
        )
    if "rows_in" in result:
        n = int(result["rows_in"])
        return n, n, detail
    if "districts" in result and isinstance(result["districts"], int):
        detail["unit"] = "districts"
        return None, result["districts"], detail
    return None, None, detail


def task_counts_from_ti(ti: Any) -> tuple[int | None, int | None, dict[str, Any]]:
    """Rows in/out of a finished task from its return value (pulled back from XCom); never raises."""
    try:
        map_index = getattr(ti, "map_index", None)
        result = ti.xcom_pull(task_ids=ti.task_id, map_indexes=-1 if map_index is None else map_index)
        return task_result_counts(result)
    except Exception:  # bookkeeping only: a missing XCom leaves the counts empty
        return None, None, {}
