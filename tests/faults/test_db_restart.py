"""The warehouse server restarts while a submission is being staged: the task fails
cleanly, nothing half-written remains, and a retry finishes the job exactly. The server
crashes between stage and validate, and between validate and merge: the unlogged staging
tables come back empty, and the archive stages them again."""

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
    refs = ingest.process_landed(
        eng, tmp_path / "landing", "run", archive_dir=tmp_path / "archive", until="register"
    ).registered

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
    with eng.connect() as conn:  # the connection pool notices the dead connections (pre-ping)
        assert (
            conn.execute(
                sa.text("SELECT status FROM audit.submission WHERE submission_id = :s"), {"s": refs[0].submission_id}
            ).scalar()
            == "received"
        )
        assert conn.execute(sa.text("SELECT count(*) FROM staging.submission_row")).scalar() == 0

    # the retry: the rest of the run as the next DAG run does it
    ingest.process_landed(eng, tmp_path / "landing", "retry", archive_dir=tmp_path / "archive")
    assert warehouse_state(eng) == reference_state


def _crash(server) -> None:
    """Stop PostgreSQL without a shutdown checkpoint (as a power cut would) and start it: crash recovery."""
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "immediate", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def _staged_rows(eng) -> tuple[int, int]:
    with eng.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM staging.submission_row),"
                    " (SELECT count(*) FROM staging.normalised_row)"
                )
            ).one()
        )


def test_crash_empties_unlogged_staging_and_the_archive_stages_it_again(
    own_server, tmp_path, monkeypatch, reference_state
):
    """Staging is UNLOGGED: a crash empties it. Validation and then the merge each find their
    submissions' rows gone, stage them again from the archive, and the round ends as if nothing happened."""
    server, url = own_server
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
    for name in ("landing", "archive"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("DTKS_ARCHIVE_DIR", str(tmp_path / "archive"))
    eng = warehouse.engine(url)
    scenario.prepare(eng, tmp_path)
    scenario.land_round(tmp_path / "landing")
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    run = ingest.process_landed(eng, landing, "run", archive_dir=archive, until="stage")
    staged = {sid for sid, r in run.staged.items() if r["status"] == "staged"}
    staged_rows = _staged_rows(eng)
    assert staged and staged_rows[0] > 0 and staged_rows[0] == staged_rows[1]  # as sent, and typed

    _crash(server)  # staged, not yet validated
    assert _staged_rows(eng) == (0, 0)  # unlogged: crash recovery emptied both tables
    run = ingest.process_landed(eng, landing, "after-crash", archive_dir=archive, until="validate")
    validated = {sid for sid, r in run.validated.items() if r["status"] == "validated"}
    assert validated and _staged_rows(eng)[0] > 0

    _crash(server)  # validated, not yet merged
    assert _staged_rows(eng) == (0, 0)
    ingest.process_landed(eng, landing, "after-crash-2", archive_dir=archive)

    state = warehouse_state(eng)
    # each staging again is on record: validation staged every staged file again, the merge every validated one
    restaged = [e for e in state["submission_events"] if e[1] == "restaged"]
    with eng.connect() as conn:
        by_submission = dict(
            conn.execute(
                sa.text(
                    "SELECT submission_id, count(*) FROM audit.submission_event WHERE event = 'restaged'"
                    " GROUP BY submission_id"
                )
            ).all()
        )
    assert by_submission == {sid: 1 + (sid in validated) for sid in staged}
    state["submission_events"] = [e for e in state["submission_events"] if e[1] != "restaged"]
    assert restaged and state == reference_state
