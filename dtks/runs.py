"""Run bookkeeping shared by the DAGs: the warehouse engine and audit rows per task.

Airflow 3 tasks cannot read Airflow's metadata database, so every task's
outcome is written to the warehouse's own ``audit.task_run`` (auditors
reconstruct runs from there).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
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
        started = getattr(ti, "start_date", None) or datetime.now(timezone.utc)
        detail: dict[str, Any] = {"try_number": getattr(ti, "try_number", None)}
        if failed:
            # The exception's type only: messages may quote data.
            detail["error_type"] = type(exc).__name__ if isinstance(exc, BaseException) else "unknown"
            if will_retry:
                detail["will_retry"] = True
        rows_in = rows_out = None
        if not failed:  # rows in/out (and submission ids) from what the task returned
            from dtks.audit import task_counts_from_ti
            rows_in, rows_out, counted = task_counts_from_ti(ti)
            detail.update(counted)
        map_index = getattr(ti, "map_index", None)
        with engine().begin() as conn:
            conn.execute(
                sa.text("INSERT INTO audit.task_run (run_id, dag_id, task_id, map_index, round_id, started_at,"
                        " ended_at, outcome, rows_in, rows_out, detail) VALUES (:run, :dag, :task, :mi,"
                        " coalesce(:round, (SELECT round_id FROM audit.submission WHERE submission_id = :sid)),"
                        " :start, now(), :outcome, :rows_in, :rows_out, CAST(:detail AS jsonb))"),
                {"run": ti.run_id, "dag": ti.dag_id, "task": ti.task_id,
                 "mi": -1 if map_index is None else map_index,  # index 0 is a real district
                 "round": params.get("round_id") or None, "start": started,
                 "outcome": "failed" if failed else "success", "detail": json.dumps(detail),
                 "rows_in": rows_in, "rows_out": rows_out, "sid": detail.get("submission_id")},
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
