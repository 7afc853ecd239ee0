-- The auditor page's view of submissions (masked file names), with how many checks ran and failed;
-- the caller adds the WHERE clause (one round's, or one submission's).
-- No bound parameters of its own.
SELECT s.submission_id, s.kind, s.round_id, s.kabkota_code, k.name AS kabkota_name,
       k.province_code, s.file_name, s.sha256, s.size_bytes, s.received_at, s.registered_at,
       s.registered_by_run, s.status, s.reject_reason, s.reject_detail, s.rows_in, s.rows_accepted,
       s.rows_quarantined, s.rows_warned, s.suite_name, s.suite_version, s.merged_at,
       (SELECT count(*) FROM audit.validation_result v
         WHERE v.submission_id = s.submission_id) AS checks_run,
       (SELECT count(*) FROM audit.validation_result v
         WHERE v.submission_id = s.submission_id AND NOT v.success) AS checks_failed
FROM audit.submission_masked s LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
