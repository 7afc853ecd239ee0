-- One submission's row issues with the masked row they belong to, first rows first.
-- Bound parameters: :sid the submission id, :n how many rows at most.
SELECT i.file_row, i.reason_code, i.severity, i.field, i.value_sent_masked, i.detail,
       r.nik_masked, r.nama_initials
FROM quarantine.row_issue_masked i
LEFT JOIN quarantine.rejected_row_masked r USING (submission_id, file_row)
WHERE i.submission_id = :sid ORDER BY i.file_row, i.reason_code LIMIT :n
