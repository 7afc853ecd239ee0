-- Which NIK/KK a rejected file carried (run by dtks.lifecycle.reject before its
-- staged rows are dropped): lineage lists every attempt (registry.attempts_of).
INSERT INTO quarantine.rejected_file_row (submission_id, file_row, nik, no_kk)
SELECT submission_id, file_row, nullif(btrim(nik), ''), nullif(btrim(no_kk), '')
FROM staging.submission_row
WHERE submission_id = :sid AND (nik IS NOT NULL OR no_kk IS NOT NULL)
ON CONFLICT DO NOTHING
