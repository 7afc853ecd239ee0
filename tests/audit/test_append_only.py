"""Audit rows are append-only in the database: UPDATE, DELETE and TRUNCATE fail; submissions keep their identity."""

import pytest
import sqlalchemy as sa

from dtks import intake, landed_files, staging
from tests import scenario

pytestmark = pytest.mark.postgres


def _refused(eng, sql, params=None, match="audit trail|registry history"):
    with pytest.raises(sa.exc.DBAPIError, match=match), eng.begin() as conn:
        conn.execute(sa.text(sql), params or {})


@pytest.fixture
def merged(wh, dirs, tmp_path, process_landed):
    """The hand-computed round merged, plus one task_run row."""
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    process_landed("run-1")
    with wh.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit.task_run (run_id, dag_id, task_id, started_at, ended_at, outcome, rows_in, rows_out)"
                " VALUES ('run-1', 'dtks_ingest', 'merge_submission', now(), now(), 'success', 5, 4)"
            )
        )
    return wh


@pytest.mark.parametrize(
    "table", ["audit.task_run", "audit.submission_event", "audit.validation_result", "registry.individual_event"]
)
def test_update_delete_truncate_refused(merged, table):
    column = {
        "audit.task_run": "run_id",
        "audit.submission_event": "run_id",
        "audit.validation_result": "run_id",
        "registry.individual_event": "run_id",
    }[table]
    _refused(merged, f"UPDATE {table} SET {column} = 'rewritten'")
    _refused(merged, f"DELETE FROM {table}")
    _refused(merged, f"TRUNCATE {table} CASCADE")
    with merged.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} = 'rewritten'")).scalar() == 0
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() > 0


def test_inserts_and_on_conflict_do_nothing_still_work(merged):
    with merged.begin() as conn:
        row = conn.execute(sa.text("SELECT * FROM audit.validation_result LIMIT 1")).mappings().one()
        conn.execute(
            sa.text(
                "INSERT INTO audit.validation_result (submission_id, suite_name, suite_version, expectation_type,"
                " reason_code, severity, column_name, element_count, unexpected_count, success, run_id)"
                " VALUES (:submission_id, :suite_name, :suite_version, :expectation_type, :reason_code, :severity,"
                " :column_name, 0, 0, true, 'again') ON CONFLICT (submission_id, suite_name, reason_code) DO NOTHING"
            ),
            dict(row),
        )
        conn.execute(
            sa.text(
                "INSERT INTO audit.submission_event (submission_id, event, run_id) VALUES (:s, 'archived', 'run-2')"
            ),
            {"s": row["submission_id"]},
        )


def test_submission_identity_and_outcome_are_protected(merged):
    with merged.connect() as conn:
        sid = conn.execute(
            sa.text(
                "SELECT submission_id FROM audit.submission WHERE status = 'merged' AND kind = 'district'"
                " ORDER BY submission_id LIMIT 1"
            )
        ).scalar()
    for change in (
        "sha256 = repeat('0', 64)",
        "size_bytes = 1",
        "received_at = now()",
        "file_name = 'x.csv'",
        "archive_path = '/elsewhere'",
        "registered_by_run = 'someone'",
        "kind = 'baseline'",
        "landing_path = '/x'",
        "kabkota_code = '3171'",
    ):
        _refused(merged, f"UPDATE audit.submission SET {change} WHERE submission_id = :s", {"s": sid})
    # a merged submission's outcome is final ...
    for change in (
        "rows_accepted = 0",
        "status = 'rejected'",
        "status = 'received'",
        "suite_version = '9'",
        "reject_reason = 'x'",
    ):
        _refused(merged, f"UPDATE audit.submission SET {change} WHERE submission_id = :s", {"s": sid})
    _refused(merged, "DELETE FROM audit.submission WHERE submission_id = :s", {"s": sid})
    _refused(merged, "TRUNCATE audit.submission CASCADE")
    # ... except being superseded by a later file, after which nothing moves
    with merged.begin() as conn:
        conn.execute(sa.text("UPDATE audit.submission SET status = 'superseded' WHERE submission_id = :s"), {"s": sid})
    _refused(merged, "UPDATE audit.submission SET status = 'merged' WHERE submission_id = :s", {"s": sid})


def test_unfinished_submission_lifecycle_still_moves(wh, dirs, tmp_path):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    ref = intake.register(wh, landed_files.discover(dirs["landing"])[0], "run-1", dirs["archive"])
    assert staging.stage(wh, ref.submission_id, "run-1")["status"] == "staged"
    with wh.begin() as conn:  # recovery may send a staged file back to 'received'
        conn.execute(
            sa.text("UPDATE audit.submission SET status = 'received', rows_in = NULL WHERE submission_id = :s"),
            {"s": ref.submission_id},
        )


def test_registry_history_is_closed_never_rewritten(merged):
    with merged.connect() as conn:
        nik = conn.execute(
            sa.text("SELECT nik FROM registry.individual_version WHERE valid_to IS NOT NULL LIMIT 1")
        ).scalar()
        current = conn.execute(
            sa.text("SELECT nik, version_no FROM registry.individual_version WHERE valid_to IS NULL LIMIT 1")
        ).one()
    _refused(merged, "UPDATE registry.individual_version SET nama = 'X' WHERE nik = :n", {"n": nik})
    _refused(
        merged,
        "UPDATE registry.individual_version SET valid_to = now() WHERE nik = :n AND valid_to IS NOT NULL",
        {"n": nik},
    )
    _refused(merged, "DELETE FROM registry.individual_version WHERE nik = :n", {"n": nik})
    _refused(merged, "DELETE FROM registry.household_version")
    _refused(merged, "UPDATE registry.household_version SET rt = '1'")
    with merged.begin() as conn:  # closing the current version is what a merge does: allowed
        conn.execute(
            sa.text("UPDATE registry.individual_version SET valid_to = now() WHERE nik = :n AND version_no = :v"),
            {"n": current.nik, "v": current.version_no},
        )


def test_registry_rows_must_point_at_a_known_submission(merged):
    """Lineage is checked per statement (migration 006): one unknown submission fails the whole statement."""
    with merged.connect() as conn:
        event = conn.execute(sa.text("SELECT nik, submission_id FROM registry.individual_event LIMIT 1")).one()
        before = conn.execute(sa.text("SELECT count(*) FROM registry.individual_event")).scalar_one()
    _refused(
        merged,
        "INSERT INTO registry.individual_event (nik, submission_id, file_row, event, version_no,"
        " verified_on, received_at, run_id)"
        " SELECT nik, 999999, file_row, event, version_no, verified_on, received_at, 'forged'"
        " FROM registry.individual_event WHERE submission_id = :s",
        {"s": event.submission_id},
        match="lineage: rows of registry.individual_event point at submission 999999",
    )
    _refused(
        merged,
        "UPDATE registry.individual SET submission_id = 999999 WHERE nik = :n",
        {"n": event.nik},
        match="lineage: rows of registry.individual point at submission 999999",
    )
    with merged.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual_event")).scalar_one() == before


def test_coverage_changes_are_append_only(merged):
    with merged.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM metrics.coverage_change")).scalar_one() > 0
    _refused(merged, "UPDATE metrics.coverage_change SET persons = persons + 1")
    _refused(merged, "DELETE FROM metrics.coverage_change")
    _refused(merged, "TRUNCATE metrics.coverage_change")
