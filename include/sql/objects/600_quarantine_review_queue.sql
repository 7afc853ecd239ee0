-- The review queue of NIKs sent by one district while active in another's registry.

-- A NIK sent by one district while active in another's registry is not
-- moved: the row is quarantined (reason nik_active_in_other_district) and
-- waits here. It is 'open' while the NIK is still active elsewhere; it
-- resolves itself once the other district deactivates it (status moved) or
-- the sending district's row is accepted in a later submission.
CREATE OR REPLACE VIEW quarantine.review_queue AS
SELECT q.submission_id,
       s.round_id,
       s.kabkota_code            AS sent_by_kabkota,
       s.file_name,
       s.received_at,
       q.file_row,
       q.source_line,
       q.value_sent              AS nik,
       q.detail                  AS active_in_kabkota,
       i.kabkota_code            AS registry_kabkota,
       i.active                  AS registry_active,
       CASE WHEN i.active AND i.kabkota_code IS DISTINCT FROM s.kabkota_code THEN 'open' ELSE 'resolved' END
                                 AS review_status
FROM quarantine.row_issue q
JOIN audit.submission s ON s.submission_id = q.submission_id
LEFT JOIN registry.individual i ON i.nik = q.value_sent
WHERE q.reason_code = 'nik_active_in_other_district';
