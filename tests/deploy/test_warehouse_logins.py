"""The stack's warehouse logins on a real PostgreSQL (issue 13.13): what the pipeline and the auditor page can do.

The logins are made by deploy/warehouse_roles.py, as airflow-init makes them,
on a warehouse migrated by the superuser. The pipeline login runs a round; then
both are used for what an insider would try.
"""

from __future__ import annotations

import secrets
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import ingest, metrics
from dtks.config import PROJECT_ROOT
from tests import scenario

pytestmark = pytest.mark.postgres


def _roles():
    sys.path.insert(0, str(PROJECT_ROOT / "deploy"))
    try:
        import warehouse_roles
    finally:
        sys.path.pop(0)
    return warehouse_roles


@pytest.fixture
def logins(wh, warehouse_url):
    roles = _roles()
    made = {}
    for kind, ensure in (("pipeline", roles.ensure_pipeline_login), ("auditor", roles.ensure_auditor_login)):
        user, password = f"dtks_{kind}_{secrets.token_hex(3)}", secrets.token_hex(16)
        assert ensure(wh, user, password) is True
        assert ensure(wh, user, password + "x") is False  # again: the password rotates
        made[kind] = sa.create_engine(make_url(warehouse_url).set(username=user, password=password + "x"))
    yield made
    for eng in made.values():
        eng.dispose()
    with wh.begin() as conn:
        for eng in made.values():
            conn.execute(sa.text(f'DROP OWNED BY "{eng.url.username}"'))
            conn.execute(sa.text(f'DROP ROLE "{eng.url.username}"'))


def _refused(eng, sql, match):
    with pytest.raises(sa.exc.DBAPIError, match=match), eng.begin() as conn:
        conn.execute(sa.text("SET TRANSACTION READ WRITE"))
        conn.execute(sa.text(sql))


def test_the_pipeline_login_runs_a_round_but_cannot_switch_off_the_audit_trail(logins, dirs, tmp_path):
    pipe = logins["pipeline"]
    with pipe.connect() as conn:
        assert conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
    # a round, end to end, as the pipeline login
    scenario.prepare(pipe, tmp_path)
    scenario.land_round(dirs["landing"])
    ingest.process_landed(pipe, dirs["landing"], "run-1", archive_dir=dirs["archive"])
    metrics.compute_round_metrics(pipe, scenario.ROUND)
    with pipe.connect() as conn:
        statuses = sorted(
            conn.execute(sa.text("SELECT status FROM audit.submission WHERE kind = 'district'")).scalars()
        )
        assert statuses == ["merged", "merged"]
        assert conn.execute(sa.text("SELECT count(*) FROM metrics.district_round")).scalar() > 0
        # its own scratch tables (ANALYZE before validation works); no audit, registry or quarantine table
        owners = dict(
            conn.execute(
                sa.text(
                    "SELECT schemaname, array_agg(DISTINCT tableowner::text) FROM pg_tables"
                    " WHERE schemaname IN ('staging', 'audit', 'registry', 'quarantine') GROUP BY 1"
                )
            ).all()
        )
        assert owners["staging"] == ["dtks_pipeline"]
        assert all(
            "dtks_pipeline" not in owners[s] and pipe.url.username not in owners[s]
            for s in ("audit", "registry", "quarantine")
        )

    # ... and what an insider holding its password would try
    for table, trigger in (
        ("audit.submission_event", "submission_event_append_only"),
        ("audit.submission", "submission_guard"),
        ("registry.individual_version", "individual_version_history"),
    ):
        _refused(pipe, f"ALTER TABLE {table} DISABLE TRIGGER {trigger}", "must be owner")
        _refused(pipe, f"ALTER TABLE {table} DISABLE TRIGGER ALL", "must be owner")
        _refused(pipe, f"DROP TABLE {table} CASCADE", "must be owner")
    _refused(pipe, "SET session_replication_role = replica", "permission denied")
    _refused(pipe, "COPY (SELECT 1) TO PROGRAM 'id'", "permission denied|must be superuser")
    _refused(pipe, "DELETE FROM audit.submission_event", "append-only")
    _refused(pipe, "CREATE ROLE sneaky SUPERUSER", "permission denied")
    _refused(pipe, "SELECT * FROM lineage_secret.hash_key", "permission denied")
    with pipe.connect() as conn:
        enabled = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit.submission_event'::regclass"
                " AND NOT tgisinternal AND tgenabled = 'O'"
            )
        ).scalar()
    assert enabled == 2


def test_the_auditor_login_cannot_write_even_with_its_read_only_default_switched_off(logins, wh):
    auditor = logins["auditor"]
    with auditor.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
        # PostgreSQL lets any session change this setting: the privileges below are what forbid writes
        conn.execute(sa.text("SET default_transaction_read_only = off"))
        conn.commit()
        assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "off"
        for sql, match in (
            (
                "INSERT INTO audit.task_run (run_id, dag_id, task_id, started_at, ended_at, outcome)"
                " VALUES ('x', 'x', 'x', now(), now(), 'success')",
                "permission denied",
            ),
            ("UPDATE audit.round SET status = 'closed'", "permission denied"),
            ("DELETE FROM metrics.district_round", "permission denied"),
            ("CREATE TEMP TABLE mine (x int)", "permission denied"),
            ("CREATE TABLE public.mine (x int)", "permission denied"),
            ("CREATE SCHEMA mine", "permission denied"),
            ("CREATE TABLE audit.mine (x int)", "permission denied"),
        ):
            with pytest.raises(sa.exc.ProgrammingError, match=match):
                conn.execute(sa.text(sql))
            conn.rollback()
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.task_run WHERE run_id = 'x'")).scalar() == 0
