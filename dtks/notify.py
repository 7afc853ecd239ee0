"""E-mail alerts when a DTKS task fails for good (after its retries).

Sent only when SMTP is configured:

* ``DTKS_ALERT_EMAIL`` – recipients, comma-separated (unset: no e-mail);
* an Airflow SMTP connection, ``smtp_default`` unless ``DTKS_ALERT_SMTP_CONN_ID`` names
  another (the SMTP provider's connection, e.g.
  ``AIRFLOW_CONN_SMTP_DEFAULT='smtp://user:pass@mail.example:587?disable_ssl=true&from_email=...'``);
* the sender: ``DTKS_ALERT_FROM``, else the connection's ``from_email`` extra, else
  Airflow's ``[email] from_email``.

The message names the DAG, the task, the district label of a mapped task, the run, the
try and the exception's *type*. Never the exception's message or the task's log: those
may quote the data (NIKs, names) that must not leave the warehouse. The log link points
to Airflow, behind its login.

A notification problem is logged and swallowed: it must never change a task's outcome.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any, TypedDict

from dtks.config import settings

log = logging.getLogger(__name__)

DEFAULT_SMTP_CONN_ID = "smtp_default"


class _FailedTask(TypedDict):
    """What an alert says about the failed task: identifiers only."""

    dag_id: str
    task_id: str
    map_index: int
    label: str | None
    run_id: str
    try_number: int | None
    max_tries: int | None
    round_id: str | None
    error_type: str | None
    log_url: str | None


def alert_recipients() -> list[str]:
    """Addresses from ``DTKS_ALERT_EMAIL`` (comma or semicolon separated)."""
    raw = settings().alert_email
    return [a.strip() for a in raw.replace(";", ",").split(",") if a.strip()]


def _describe(context: Mapping[str, Any]) -> _FailedTask:
    ti = context["ti"]
    params = context.get("params") or {}
    map_index = getattr(ti, "map_index", None)
    label = context.get("district_label") or getattr(ti, "rendered_map_index", None)
    exc = context.get("exception")
    try:
        log_url = ti.log_url
    except Exception:  # the URL is a convenience; a missing [api] base_url must not stop the alert
        log_url = None
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "map_index": -1 if map_index is None else map_index,
        "label": str(label) if label else None,
        "run_id": ti.run_id,
        "try_number": getattr(ti, "try_number", None),
        "max_tries": getattr(ti, "max_tries", None),
        "round_id": params.get("round_id") or None,
        "error_type": type(exc).__name__ if isinstance(exc, BaseException) else ("error" if exc else None),
        "log_url": log_url,
    }


def failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and HTML body for a failed task: identifiers only, no data."""
    d = _describe(context)
    where = f"{d['dag_id']}.{d['task_id']}" + (f" [{d['label']}]" if d["label"] else "")
    subject = f"[DTKS] Tugas gagal / task failed: {where}"
    rows = [
        ("DAG", d["dag_id"]),
        ("Tugas / task", d["task_id"]),
        ("Kab/kota (mapped)", d["label"] if d["label"] else (d["map_index"] if d["map_index"] >= 0 else None)),
        ("Run", d["run_id"]),
        ("Putaran / round", d["round_id"]),
        ("Percobaan / try", f"{d['try_number']} / {(d['max_tries'] or 0) + 1}" if d["try_number"] else None),
        ("Jenis galat / error type", d["error_type"]),
    ]
    cells = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
        if v not in (None, "")
    )
    link = f'<p><a href="{html.escape(d["log_url"])}">Log di Airflow / log in Airflow</a></p>' if d["log_url"] else ""
    body = (
        "<p>Sebuah tugas DTKS gagal setelah semua percobaan ulang. "
        "A DTKS task failed after all its retries.</p>"
        f"<table>{cells}</table>{link}"
        "<p>Rincian ada di log tugas dan di tabel audit.task_run gudang data; pesan ini sengaja "
        "tidak memuat data pribadi. Details are in the task log and the warehouse's audit.task_run; "
        "this message deliberately carries no personal data.</p>"
    )
    return subject, body


def send_alert(subject: str, html_content: str, recipients: list[str]) -> bool:
    """Send one message through the Airflow SMTP connection; False when SMTP is not configured."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk import Connection

    configured = settings()
    conn_id = configured.alert_smtp_conn_id or DEFAULT_SMTP_CONN_ID
    try:
        conn = Connection.get(conn_id)
    except Exception:  # AirflowNotFoundException: SMTP not configured
        log.warning("DTKS_ALERT_EMAIL is set but the Airflow connection %s is not defined: no alert sent", conn_id)
        return False
    from_email = configured.alert_from or (conn.extra_dejson or {}).get("from_email")
    if not from_email:
        from airflow.configuration import conf

        from_email = conf.get("email", "from_email", fallback=None) or "dtks-airflow@localhost"
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=recipients, subject=subject, html_content=html_content, from_email=from_email)
    return True


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: e-mail the operators, if SMTP is configured."""
    recipients = alert_recipients()
    if not recipients:
        return
    try:
        subject, body = failure_message(context)
        if send_alert(subject, body, recipients):
            log.info("failure alert sent to %d recipient(s)", len(recipients))
    except Exception as exc:  # an alerting problem must never mask the task's own outcome
        log.warning("could not send the failure alert (%s)", type(exc).__name__)
