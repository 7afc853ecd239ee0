"""A warehouse per test module, for tests that land many files and run the pipeline once.

Each module that uses ``module_wh`` gets its own database cloned from the
session's migrated template (the same template as the ``wh`` fixture), and
its own landing/archive/outbox/out folders.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import warehouse
from tests.conftest import TEMPLATE_DB, _admin_engine


@pytest.fixture(scope="module")
def module_wh(server_url: str, template_url: str):
    name = f"dtks_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    eng = warehouse.engine(url)
    yield eng
    eng.dispose()
    warehouse._engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def module_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest")
    paths = {name: root / name for name in ("landing", "archive", "outbox", "out")}
    for p in paths.values():
        p.mkdir()
    return paths
