"""One ~20-district round through a CeleryStack: data, a fresh warehouse, a REST-triggered run.

Shared by tests/deploy/test_celery_workers.py and the worker-scaling measurement
(tests/deploy/bench_celery.py). The round is dtks.devtools.bench_data's synthetic national round cut to
its first districts (small files: CI time), with the baseline of those districts.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import merging, reference, rounds, warehouse
from dtks.devtools import bench_data as bench
from tests.deploy.celery_stack import CeleryStack

DISTRICTS = 20
ROWS = DISTRICTS * 40


def generate(folder: Path, districts: int = DISTRICTS, rows: int = ROWS) -> dict:
    return bench.generate_national(folder, total_rows=rows, seed=16, districts=districts)


def landed_files(data: dict) -> list[Path]:
    return sorted(p for p in Path(data["landing"]).rglob("*") if p.is_file())


def reset_warehouse(server_url: str, url: str, template: str | None = None) -> None:
    """Drop and re-create the stack's warehouse (same name: the workers' connection stays valid)."""
    name = make_url(url).database
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    warehouse._engine_for.cache_clear()
    eng = warehouse.engine(url)
    if not template:
        warehouse.migrate(eng)
        reference.load_reference(eng)
    eng.dispose()


def prepare_round(url: str, data: dict, landing: Path, archive: Path) -> None:
    """Round created, the districts' baseline loaded, the round's files in ``landing``; archive empty."""
    for folder in (landing, archive):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    baseline = shutil.copy2(data["baseline"], archive.parent / "baseline.csv")  # loading archives (moves) it
    eng = warehouse.engine(url)
    rounds.create_round(eng, rounds.default_round(bench.BENCH_ROUND))
    old_archive = os.environ.get("DTKS_ARCHIVE_DIR")
    os.environ["DTKS_ARCHIVE_DIR"] = str(archive.parent / "baseline-archive")  # not among the round's files
    try:
        merging.load_baseline(eng, Path(baseline), "baseline", bench.ROUND_ARRIVAL)
    finally:
        os.environ.pop("DTKS_ARCHIVE_DIR") if old_archive is None else os.environ.update(DTKS_ARCHIVE_DIR=old_archive)
    eng.dispose()
    shutil.copytree(data["landing"], landing, dirs_exist_ok=True, copy_function=shutil.copy2)  # keeps mtimes


def trigger(stack: CeleryStack, prefix: str = "celery") -> str:
    """A dtks_ingest run through the REST API, as an operator's client would start it."""
    run_id = f"{prefix}_{uuid.uuid4().hex[:8]}"
    response = stack.api("POST", "/dags/dtks_ingest/dagRuns", json={"dag_run_id": run_id, "logical_date": None})
    assert response.status_code == 200, response.text
    response = stack.api("PATCH", "/dags/dtks_ingest", json={"is_paused": False})
    assert response.status_code == 200, response.text
    return run_id


def run_state(stack: CeleryStack, run_id: str) -> str:
    return stack.api("GET", f"/dags/dtks_ingest/dagRuns/{run_id}").json()["state"]


def wait_finished(stack: CeleryStack, run_id: str, timeout: float) -> str:
    def finished():
        state = run_state(stack, run_id)
        return state if state in ("success", "failed") else None

    return stack.wait_until(f"run {run_id} to finish", finished, timeout=timeout, interval=2)


def task_instances(stack: CeleryStack, run_id: str) -> list[dict]:
    response = stack.api("GET", f"/dags/dtks_ingest/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    response.raise_for_status()
    return response.json()["task_instances"]


def tries(stack: CeleryStack, run_id: str, task_id: str, map_index: int) -> list[dict]:
    response = stack.api("GET", f"/dags/dtks_ingest/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries")
    response.raise_for_status()
    return response.json()["task_instances"]


def summary(tis: list[dict]) -> list[tuple]:
    return sorted((t["task_id"], t["map_index"], t["state"], t.get("hostname"), t.get("try_number")) for t in tis)


def wait_for_tasks(stack: CeleryStack, run_id: str, what: str, predicate, timeout: float, interval: float = 0.5):
    """Polls the run's task instances until ``predicate(tis)`` gives something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        found = predicate(task_instances(stack, run_id))
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {summary(task_instances(stack, run_id))}")
        time.sleep(interval)
