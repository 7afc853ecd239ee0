"""Record lineage: a NIK changed in round 2 and confirmed in round 3 shows both versions with their submissions."""

import pytest
import sqlalchemy as sa

from dtks import audit, cli, masking
from dtks.validation import load_suite_spec
from tests.audit import scenario3
from tests.builders import SURABAYA

pytestmark = pytest.mark.postgres


def _submission(eng, round_id, district=SURABAYA):
    with eng.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT submission_id, file_name, sha256 FROM audit.submission WHERE round_id = :r AND kabkota_code = :d"
            ),
            {"r": round_id, "d": district},
        ).one()


def test_changed_in_round_2_and_confirmed_in_round_3(three_rounds):
    eng = three_rounds["engine"]
    rows = audit.lineage(eng, scenario3.a2.nik)
    person = [r for r in rows if r["record_type"] == "individual"]
    assert [(r["event"], r["version_no"], r["round_id"] or r["submission_kind"]) for r in person] == [
        ("inserted", 1, "baseline"),
        ("changed", 2, "2026-08"),
        ("changed", 3, "2026-09"),
        ("confirmed", 3, "2026-10"),
    ]
    s2, s3 = _submission(eng, "2026-09"), _submission(eng, "2026-10")
    r2 = person[2]
    assert r2["submission_id"] == s2.submission_id and r2["file_name"] == s2.file_name
    assert r2["changed_columns"] == ["bpnt"]  # what changed: column names only
    assert r2["file_row"] == 2 and r2["file_sha256"] == s2.sha256
    assert (r2["suite_name"], r2["suite_version"]) == ("dtks_submission_rows", load_suite_spec().version)
    assert r2["merge_run_id"] == "ingest-2026-09" and r2["submitted_by_kabkota"] == SURABAYA
    assert r2["valid_to"] is None and r2["event_at"] == scenario3.RECEIVED["2026-09"]
    r3 = person[3]
    assert r3["submission_id"] == s3.submission_id and r3["changed_columns"] == []
    assert r3["merge_run_id"] == "ingest-2026-10" and r3["valid_from"] == r2["valid_from"]  # same version
    assert person[1]["changed_columns"] == ["pbi"] and person[1]["valid_to"] == r2["valid_from"]
    assert all(r["nama_initials"] == "B. A." for r in person)


def test_lineage_by_kk_lists_household_and_members(three_rounds):
    rows = audit.lineage(three_rounds["engine"], scenario3.a1.no_kk)
    households = [(r["event"], r["version_no"], r["changed_columns"]) for r in rows if r["record_type"] == "household"]
    assert households == [("inserted", 1, None), ("changed", 2, ["rt"])]
    members = {r["nik"] for r in rows if r["record_type"] == "individual"}
    assert members == {scenario3.a1.nik, scenario3.a2.nik, scenario3.a5.nik}
    assert [r["event_at"] for r in rows] == sorted(r["event_at"] for r in rows)


def test_masked_lineage_for_auditors(three_rounds):
    reader = audit.AuditReader(audit.auditor_engine(three_rounds["url"]))
    rows = reader.lineage(scenario3.a2.nik)
    assert len(rows) == 4
    assert {r["nik_masked"] for r in rows} == {masking.mask_nik(scenario3.a2.nik)}
    assert all("nik" not in r and "no_kk" not in r for r in rows)
    assert reader.lineage("3578999999999999") == []


def test_lineage_command(three_rounds, capsys):
    assert cli.main(["lineage", scenario3.a2.nik]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 4 + 2  # header, rule, four events
    assert scenario3.a2.nik in out  # the number asked for
    assert "BUDI" not in out and "B. A." in out  # names by initials
    assert "dtks_3578_2026-09.csv:2" in out and "bpnt" in out and "ingest-2026-10" in out
    assert f"dtks_submission_rows@{load_suite_spec().version}" in out
    assert cli.main(["lineage", scenario3.a1.no_kk]) == 0
    out = capsys.readouterr().out
    assert scenario3.a2.nik not in out and masking.mask_identifier(scenario3.a2.nik) in out  # others masked
    assert cli.main(["lineage", "12345"]) == 1
