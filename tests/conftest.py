"""Shared fixtures: a real PostgreSQL warehouse for tests.

The server is the embedded one (pgserver, under var/) unless
DTKS_WAREHOUSE_URL points at another. A template database is migrated and
loaded with the reference codes once per session; each test that needs a
warehouse gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), so tests
never see each other's rows.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Tests replay rounds in the past: a landed file's mtime stands for its arrival
# (dtks.landed_files.arrival_time). The tests of the real rule (ctime) unset it.
os.environ.setdefault("DTKS_ARRIVAL_FROM_MTIME", "1")
# Airflow reads its configuration when first imported: point it at a home of
# this test session's own (SQLite does not like concurrent sessions sharing one).
if "AIRFLOW_HOME" not in os.environ:
    _airflow_home = tempfile.mkdtemp(prefix="dtks-test-airflow-")
    os.environ["AIRFLOW_HOME"] = _airflow_home
    atexit.register(shutil.rmtree, _airflow_home, ignore_errors=True)

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import reference, warehouse

# One template per test session, so concurrent sessions never drop each other's.
TEMPLATE_DB = f"dtks_test_template_{os.getpid()}"


def _admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def server_url() -> str:
    base = (
        os.environ.get("DTKS_TEST_SERVER_URL")
        or os.environ.get("DTKS_WAREHOUSE_URL")
        or warehouse.embedded_server_url()
    )
    return warehouse.normalise_url(base)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
    url = make_url(server_url).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
    eng = sa.create_engine(url)
    warehouse.migrate(eng)
    reference.load_reference(eng)
    eng.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def warehouse_url(server_url: str, template_url: str, monkeypatch: pytest.MonkeyPatch):
    """A fresh, migrated warehouse with reference data; DTKS_WAREHOUSE_URL points at it."""
    name = f"dtks_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
    yield url
    warehouse._engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def wh(warehouse_url: str) -> sa.Engine:
    return warehouse.engine(warehouse_url)


@pytest.fixture(scope="session")
def airflow_ready() -> None:
    """Airflow's metadata DB (SQLite) migrated and our pool created, once per session."""
    from dtks import airflow_env

    airflow_env.ensure_metadata_db()


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Project-local folders redirected into tmp_path."""
    paths = {name: tmp_path / name for name in ("landing", "archive", "outbox", "out")}
    for p in paths.values():
        p.mkdir()
    monkeypatch.setenv("DTKS_LANDING_DIR", str(paths["landing"]))
    monkeypatch.setenv("DTKS_ARCHIVE_DIR", str(paths["archive"]))
    monkeypatch.setenv("DTKS_OUTBOX_DIR", str(paths["outbox"]))
    monkeypatch.setenv("DTKS_OUT_DIR", str(paths["out"]))
    return paths


@pytest.fixture
def process_landed(wh, dirs):
    """Run what landed in ``dirs["landing"]`` through register → stage → validate → merge, as a DAG run does.

    ``process_landed(run_id="run-1", until="merge", feedback_outbox=None)`` returns
    dtks.ingest.process_landed's LandedRun (the archive is ``dirs["archive"]``).
    """
    from dtks import ingest

    def run(run_id: str = "run-1", **options):
        return ingest.process_landed(wh, dirs["landing"], run_id, archive_dir=dirs["archive"], **options)

    return run


@pytest.fixture
def make_warehouse(server_url: str, template_url: str):
    """Factory for extra fresh warehouses in one test (returns URLs; dropped afterwards)."""
    admin = _admin_engine(server_url)
    created: list[str] = []

    def make() -> str:
        name = f"dtks_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
        created.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def module_warehouse(server_url: str, template_url: str, tmp):
    """A fresh warehouse and landing/archive/outbox/out folders under ``tmp`` for a whole module's
    story, with the DTKS_* variables pointing at them; dropped afterwards. Yields (url, dirs)."""
    dirs = {n: tmp / n for n in ("landing", "archive", "outbox", "out")}
    for p in dirs.values():
        p.mkdir()
    name = f"dtks_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template_url).database}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DTKS_WAREHOUSE_URL", url)
            for key, path in dirs.items():
                mp.setenv(f"DTKS_{key.upper()}_DIR", str(path))
            yield url, dirs
    finally:
        from dtks import audit

        warehouse._engine_for.cache_clear()
        audit._auditor_engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
