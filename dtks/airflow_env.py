"""Run our DAGs through Airflow on the embedded default (SQLite metadata DB).

The ``dtks`` command line uses this so that a data engineer runs the real
DAGs (``dag.test()``: every task, XCom, mapping and callback as in
production) without knowing Airflow's internals.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtks.config import PROJECT_ROOT, settings

if TYPE_CHECKING:
    from airflow.sdk import DAG

WAREHOUSE_POOL = "dtks_warehouse"
WAREHOUSE_POOL_SLOTS = 4


def configure() -> Path:
    """Point Airflow at the project (before airflow is imported); return AIRFLOW_HOME."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(settings().var_dir / "airflow")))
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",  # log files and pipes get no ANSI codes
        "GX_ANALYTICS_ENABLED": "false",
        "XDG_RUNTIME_DIR": str(settings().var_dir / "run"),
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    run_dir = Path(os.environ["XDG_RUNTIME_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    if run_dir.resolve().is_relative_to(settings().var_dir.resolve()) and run_dir.stat().st_mode & 0o077:
        # platformdirs warns on every start about a runtime folder others can read (`make` creates it 0755)
        run_dir.chmod(0o700)
    return home


def _airflow(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "airflow", *args], check=True, env=os.environ.copy(), stdout=subprocess.DEVNULL
    )


def ensure_metadata_db() -> None:
    """Create/upgrade Airflow's metadata DB and our pool (idempotent)."""
    configure()
    _airflow("db", "migrate")
    _airflow(
        "pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), "Bounds concurrent merges into the DTKS warehouse"
    )


def get_dag(dag_id: str) -> DAG | None:
    configure()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag: DAG | None = bag.get_dag(dag_id)
    return dag


def test_run(dag: DAG, conf: dict[str, Any] | None = None, **kwargs: Any) -> tuple[str, str]:
    """Run a DAG once through Airflow (dag.test); its run id and final state ("success", "failed")."""
    dag_run = dag.test(run_conf=conf or {}, **kwargs)
    state = getattr(dag_run, "state", "unknown")
    return str(dag_run.run_id), str(getattr(state, "value", state))


def run_dag(dag_id: str, conf: dict[str, Any] | None = None) -> str:
    """Run a DAG once through Airflow (dag.test) and return the run's final state."""
    dag = get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} not found")
    _run_id, state = test_run(dag, conf)
    if "success" not in state:
        raise RuntimeError(f"DAG {dag_id} run ended in state {state}")
    return state


def failed_tasks(dag_id: str, run_id: str) -> list[str]:
    """The tasks of a run that failed (mapped ones with their index), from Airflow's metadata DB."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.map_index).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.state.in_(("failed", "upstream_failed")),
            )
        ).all()
    return sorted(t if m < 0 else f"{t}[{m}]" for t, m in rows)  # map_index -1: not mapped
