"""The configuration the stack relies on, in code: warehouse URL precedence, callbacks, alerts, init steps."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.deploy import stack_files as sf
from tests.deploy.smtp_sink import SmtpSink

NIK = "3578014503820002"  # a NIK-shaped number that must never leave in an alert


def _context(exc: BaseException | None = None, map_index: int = 0, **params) -> dict:
    ti = SimpleNamespace(
        dag_id="dtks_ingest",
        task_id="merge_submission",
        run_id="manual__2026-11-03T01:00:00",
        map_index=map_index,
        try_number=3,
        max_tries=2,
        start_date=datetime(2026, 11, 3, 1, 0, tzinfo=UTC),
        log_url="http://airflow.example/dags/dtks_ingest/runs/x/tasks/merge_submission/mapped/0",
    )
    return {"ti": ti, "exception": exc, "params": params, "district_label": "3578 #12"}


# ---------------------------------------------------------------------- the warehouse URL
def test_plain_scripts_never_import_airflow_for_the_url():
    code = (
        "import os, sys; os.environ['DTKS_WAREHOUSE_URL'] = 'postgresql://u@h/db'; "
        "from dtks import warehouse; print(warehouse.warehouse_url()); print('airflow' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout.split()
    assert out == ["postgresql+psycopg2://u@h/db", "False"]


def test_connection_comes_first_and_a_broken_one_is_an_error(monkeypatch):
    from dtks import warehouse

    monkeypatch.setenv("DTKS_WAREHOUSE_URL", "postgresql://fallback@h/db")
    monkeypatch.setenv("AIRFLOW_CONN_DTKS_WAREHOUSE", "postgresql://dtks:p%40ss@warehouse-db:5432/dtks?sslmode=require")
    url = make_url(warehouse.warehouse_url())
    assert (url.username, url.password, url.host, url.database, url.query["sslmode"]) == (
        "dtks",
        "p@ss",
        "warehouse-db",
        "dtks",
        "require",
    )
    monkeypatch.setenv("AIRFLOW_CONN_DTKS_WAREHOUSE", "mysql://x@y/z")
    with pytest.raises(ValueError, match="type postgres"):
        warehouse.warehouse_url()
    monkeypatch.delenv("AIRFLOW_CONN_DTKS_WAREHOUSE")
    assert warehouse.warehouse_url() == "postgresql+psycopg2://fallback@h/db"


# ---------------------------------------------------------------------- callbacks and alerts
def test_dag_defaults_wire_retries_audit_and_alerts():
    from dtks import notify, runs
    from dtks.dag_defaults import DEFAULT_ARGS

    assert DEFAULT_ARGS["retries"] >= 1 and DEFAULT_ARGS["retry_exponential_backoff"]
    assert DEFAULT_ARGS["on_success_callback"] is runs.record_task_outcome
    assert DEFAULT_ARGS["on_retry_callback"] is runs.record_task_retry
    assert DEFAULT_ARGS["on_failure_callback"] == [runs.record_task_failure, notify.notify_task_failure]


@pytest.mark.postgres
def test_failures_and_retries_are_audited(wh):
    from dtks import runs

    runs.record_task_retry(_context(ConnectionError("server closed the connection"), map_index=0))
    runs.record_task_failure(_context(ValueError(f"bad NIK {NIK}"), map_index=0, round_id="2026-11"))
    runs.record_task_failure(_context(None, map_index=-1))  # e.g. the worker died: no exception object
    with wh.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT map_index, round_id, outcome, detail FROM audit.task_run ORDER BY task_run_id")
        ).all()
    assert [(r.map_index, r.round_id, r.outcome) for r in rows] == [
        (0, None, "failed"),
        (0, "2026-11", "failed"),
        (-1, None, "failed"),
    ]
    assert rows[0].detail == {"try_number": 3, "error_type": "ConnectionError", "will_retry": True}
    assert rows[1].detail == {"try_number": 3, "error_type": "ValueError"}
    assert rows[2].detail["error_type"] == "unknown"
    assert NIK not in json.dumps([r.detail for r in rows])


def test_failure_alert_goes_out_by_smtp_without_personal_data(monkeypatch):
    from dtks import notify

    with SmtpSink() as sink:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_ALERTS",
            f"smtp://127.0.0.1:{sink.port}?disable_ssl=true&disable_tls=true&timeout=5&retry_limit=0"
            "&from_email=dtks-airflow%40kemensos.example",
        )
        monkeypatch.setenv("DTKS_ALERT_SMTP_CONN_ID", "smtp_alerts")
        monkeypatch.setenv("DTKS_ALERT_EMAIL", "ops@kemensos.example, data@kemensos.example")
        monkeypatch.delenv("DTKS_ALERT_FROM", raising=False)
        notify.notify_task_failure(_context(ValueError(f"NIK {NIK} nama SITI AMINAH invalid"), round_id="2026-11"))
    assert len(sink.messages) == 1
    envelope, msg = sink.messages[0]
    assert sorted(envelope["to"]) == ["<data@kemensos.example>", "<ops@kemensos.example>"]
    assert "dtks-airflow@kemensos.example" in envelope["from"]
    assert "dtks_ingest.merge_submission [3578 #12]" in msg["Subject"]
    body = "".join(part.get_payload(decode=True).decode() for part in msg.walk() if not part.is_multipart())
    for expected in ("manual__2026-11-03T01:00:00", "ValueError", "2026-11", "3 / 3", "mapped/0"):
        assert expected in body, expected
    assert NIK not in body and "SITI" not in body and NIK not in msg["Subject"]


def test_no_alert_without_recipients_or_smtp(monkeypatch, caplog):
    from dtks import notify

    with SmtpSink() as sink:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{sink.port}?disable_ssl=true&disable_tls=true"
        )
        monkeypatch.delenv("DTKS_ALERT_SMTP_CONN_ID", raising=False)
        monkeypatch.delenv("DTKS_ALERT_EMAIL", raising=False)
        notify.notify_task_failure(_context(RuntimeError("x")))
        assert sink.messages == []
    # Recipients but no SMTP connection: a warning, never an exception.
    monkeypatch.setenv("DTKS_ALERT_EMAIL", "ops@kemensos.example")
    monkeypatch.setenv("DTKS_ALERT_SMTP_CONN_ID", f"smtp_missing_{uuid.uuid4().hex[:6]}")
    notify.notify_task_failure(_context(RuntimeError("x")))
    assert "no alert sent" in caplog.text


# ---------------------------------------------------------------------- what airflow-init runs
@pytest.mark.postgres
def test_init_loads_reference_codes_once(server_url, warehouse_url):
    sys.path.insert(0, str(sf.ROOT / "deploy"))
    try:
        import init_warehouse
    finally:
        sys.path.pop(0)
    from dtks import reference

    # A warehouse that has codes (maybe a newer edition than the default) keeps them untouched.
    eng = sa.create_engine(warehouse_url)
    loaded_at = "SELECT array_agg(loaded_at ORDER BY edition) FROM ref.edition"
    with eng.connect() as conn:
        before = conn.execute(sa.text(loaded_at)).scalar()
    assert init_warehouse.init_warehouse(eng) == ([], [reference.DEFAULT_REFERENCE_EDITION], False)
    with eng.connect() as conn:
        assert conn.execute(sa.text(loaded_at)).scalar() == before
    eng.dispose()

    # A new, empty one is migrated and loaded.
    name = f"dtks_init_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = sa.create_engine(make_url(server_url).set(database=name))
        applied, editions, loaded = init_warehouse.init_warehouse(fresh)
        assert applied and editions == [] and loaded
        with fresh.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM ref.kabkota")).scalar() == 514
        assert init_warehouse.init_warehouse(fresh)[2] is False
        fresh.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_auditor_login_names_are_checked():
    sys.path.insert(0, str(sf.ROOT / "deploy"))
    try:
        import warehouse_roles
    finally:
        sys.path.pop(0)
    with pytest.raises(ValueError):
        warehouse_roles.ensure_auditor_login(None, 'x"; DROP ROLE dtks; --', "pw")


def test_make_env_writes_fresh_secrets_once(tmp_path):
    out = tmp_path / ".env"
    run = [sys.executable, str(sf.ROOT / "deploy" / "make_env.py"), "--out", str(out)]
    subprocess.run(run, check=True, capture_output=True, timeout=60)
    first = out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "AIRFLOW_DB_PASSWORD=\n" not in first and "DTKS_WAREHOUSE_PASSWORD=" in first
    again = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and out.read_text() == first  # never overwrites secrets in use
    other = subprocess.run([*run[:2], "--stdout"], check=True, capture_output=True, text=True, timeout=60).stdout
    secret = next(line for line in first.splitlines() if line.startswith("AIRFLOW_JWT_SECRET="))
    assert secret not in other  # fresh each time
