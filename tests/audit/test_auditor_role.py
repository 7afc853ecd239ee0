"""The read-only auditor role: connect as a LOGIN user granted dtks_auditor; writes and unmasked reads fail."""

import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import audit, masking
from tests import scenario

pytestmark = pytest.mark.postgres


@pytest.fixture
def auditor_login(wh, dirs, tmp_path, warehouse_url, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    process_landed("run-1")
    user, password = f"dtks_audit_test_{secrets.token_hex(4)}", secrets.token_hex(16)
    with wh.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE dtks_auditor"))
    url = make_url(warehouse_url).set(username=user, password=password)
    eng = sa.create_engine(url)
    yield eng
    eng.dispose()
    with wh.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {user}"))
        conn.execute(sa.text(f"DROP ROLE {user}"))


def _denied(eng, sql):
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with eng.begin() as conn:
            conn.execute(sa.text(sql))


def test_role_is_nologin_and_read_only(wh):
    with wh.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'dtks_auditor'")).scalar() is False
        )


def test_auditor_cannot_write_or_read_unmasked(auditor_login):
    eng = auditor_login
    _denied(
        eng,
        "INSERT INTO audit.task_run (run_id, dag_id, task_id, started_at, ended_at, outcome)"
        " VALUES ('x', 'x', 'x', now(), now(), 'success')",
    )
    _denied(eng, "UPDATE audit.submission SET status = 'rejected'")
    _denied(eng, "DELETE FROM audit.submission_event")
    _denied(eng, "UPDATE metrics.district_round SET expected = false")
    for table in (
        "registry.individual",
        "registry.individual_version",
        "registry.household",
        "registry.individual_event",
        "registry.record_lineage",
        "quarantine.rejected_row",
        "quarantine.row_issue",
        "staging.submission_row",
        "staging.normalised_row",
        "public.schema_migration",
    ):
        _denied(eng, f"SELECT * FROM {table} LIMIT 1")
    _denied(eng, f"SELECT * FROM registry.lineage_of('{scenario.a2.nik}')")
    _denied(eng, "CREATE TABLE audit.mine (x int)")


def test_auditor_reads_audit_metrics_and_masked_views(auditor_login, warehouse_url):
    with auditor_login.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.submission")).scalar() == 3
        assert conn.execute(sa.text("SELECT count(*) FROM audit.validation_result")).scalar() > 0
        conn.execute(sa.text("SELECT * FROM metrics.district_round")).all()
        people = conn.execute(sa.text("SELECT * FROM registry.individual_masked ORDER BY nik_masked")).mappings().all()
        assert len(people) == 8  # the baseline's seven and a newborn
        niks = {p.nik for p in [*scenario.BASELINE, scenario.a5]}
        for row in people:
            assert row["nik_masked"][4:14] == "*" * 10 and row["nik_masked"] not in niks
            assert "nama" not in row and "nik" not in row and "." in row["nama_initials"]
        issues = conn.execute(sa.text("SELECT * FROM quarantine.row_issue_masked")).mappings().all()
        assert [(i["reason_code"], i["field"]) for i in issues] == [("nama_blank", "nama")]
        rejected = conn.execute(sa.text("SELECT nik_masked FROM quarantine.rejected_row_masked")).scalar()
        assert rejected == masking.mask_nik(scenario.a4.nik)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):  # lookups: dtks_lineage only
        with auditor_login.begin() as conn:
            conn.execute(sa.text("SELECT registry.lineage_request(:n)"), {"n": scenario.a2.nik})
    # a member of dtks_lineage (here: through the superuser's SET ROLE) gets the masked answer
    lineage = audit.AuditReader(audit.auditor_engine(warehouse_url)).lineage(scenario.a2.nik)
    assert [r["event"] for r in lineage] == ["inserted", "changed"]
    assert {r["nik_masked"] for r in lineage} == {masking.mask_nik(scenario.a2.nik)}


def test_auditor_engine_runs_as_the_role(wh, warehouse_url):
    eng = audit.auditor_engine(warehouse_url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == "dtks_auditor"
        assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"
    _denied(eng, "SELECT * FROM registry.individual")
    eng.dispose()
