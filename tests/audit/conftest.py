"""Fixtures of the auditor tests: the three-round scenario, built once per module, and the plugin app."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from dtks import warehouse
from dtks.config import PROJECT_ROOT
from tests.audit import scenario3
from tests.conftest import module_warehouse

PLUGIN_FILE = PROJECT_ROOT / "plugins" / "dtks_auditor" / "dtks_auditor_plugin.py"


def load_plugin_module():
    """Import the plugin file the way Airflow's plugin manager does (by path, module named by its stem)."""
    name = "dtks_auditor_plugin"
    if name not in sys.modules:
        from dtks import airflow_env

        airflow_env.configure()  # before the plugin imports airflow (as the dtks command does)
        spec = importlib.util.spec_from_file_location(name, PLUGIN_FILE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def plugin():
    return load_plugin_module()


@pytest.fixture(scope="module")
def three_rounds(server_url, template_url, tmp_path_factory):
    """A fresh warehouse with the three-round scenario, its files, and env pointing at both."""
    tmp = tmp_path_factory.mktemp("three_rounds")
    with module_warehouse(server_url, template_url, tmp) as (url, dirs):
        eng = warehouse.engine(url)
        scenario3.build(eng, dirs, tmp)
        scenario3.write_round_files(dirs)
        yield {"url": url, "engine": eng, "dirs": dirs, "tmp": tmp}


@pytest.fixture(scope="module")
def auditor_client(three_rounds, plugin):
    from fastapi.testclient import TestClient

    from dtks import audit

    app = plugin.create_app(engine=audit.auditor_engine(three_rounds["url"]), require_login=False)
    with TestClient(app, root_path="/dtks-auditor") as client:
        yield client
