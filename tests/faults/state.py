"""The warehouse's content, free of ids and wall-clock times, for before/after comparisons."""

import sqlalchemy as sa

QUERIES = {
    "submissions": """
        SELECT kabkota_code, sha256, status, reject_reason, rows_in, rows_accepted, rows_quarantined, rows_warned,
               archive_path IS NOT NULL AS archived
        FROM audit.submission ORDER BY sha256""",
    "submission_events": """
        SELECT s.sha256, e.event, count(*) FROM audit.submission_event e JOIN audit.submission s USING (submission_id)
        GROUP BY 1, 2 ORDER BY 1, 2""",
    "validation_results": """
        SELECT s.sha256, v.reason_code, v.unexpected_count, v.suite_version
        FROM audit.validation_result v JOIN audit.submission s USING (submission_id) ORDER BY 1, 2""",
    "individuals": """
        SELECT nik, no_kk, nama, jenis_kelamin, tanggal_lahir, status_keberadaan, pkh, bpnt, pbi, active,
               record_hash, last_verified_on, version_no, valid_from, file_row
        FROM registry.individual ORDER BY nik""",
    "versions": """
        SELECT v.nik, v.version_no, v.change_kind, v.record_hash, v.valid_from, v.valid_to, s.sha256, v.file_row
        FROM registry.individual_version v JOIN audit.submission s USING (submission_id) ORDER BY 1, 2""",
    "events": """
        SELECT e.nik, s.sha256, e.event, e.version_no, e.verified_on
        FROM registry.individual_event e JOIN audit.submission s USING (submission_id) ORDER BY 1, 2""",
    "households": """
        SELECT h.no_kk, h.version_no, h.rt, h.valid_from, h.valid_to FROM registry.household_version h ORDER BY 1, 2""",
    "quarantine": """
        SELECT s.sha256, q.file_row, q.reason_code, q.severity, q.value_sent
        FROM quarantine.row_issue q JOIN audit.submission s USING (submission_id) ORDER BY 1, 2, 3""",
    "rejected_rows": """
        SELECT s.sha256, r.file_row FROM quarantine.rejected_row r JOIN audit.submission s USING (submission_id)
        ORDER BY 1, 2""",
    "staging_left": "SELECT count(*) FROM staging.submission_row",
}


def warehouse_state(eng) -> dict:
    with eng.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(sa.text(sql)).all()] for name, sql in QUERIES.items()}
