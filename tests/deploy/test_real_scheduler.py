"""The DAGs under a real scheduler: api-server + scheduler + dag-processor as separate processes.

Not ``dag.test()``: deploy/init.sh prepares everything as the airflow-init service does
(warehouse migrations, a PostgreSQL metadata DB, the pool, the auditor page's login),
deploy/api-server.sh starts the api-server with the simple auth manager's users, the
dag-processor parses dags/ and plugins/, the run is triggered through the REST API with
a JWT, the scheduler hands tasks to the LocalExecutor (Celery in the stack), and every
task runs in its own process, talking to the api-server's execution API and reaching
the warehouse through the Airflow connection ``dtks_warehouse`` (DTKS_WAREHOUSE_URL points
nowhere, so the connection is what is used).
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests import scenario
from tests.builders import PACITAN, SURABAYA
from tests.deploy.airflow_stack import AirflowStack, airflow_uri

pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.timeout(420)]

RUN_TIMEOUT = 240  # seconds for the DAG run itself; about 40 s on an idle 2-core machine


def _admin(server_url: str) -> sa.Engine:
    return sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture
def metadata_url(server_url):
    """A fresh, empty PostgreSQL database for Airflow's metadata."""
    name = f"dtks_airflow_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def auditor_login(server_url):
    """A login role name of this test's own (roles are shared by the whole embedded server)."""
    name = f"dtks_auditor_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield name
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def stack(tmp_path, metadata_url, warehouse_url, dirs, auditor_login):
    auditor_url = make_url(warehouse_url).set(username=auditor_login, password="auditor-pw")
    stack = AirflowStack(
        home=tmp_path / "airflow",
        metadata_url=metadata_url,
        env_extra={
            "AIRFLOW_CONN_DTKS_WAREHOUSE": airflow_uri(warehouse_url),
            "DTKS_WAREHOUSE_URL": "postgresql://nobody@127.0.0.1:1/not_the_warehouse",
            "DTKS_AUDITOR_DB_USER": auditor_login,
            "DTKS_AUDITOR_DB_PASSWORD": "auditor-pw",
            "DTKS_AUDITOR_WAREHOUSE_URL": auditor_url.render_as_string(hide_password=False),
            "DTKS_LANDING_DIR": str(dirs["landing"]),
            "DTKS_ARCHIVE_DIR": str(dirs["archive"]),
            "DTKS_OUTBOX_DIR": str(dirs["outbox"]),
            "DTKS_OUT_DIR": str(dirs["out"]),
            "DTKS_CALENDAR_FILE": str(tmp_path / "calendar" / "rounds.json"),
            "DTKS_VAR_DIR": str(tmp_path / "var"),
            "DTKS_WAREHOUSE_POOL_SLOTS": "3",
            "DTKS_ARRIVAL_FROM_MTIME": "1",  # the scenario's files arrive at their set times (tests/conftest.py)
        },
    )
    try:
        init_output = stack.prepare()
        stack.start()
        stack.init_output = init_output
        yield stack
    finally:
        stack.stop()


def test_ingest_runs_under_a_real_scheduler(stack, wh, dirs, tmp_path, auditor_login):
    assert "not reloaded" in stack.init_output  # the warehouse had its codes: airflow-init keeps them
    assert "DTKS stack initialised" in stack.init_output
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    started = time.monotonic()

    stack.wait_ready()
    # Users and roles of the simple auth manager, passwords from deploy/api-server.sh.
    assert stack.login("admin", "wrong-password").status_code == 401
    auditor = stack.token("auditor", stack.auditor_password)
    assert stack.api("GET", "/dags", token="not-a-token").status_code in (401, 403)
    stack.wait_until(
        "the dag-processor to serialise dtks_ingest",
        lambda: stack.api("GET", "/dags/dtks_ingest").status_code == 200,
        timeout=120,
    )
    assert stack.api("GET", "/importErrors").json()["total_entries"] == 0
    assert stack.api("GET", "/dags/dtks_ingest", token=auditor).status_code == 200
    assert (
        stack.api("POST", "/dags/dtks_ingest/dagRuns", token=auditor, json={"logical_date": None}).status_code == 403
    ), "a viewer must not trigger runs"
    assert stack.api("GET", "/pools/dtks_warehouse").json()["slots"] == 3

    run_id = f"deploy_test_{uuid.uuid4().hex[:8]}"
    response = stack.api(
        "POST", "/dags/dtks_ingest/dagRuns", json={"dag_run_id": run_id, "logical_date": None, "conf": {}}
    )
    assert response.status_code == 200, response.text
    response = stack.api("PATCH", "/dags/dtks_ingest", json={"is_paused": False})
    assert response.status_code == 200, response.text

    def finished():
        state = stack.api("GET", f"/dags/dtks_ingest/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    state = stack.wait_until(f"run {run_id} to finish", finished, timeout=RUN_TIMEOUT, interval=2)
    if state != "success":
        tis = stack.api("GET", f"/dags/dtks_ingest/dagRuns/{run_id}/taskInstances").json()
        summary = [(t["task_id"], t.get("map_index"), t["state"]) for t in tis.get("task_instances", [])]
        pytest.fail(f"run ended {state}: {summary}\n{stack.logs()}")
    print(f"dtks_ingest through the real scheduler: {time.monotonic() - started:.0f}s")

    with wh.connect() as conn:
        subs = conn.execute(
            sa.text(
                "SELECT kabkota_code, status, rows_in, rows_accepted, rows_quarantined FROM audit.submission"
                " WHERE kind = 'district' ORDER BY kabkota_code"
            )
        ).all()
        assert [tuple(s) for s in subs] == [(PACITAN, "merged", 2, 2, 0), (SURABAYA, "merged", 5, 4, 1)]
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual WHERE active")).scalar() == 7
        # Every task ran in a task process of this run and its callback wrote the audit row.
        tasks = conn.execute(
            sa.text(
                "SELECT task_id, array_agg(map_index ORDER BY map_index) FROM audit.task_run"
                " WHERE run_id = :r AND outcome = 'success' GROUP BY task_id"
            ),
            {"r": run_id},
        ).all()
        assert dict(tasks) == {
            "register_landed_files": [-1],
            "stage_submission": [0, 1],
            "plan_validation": [-1],
            "validate_submissions": [0],
            "merge_submission": [0, 1],
            "summarise_run": [-1],
        }
    # The files left the landing zone for the archive.
    assert not [p for p in dirs["landing"].rglob("*") if p.is_file()]
    assert [p for p in dirs["archive"].rglob("*") if p.is_file()]

    # The auditor page runs in this api-server and reads the warehouse as the login init.sh made.
    page = stack.wait_until(
        "the auditor page",
        lambda: (lambda r: r if r.status_code == 200 else None)(
            __import__("requests").get(
                f"{stack.base_url}/dtks-auditor/", timeout=30, headers={"Authorization": f"Bearer {auditor}"}
            )
        ),
        timeout=30,
    )
    assert "DTKS" in page.text
