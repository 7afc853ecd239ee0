"""Masking helpers (Python and SQL give the same answers) and the task row counts; mostly no database."""

import pytest
import sqlalchemy as sa

from dtks import masking, runs

NIK = "3171014108900001"


def test_mask_identifier_and_initials():
    assert masking.mask_identifier(NIK) == "3171**********01"
    assert masking.mask_identifier("") == "" and masking.mask_identifier("12345") == "*****"
    assert masking.initials("BUDI ASTUTI") == "B. A."
    assert masking.initials("  m.  yusuf ") == "M. Y."
    assert masking.initials("") == "" and masking.initials(None) == ""


def test_scrub_masks_nik_like_numbers_but_keeps_hashes():
    sha = "a" * 10 + "3171014108900001234567" + "b" * 32
    assert len(sha) == 64
    text = f"nik {NIK}, lost zero {NIK[1:]}, excel {NIK}.0, hash {sha}, code 3578011001, kk:{NIK}<"
    out = masking.scrub_identifiers(text)
    assert out.startswith("nik 3171**********01, lost zero 1710*********01, excel 3171**********01.0, hash ")
    assert sha in out and "3578011001" in out and "kk:3171**********01<" in out  # a hash is kept whole


def test_mask_value_sent_by_field():
    assert masking.mask_value_sent("nik", NIK) == "3171************"
    assert masking.mask_value_sent("nama", "DEWI LESTARI") == "D. L."
    assert masking.mask_value_sent("kode_desa", "3578011001") == "3578011001"
    assert masking.mask_value_sent("tanggal_lahir", "1982-05-06") == "9999-99-99"
    assert masking.mask_value_sent("alamat", "JL. MELATI 1") == "xx. xxxxxx 9"


def test_mask_record_of_a_feedback_row():
    header = ["baris", "nik", "no_kk", "nama", "field", "value_sent", "alasan"]
    row = ["4", NIK, "3171010201150001", "DEWI LESTARI", "nama", "DEWI", "nama_blank"]
    assert masking.mask_record(header, row) == [
        "4",
        "3171************",
        "3171************",
        "D. L.",
        "nama",
        "D.",
        "nama_blank",
    ]


def test_mask_record_of_a_bilingual_feedback_line():
    """The feedback CSV's header row is bilingual: a NIK sent is masked as a NIK (by its field), not lost."""
    from dtks.feedback_sheets import ROW_HEADERS

    row = ["3", "baris ditolak / row not accepted", "nik", NIK, "nik_checksum", "Alasan", "Reason", "Perbaiki", "2"]
    masked = masking.mask_record(list(ROW_HEADERS), row)
    assert masked[3] == masking.mask_nik(NIK) and NIK not in masked
    assert masked[:3] == row[:3] and masked[4:] == row[4:]


def test_task_result_counts():
    assert runs.task_result_counts({"submission_id": 5, "status": "staged", "rows_in": 7}) == (
        7,
        7,
        {"submission_id": 5, "status": "staged"},
    )
    assert runs.task_result_counts({"submission_id": 5, "status": "merged", "rows_accepted": 4, "events": {}})[:2] == (
        None,
        4,
    )
    rows_in, rows_out, detail = runs.task_result_counts(
        {
            "2": {"status": "validated", "rows_in": 5, "rows_quarantined": 1, "rows_warned": 0},
            "3": {"status": "rejected", "reason": "file_wrong_district"},
        }
    )
    assert (rows_in, rows_out, detail["submission_ids"]) == (5, 4, [2, 3])
    assert runs.task_result_counts([{"submission_id": 1}, {"submission_id": 2}]) == (
        None,
        2,
        {"unit": "submissions", "submission_ids": [1, 2]},
    )
    assert runs.task_result_counts({"round_id": "2026-08", "districts": 3}) == (None, 3, {"unit": "districts"})
    assert runs.task_result_counts(None) == (None, None, {})


@pytest.mark.postgres
@pytest.mark.parametrize("value", [NIK, "3171014108900001.0", "12345", "", None])
def test_sql_masking_matches_python(wh, value):
    with wh.connect() as conn:
        masked, scrubbed = conn.execute(
            sa.text("SELECT audit.mask_identifier(:v), audit.scrub_identifiers(:v)"), {"v": value}
        ).one()
    assert masked == (None if value is None else masking.mask_identifier(value))
    assert scrubbed == (None if value is None else masking.scrub_identifiers(value))


@pytest.mark.postgres
@pytest.mark.parametrize("name", ["BUDI ASTUTI", "  m.  yusuf ", "SITI", ""])
def test_sql_initials_match_python(wh, name):
    with wh.connect() as conn:
        sql = conn.execute(sa.text("SELECT audit.name_initials(:v)"), {"v": name}).scalar()
    assert (sql or "") == masking.initials(name)
