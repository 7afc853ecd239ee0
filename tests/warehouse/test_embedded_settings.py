"""The embedded PostgreSQL runs with settings for this workload, and DTKS_EMBEDDED_TUNING=0 switches them off."""

import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import warehouse

pytestmark = pytest.mark.postgres

WORKLOAD = {
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "wal_compression": "pglz",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
}
# what initdb and PostgreSQL 16 give
POSTGRES_DEFAULTS = {
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "checkpoint_timeout": "5min",
    "wal_compression": "off",
    "work_mem": "4MB",
    "maintenance_work_mem": "64MB",
}


@pytest.fixture
def pgdata():
    """A data folder of this test's own: its server restarts disturb no other test."""
    # (run as root, pgserver's own account must be able to enter the folder: not pytest's mode-700 tmp_path)
    base = Path(tempfile.mkdtemp(prefix="dtks-pg-settings-"))
    base.chmod(0o755)
    yield base / "pg"
    warehouse.stop_embedded_server(base / "pg")
    shutil.rmtree(base, ignore_errors=True)


def _in_effect(pgdata: Path) -> dict:
    eng = sa.create_engine(warehouse.normalise_url(warehouse.embedded_server_url(pgdata)))
    try:
        shown = warehouse.settings_in_effect(eng)
    finally:
        eng.dispose()
    return {name: shown[name] for name in WORKLOAD}


def test_settings_on_by_default_then_off_then_on(pgdata, monkeypatch):
    monkeypatch.delenv("DTKS_EMBEDDED_TUNING", raising=False)
    assert _in_effect(pgdata) == WORKLOAD  # a fresh server: restarted once for shared_buffers
    monkeypatch.setenv("DTKS_EMBEDDED_TUNING", "0")
    assert _in_effect(pgdata) == POSTGRES_DEFAULTS  # the benchmark's "settings alone" comparison
    monkeypatch.setenv("DTKS_EMBEDDED_TUNING", "1")
    assert _in_effect(pgdata) == WORKLOAD
    # stopped from the process that started it (the benchmark does this with its second server)
    assert warehouse.stop_embedded_server(pgdata) is True
    assert not (pgdata / "postmaster.pid").exists()
    assert _in_effect(pgdata) == WORKLOAD  # and started again with the same settings


def test_settings_in_effect_names_the_server(wh):
    shown = warehouse.settings_in_effect(wh)
    assert shown["server_version"].startswith("16")
    assert set(WORKLOAD) <= set(shown)
