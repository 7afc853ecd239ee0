"""Run bookkeeping shared by the DAGs: the warehouse engine and audit rows per task.

Airflow 3 tasks cannot read Airflow's metadata database, so every task's
outcome is written to the warehouse's own ``audit.task_run`` (auditors
reconstruct runs from there).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import sqlalchemy as sa

from dtks.warehouse import engine

log = logging.getLogger(__name__)


def record_task_outcome(context) -> None:
    """Airflow success/failure callback: one append-only audit row per task try."""
    try:
        ti = context["ti"]
        params = context.get("params") or {}
        failed = context.get("exception") is not None
        started = getattr(ti, "start_date", None) or datetime.now(timezone.utc)
        detail = {"try_number": getattr(ti, "try_number", None)}
        if failed:
            # The exception's type only: messages may quote data.
            detail["error_type"] = type(context["exception"]).__name__
        with engine().begin() as conn:
            conn.execute(
                sa.text("INSERT INTO audit.task_run (run_id, dag_id, task_id, map_index, round_id, started_at,"
                        " ended_at, outcome, detail) VALUES (:run, :dag, :task, :mi, :round, :start, now(),"
                        " :outcome, CAST(:detail AS jsonb))"),
                {"run": ti.run_id, "dag": ti.dag_id, "task": ti.task_id, "mi": getattr(ti, "map_index", -1) or -1,
                 "round": params.get("round_id") or None, "start": started,
                 "outcome": "failed" if failed else "success", "detail": json.dumps(detail)},
            )
    except Exception:  # a bookkeeping failure must never mask the task's own outcome
        log.exception("could not record the task outcome in audit.task_run")
