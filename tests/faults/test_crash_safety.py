"""SIGKILL inside register / stage / validate / merge, then a retry: the warehouse ends
exactly as after an uninterrupted run — nothing lost, nothing applied twice."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dtks import warehouse
from dtks.config import PROJECT_ROOT
from tests import scenario
from tests.faults.state import warehouse_state

pytestmark = pytest.mark.postgres

FAILPOINTS = [
    "register.after_archive_copy",   # file copied into the archive, nothing recorded yet
    "register.after_commit",         # recorded, landing file not yet removed
    "stage.before_commit",           # rows COPYed, transaction open
    "validate.after_gx",             # suites ran, no result recorded
    "validate.between_submissions",  # one submission's results recorded, the other's not
    "merge.before_commit",           # registry written, transaction open
    "merge.after_commit",            # merged, staging not yet reported back
]


def _run_child(env: dict, run_id: str, failpoint: str | None = None) -> int:
    child_env = dict(env)
    if failpoint:
        child_env["DTKS_FAILPOINT"] = failpoint
    else:
        child_env.pop("DTKS_FAILPOINT", None)
    proc = subprocess.run([sys.executable, "-m", "tests.faults.run_ingest", run_id], cwd=PROJECT_ROOT,
                          env=child_env, capture_output=True, text=True, timeout=300)
    if failpoint is None:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.returncode


def _setup(url: str, root: Path) -> dict:
    """A fresh warehouse with the scenario's round and baseline, and the round's files landed."""
    for name in ("landing", "archive", "outbox", "out"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DTKS_WAREHOUSE_URL": url, "DTKS_LANDING_DIR": str(root / "landing"),
           "DTKS_ARCHIVE_DIR": str(root / "archive"), "DTKS_OUTBOX_DIR": str(root / "outbox"),
           "DTKS_OUT_DIR": str(root / "out")}
    eng = warehouse.engine(url)
    old = {k: os.environ.get(k) for k in ("DTKS_ARCHIVE_DIR",)}
    os.environ["DTKS_ARCHIVE_DIR"] = env["DTKS_ARCHIVE_DIR"]
    try:
        scenario.prepare(eng, root)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    scenario.land_round(root / "landing")
    return env


@pytest.fixture(scope="module")
def reference_state(tmp_path_factory, server_url, template_url):
    """The warehouse after one uninterrupted ingest of the scenario round."""
    from tests.conftest import TEMPLATE_DB, _admin_engine
    import uuid
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"dtks_test_{os.getpid()}_ref_{uuid.uuid4().hex[:6]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    env = _setup(url, tmp_path_factory.mktemp("reference"))
    _run_child(env, "uninterrupted")
    state = warehouse_state(warehouse.engine(url))
    yield state
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_killed_then_retried_equals_uninterrupted(failpoint, make_warehouse, tmp_path, reference_state):
    url = make_warehouse()
    env = _setup(url, tmp_path)
    assert _run_child(env, "crashing", failpoint) == -signal.SIGKILL, f"failpoint {failpoint} was never reached"
    _run_child(env, "retry")
    state = warehouse_state(warehouse.engine(url))
    assert state == reference_state
    # every file is accounted for: in the archive, none left in landing
    assert list((tmp_path / "landing").rglob("*.csv")) == []
    archived = sorted(p.name.split("__", 1)[1] for p in (tmp_path / "archive").rglob("*.csv"))
    assert archived == sorted(["baseline.csv", "dtks_3578_2026-08.csv", "dtks_3501_2026-08.csv"])
