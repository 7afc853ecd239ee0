"""Merge semantics against the real warehouse: insert, change, confirm, deactivate,
idempotent re-runs, a failure mid-merge leaving the registry as it was, and a
verification date that never moves backwards."""

import pytest
import sqlalchemy as sa

from dtks import ingest, merging, staging, warehouse
from tests import scenario
from tests.builders import SURABAYA, land

pytestmark = pytest.mark.postgres


def _registry_state(eng):
    with eng.connect() as conn:
        return {
            "individual": conn.execute(
                sa.text(
                    "SELECT nik, nama, pbi, active, status_keberadaan, version_no, last_verified_on"
                    " FROM registry.individual ORDER BY nik"
                )
            ).all(),
            "versions": conn.execute(
                sa.text(
                    "SELECT nik, version_no, change_kind, valid_from, valid_to FROM registry.individual_version"
                    " ORDER BY nik, version_no"
                )
            ).all(),
            "events": conn.execute(sa.text("SELECT count(*) FROM registry.individual_event")).scalar(),
            "households": conn.execute(
                sa.text("SELECT no_kk, rt, version_no FROM registry.household ORDER BY no_kk")
            ).all(),
        }


def test_insert_change_confirm_deactivate(wh, dirs, tmp_path, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    results = list(process_landed().merged.values())
    assert len(results) == 2
    a_result = next(r for r in results if r["rows_accepted"] == 4)
    assert a_result["events"] == {"confirmed": 1, "changed": 1, "deactivated": 1, "inserted": 1}
    b_result = next(r for r in results if r["rows_accepted"] == 2)
    assert b_result["events"] == {"confirmed": 2}

    with wh.connect() as conn:

        def current(p):
            return conn.execute(
                sa.text(
                    "SELECT pbi, active, status_keberadaan, version_no, last_verified_on::text AS verified"
                    " FROM registry.individual WHERE nik = :n"
                ),
                {"n": p.nik},
            ).one()

        assert tuple(current(scenario.a1)) == (False, True, "1", 1, "2026-08-05")  # confirmed: no new version
        assert tuple(current(scenario.a2)) == (True, True, "1", 2, "2026-08-05")  # changed
        assert tuple(current(scenario.a3)) == (False, False, "3", 2, "2026-08-05")  # deceased: kept, inactive
        assert tuple(current(scenario.a4)) == (False, True, "1", 1, "2023-01-10")  # quarantined row: untouched
        assert tuple(current(scenario.a5)) == (False, True, "1", 1, "2026-08-05")  # newborn inserted

        versions = conn.execute(
            sa.text(
                "SELECT version_no, change_kind, valid_to IS NULL AS current, pbi FROM registry.individual_version"
                " WHERE nik = :n ORDER BY version_no"
            ),
            {"n": scenario.a2.nik},
        ).all()
        assert [tuple(v) for v in versions] == [(1, "inserted", False, False), (2, "changed", True, True)]
        households = conn.execute(
            sa.text(
                "SELECT version_no, rt, valid_to IS NULL AS current FROM registry.household_version"
                " WHERE no_kk = :k ORDER BY version_no"
            ),
            {"k": scenario.a1.no_kk},
        ).all()
        assert [tuple(h) for h in households] == [(1, "001", False), (2, "009", True)]
        # the old version closes exactly when the new one starts
        bounds = conn.execute(
            sa.text(
                "SELECT (SELECT valid_to FROM registry.individual_version WHERE nik = :n AND version_no = 1)"
                " = (SELECT valid_from FROM registry.individual_version WHERE nik = :n AND version_no = 2)"
            ),
            {"n": scenario.a2.nik},
        ).scalar()
        assert bounds is True
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual_version")).scalar() == 10
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual_event")).scalar() == 13
        issues = conn.execute(sa.text("SELECT file_row, reason_code, severity, field FROM quarantine.row_issue")).all()
        assert [tuple(i) for i in issues] == [(4, "nama_blank", "error", "nama")]
        kept = conn.execute(sa.text("SELECT row_data->>'nik' FROM quarantine.rejected_row")).scalars().all()
        assert kept == [scenario.a4.nik]
        # lineage: the change points at the submission and file row that made it
        lineage = conn.execute(
            sa.text(
                "SELECT s.kabkota_code, v.file_row FROM registry.individual_version v"
                " JOIN audit.submission s USING (submission_id) WHERE v.nik = :n AND v.version_no = 2"
            ),
            {"n": scenario.a2.nik},
        ).one()
        assert tuple(lineage) == (SURABAYA, 2)
        # staging is emptied once merged; files are archived, not left in landing
        assert conn.execute(sa.text("SELECT count(*) FROM staging.submission_row")).scalar() == 0
    assert list(dirs["landing"].rglob("*.csv")) == []
    assert len(list(dirs["archive"].rglob("*.csv"))) == 3  # baseline + two submissions


def test_rerunning_is_a_no_op(wh, dirs, tmp_path, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    ids = [r.submission_id for r in process_landed().registered]
    before = _registry_state(wh)
    # every step again on the same submissions: nothing to do
    for sid in ids:
        assert staging.stage(wh, sid, "run-2")["skipped"]
        assert merging.merge(wh, sid, "run-2")["skipped"]
    assert ingest.validate(wh, ids, "run-2") == {}
    # the same files delivered again: recognised by content hash, not registered twice
    scenario.land_round(dirs["landing"])
    again = process_landed("run-3")
    assert again.registered == [] and again.merged == {}
    assert _registry_state(wh) == before
    # and the baseline again
    assert merging.load_baseline(wh, scenario.write_baseline(tmp_path), "again", scenario.BASELINE_AT) == {
        "status": "already loaded"
    }
    assert _registry_state(wh) == before


def test_failure_mid_merge_leaves_the_warehouse_unchanged(wh, dirs, tmp_path, monkeypatch, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    refs = process_landed(until="validate").registered
    before = _registry_state(wh)

    real_read_sql = warehouse.read_sql

    def failing_after_the_writes(name):
        sql = real_read_sql(name)
        # Everything in the merge runs, then the database raises: the transaction must roll back.
        return sql + "\nSELECT 1 / 0;" if name == "merge_submission.sql" else sql

    monkeypatch.setattr(merging, "read_sql", failing_after_the_writes)
    with pytest.raises(sa.exc.DataError):
        merging.merge(wh, refs[0].submission_id, "run-1")
    assert _registry_state(wh) == before
    with wh.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT status FROM audit.submission WHERE submission_id = :s"), {"s": refs[0].submission_id}
            ).scalar()
            == "validated"
        )

    monkeypatch.setattr(merging, "read_sql", real_read_sql)
    assert merging.merge(wh, refs[0].submission_id, "run-1 retry")["status"] == "merged"
    assert _registry_state(wh) != before


def test_last_verification_date_never_moves_back(wh, dirs, tmp_path, process_landed):
    """A row visited before the registry's last verification (a late-typed old form) still records its
    change, but the person's last verification date stays the later one: for a change as for a confirmation."""
    scenario.prepare(wh, tmp_path)  # a1 and a2 last verified 2026-06-01
    land(
        dirs["landing"],
        scenario.ROUND,
        SURABAYA,
        "old_visit.csv",
        [
            scenario.a1.but(tanggal_verifikasi="2026-05-20", pkh="1"),  # changed, visited earlier
            scenario.a2.but(tanggal_verifikasi="2026-05-20"),
        ],  # unchanged, visited earlier
        scenario.A_RECEIVED,
    )
    results = list(process_landed().merged.values())
    assert [r["events"] for r in results] == [{"changed": 1, "confirmed": 1}]
    with wh.connect() as conn:

        def last_verified(p):
            return conn.execute(
                sa.text("SELECT pkh, version_no, last_verified_on::text FROM registry.individual WHERE nik = :n"),
                {"n": p.nik},
            ).one()

        assert tuple(last_verified(scenario.a1)) == (True, 2, "2026-06-01")
        assert tuple(last_verified(scenario.a2)) == (False, 1, "2026-06-01")
        # the version and the event keep the date the row gave
        assert (
            conn.execute(
                sa.text("SELECT verified_on::text FROM registry.individual_version WHERE nik = :n AND version_no = 2"),
                {"n": scenario.a1.nik},
            ).scalar()
            == "2026-05-20"
        )
