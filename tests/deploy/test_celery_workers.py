"""The production topology for real: CeleryExecutor, Redis, two named workers, a worker or Redis lost mid-round.

One stack for the whole module (tests/deploy/celery_stack.py): Debian's redis-server with a
password, and every Airflow service of docker-compose.yml started with its own command and
environment, metadata DB and warehouse on the embedded PostgreSQL. Each test lands the same
~20-district round into a fresh warehouse, triggers dtks_ingest through the REST API and
compares the warehouse, free of ids and times (tests/faults/state.py), with a dag.test() run
of the same files.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import airflow_env, warehouse
from tests.conftest import TEMPLATE_DB
from tests.deploy import celery_round as cr
from tests.deploy.celery_stack import CeleryStack, RedisServer
from tests.faults.state import warehouse_state

# 900 s: the first test's time includes starting the module's stack and the dag.test() reference.
pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.timeout(900)]

RUN_TIMEOUT = 300
# Test-sized timing (.env values the compose file reads): a lost worker's tasks are failed
# after 30 s without a heartbeat instead of 120 s.
SETTINGS = {
    "AIRFLOW_TASK_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW_TASK_QUEUED_TIMEOUT": "90",
    "AIRFLOW_WORKER_CONCURRENCY": "2",
    "DTKS_WAREHOUSE_POOL_SLOTS": "4",
}


def _require_redis() -> None:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (`make test` installs it as root: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _database(server_url: str, name: str, template: str | None = None) -> str:
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, *names: str) -> None:
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def round_data(tmp_path_factory) -> dict:
    return cr.generate(tmp_path_factory.mktemp("celery-round") / "data")


@pytest.fixture(scope="module")
def reference_state(round_data, server_url, template_url, tmp_path_factory, airflow_ready) -> dict:
    """The warehouse after a dag.test() run of the round: what every Celery run must leave."""
    root = tmp_path_factory.mktemp("dagtest")
    name = f"dtks_celery_ref_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = _database(server_url, name, TEMPLATE_DB)
    cr.prepare_round(url, round_data, root / "landing", root / "archive")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DTKS_WAREHOUSE_URL", url)
        for folder in ("landing", "archive", "outbox", "out"):
            (root / folder).mkdir(exist_ok=True)
            mp.setenv(f"DTKS_{folder.upper()}_DIR", str(root / folder))
        airflow_env.run_dag("dtks_ingest", {"landing_dir": str(root / "landing")})
    state = warehouse_state(warehouse.engine(url))
    warehouse._engine_for.cache_clear()
    _drop(server_url, name)
    return state


@pytest.fixture(scope="module")
def stack(server_url, template_url, tmp_path_factory):
    _require_redis()
    root = tmp_path_factory.mktemp("celery-stack")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    metadata = _database(server_url, f"dtks_celery_meta_{tag}")
    warehouse_url = _database(server_url, f"dtks_celery_wh_{tag}", TEMPLATE_DB)
    auditor = f"dtks_auditor_c{tag}"
    stack = CeleryStack(
        home=root / "airflow",
        metadata_url=metadata,
        env_extra={
            "DTKS_ARRIVAL_FROM_MTIME": "1",  # the generated round arrives at its simulated time
            "DTKS_WAREHOUSE_USER": f"dtks_pipeline_c{tag}",
            "DTKS_AUDITOR_DB_USER": auditor,
            "DTKS_AUDITOR_DB_PASSWORD": "auditor-pw",
            "DTKS_AUDITOR_WAREHOUSE_URL": make_url(warehouse_url)
            .set(username=auditor, password="auditor-pw")
            .render_as_string(hide_password=False),
        },
        redis_server=RedisServer(root / "redis"),
        warehouse_url=warehouse_url,
        data_root=root / "data",
        settings=SETTINGS,
    )
    try:
        stack.redis_server.start()
        stack.init_output = stack.prepare()
        stack.start(workers=2)
        stack.wait_healthy()
        stack.wait_until(
            "the dag-processor to serialise dtks_ingest",
            lambda: stack.api("GET", "/dags/dtks_ingest").status_code == 200,
            timeout=180,
        )
        yield stack
    finally:
        stack.stop()
        _drop(server_url, make_url(metadata).database, make_url(warehouse_url).database)
        admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for role in (auditor, f"dtks_pipeline_c{tag}"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.fixture
def landed(stack, round_data, server_url):
    """A fresh warehouse with the round and baseline, the round's files in the stack's landing zone."""
    cr.reset_warehouse(server_url, stack.warehouse_url, TEMPLATE_DB)
    cr.prepare_round(stack.warehouse_url, round_data, stack.data_root / "landing", stack.data_root / "archive")
    return cr.landed_files(round_data)


def _assert_same_warehouse(stack, reference_state, files) -> dict:
    state = warehouse_state(warehouse.engine(stack.warehouse_url))
    for part, rows in reference_state.items():
        assert state[part] == rows, f"{part} differs from the dag.test() run"
    # the baseline and one submission per landed file, each merged once
    assert len(state["submissions"]) == 1 + len(files) and all(s[2] == "merged" for s in state["submissions"])
    archived = [p for p in (stack.data_root / "archive").rglob("*") if p.is_file()]
    assert len(archived) == len(files), "every file archived exactly once"
    assert not [p for p in (stack.data_root / "landing").rglob("*") if p.is_file()]
    return state


def _ran_on(tis: list[dict], task_id: str) -> set[str]:
    return {t["hostname"] for t in tis if t["task_id"] == task_id and t["state"] == "success"}


def test_a_round_runs_across_celery_workers(stack, landed, reference_state):
    assert "DTKS stack initialised" in stack.init_output
    started = time.monotonic()
    run_id = cr.trigger(stack, "across")
    state = cr.wait_finished(stack, run_id, RUN_TIMEOUT)
    tis = cr.task_instances(stack, run_id)
    assert state == "success", f"{cr.summary(tis)}\n{stack.logs()}"
    print(f"\n20-district round on 2 Celery workers: {time.monotonic() - started:.0f}s")

    workers = set(stack.workers())
    for task_id in ("stage_submission", "merge_submission"):
        hosts = _ran_on(tis, task_id)
        assert hosts <= workers, hosts
        assert len(hosts) > 1, f"every {task_id} ran on {hosts}: the round did not spread over the workers"
        assert sum(1 for t in tis if t["task_id"] == task_id) == len(landed)
    _assert_same_warehouse(stack, reference_state, landed)


def test_redis_restarted_mid_round(stack, landed, reference_state):
    """Redis restarts (same password, its snapshot kept) while stage tasks run: the run still finishes."""
    run_id = cr.trigger(stack, "redis")
    cr.wait_for_tasks(
        stack,
        run_id,
        "stage tasks to run",
        lambda tis: [t for t in tis if t["task_id"] == "stage_submission" and t["state"] == "success"],
        timeout=RUN_TIMEOUT,
    )
    stack.redis_server.restart()
    assert stack.redis_server.client().ping()
    with pytest.raises(Exception, match=r"(?i)auth|password|NOAUTH|WRONGPASS"):
        stack.redis_server.client(password="not-the-password").ping()
    state = cr.wait_finished(stack, run_id, RUN_TIMEOUT)
    tis = cr.task_instances(stack, run_id)
    assert state == "success", f"{cr.summary(tis)}\n{stack.logs()}"
    _assert_same_warehouse(stack, reference_state, landed)


def test_a_worker_killed_during_merges(stack, landed, reference_state):
    workers = stack.workers()
    assert len(workers) >= 2
    run_id = cr.trigger(stack, "kill")

    def merging(tis):
        return [
            t
            for t in tis
            if t["task_id"] == "merge_submission" and t["state"] == "running" and t.get("hostname") in workers
        ]

    running = cr.wait_for_tasks(
        stack, run_id, "a merge task running on a worker", merging, timeout=RUN_TIMEOUT, interval=0.3
    )
    victim = running[0]["hostname"]
    stack.kill_worker(victim)
    killed = {t["map_index"] for t in running if t["hostname"] == victim}
    survivor = next(w for w in workers if w != victim)

    state = cr.wait_finished(stack, run_id, RUN_TIMEOUT + 120)
    tis = cr.task_instances(stack, run_id)
    assert state == "success", f"{cr.summary(tis)}\n{stack.logs()}"
    for map_index in killed:
        final = next(t for t in tis if t["task_id"] == "merge_submission" and t["map_index"] == map_index)
        assert final["try_number"] >= 2, final
        assert final["hostname"] == survivor, final
        history = cr.tries(stack, run_id, "merge_submission", map_index)
        assert any(h["hostname"] == victim and h["state"] == "failed" for h in history), history
    assert _ran_on(tis, "merge_submission") - {victim}, "the remaining worker took the merges"
    _assert_same_warehouse(stack, reference_state, landed)
