"""Default task arguments shared by the DTKS DAGs (retries, audit callbacks)."""

from __future__ import annotations

from datetime import timedelta

from dtks.runs import record_task_outcome

DEFAULT_ARGS = {
    # Transient database errors (a restart, a dropped connection) heal on retry;
    # every task is idempotent, so a retry is always safe.
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "on_success_callback": record_task_outcome,
    "on_failure_callback": record_task_outcome,
}
