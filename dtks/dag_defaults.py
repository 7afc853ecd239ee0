"""Default task arguments shared by the DTKS DAGs (retries, audit callbacks, alerts)."""

from __future__ import annotations

from datetime import timedelta

from dtks.notify import notify_task_failure
from dtks.runs import record_task_failure, record_task_outcome, record_task_retry

DEFAULT_ARGS = {
    # Transient database errors (a restart, a dropped connection) heal on retry;
    # every task is idempotent, so a retry is always safe. 30 s, then ~60 s, capped.
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    # No task may run forever (a hostile file, a stuck lock): past this it is failed and retried.
    # A national round's largest step (validation of 5 M rows) takes minutes (BENCHMARKS.md).
    "execution_timeout": timedelta(hours=2),
    # Every try leaves a row in audit.task_run (warehouse); a final failure also
    # e-mails DTKS_ALERT_EMAIL when SMTP is configured (dtks.notify; no personal data).
    "on_success_callback": record_task_outcome,
    "on_retry_callback": record_task_retry,
    "on_failure_callback": [record_task_failure, notify_task_failure],
}
