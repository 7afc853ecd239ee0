"""The reference: the warehouse after one uninterrupted ingest of the scenario round."""

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import warehouse
from tests.conftest import TEMPLATE_DB, _admin_engine
from tests.faults.harness import run_child, setup_round
from tests.faults.state import warehouse_state


@pytest.fixture(scope="session")
def reference_state(tmp_path_factory, server_url, template_url):
    """The warehouse after one uninterrupted ingest of the scenario round."""
    name = f"dtks_test_{os.getpid()}_ref_{uuid.uuid4().hex[:6]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    env = setup_round(url, tmp_path_factory.mktemp("reference"))
    run_child(env, "uninterrupted")
    state = warehouse_state(warehouse.engine(url))
    yield state
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
