"""The warehouse server restarts while a submission is being staged: the task fails
cleanly, nothing half-written remains, and a retry finishes the job exactly."""

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import ingest, reference, staging, warehouse
from tests import scenario
from tests.faults.state import warehouse_state

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_server():
    """A PostgreSQL server of this test's own: restarting it disturbs no other test."""
    import pgserver

    # Run as root, pgserver starts PostgreSQL as its own 'pgserver' account, which cannot
    # enter pytest's private (mode 700) tmp_path: the data folder lives in a folder it can.
    base = Path(tempfile.mkdtemp(prefix="dtks-pg-restart-"))
    base.chmod(0o755)
    server = pgserver.get_server(str(base / "pg"), cleanup_mode="stop")
    url = warehouse.normalise_url(server.get_uri())
    eng = warehouse.engine(url)
    warehouse.migrate(eng)
    reference.load_reference(eng)
    yield server, url
    warehouse._engine_for.cache_clear()
    server.cleanup()
    shutil.rmtree(base, ignore_errors=True)


def _restart(server) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def test_restart_during_stage_then_retry(own_server, tmp_path, monkeypatch, reference_state):
    server, url = own_server
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
    for name in ("landing", "archive"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("DTKS_ARCHIVE_DIR", str(tmp_path / "archive"))
    eng = warehouse.engine(url)
    scenario.prepare(eng, tmp_path)
    scenario.land_round(tmp_path / "landing")
    refs = ingest.process_landed(eng, tmp_path / "landing", "run", archive_dir=tmp_path / "archive",
                                 until="register").registered

    # Hold the first stage transaction open at its commit point, restart the server under it.
    monkeypatch.setenv("DTKS_FAILPOINT_PAUSE", "stage.before_commit=3")
    outcome = {}

    def stage_first():
        try:
            outcome["result"] = staging.stage(eng, refs[0].submission_id, "run")
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=stage_first)
    worker.start()
    time.sleep(1.0)
    _restart(server)
    worker.join(timeout=60)
    monkeypatch.delenv("DTKS_FAILPOINT_PAUSE")
    assert isinstance(outcome.get("error"), sa.exc.OperationalError), outcome
    with eng.connect() as conn:   # the connection pool notices the dead connections (pre-ping)
        assert conn.execute(sa.text("SELECT status FROM audit.submission WHERE submission_id = :s"),
                            {"s": refs[0].submission_id}).scalar() == "received"
        assert conn.execute(sa.text("SELECT count(*) FROM staging.submission_row")).scalar() == 0

    # the retry: the rest of the run as the next DAG run does it
    ingest.process_landed(eng, tmp_path / "landing", "retry", archive_dir=tmp_path / "archive")
    assert warehouse_state(eng) == reference_state
