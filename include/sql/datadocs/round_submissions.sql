-- The district submissions of round :r for its Data Docs site
-- (dtks.datadocs._round_rows): each file as registered, with its district's
-- name, status and row counts, in district then arrival order.
-- Bound parameters: :r the round id.
SELECT s.submission_id, s.kabkota_code, k.name AS kabkota_name, s.file_name, s.sha256, s.size_bytes,
       s.received_at, s.status, s.reject_reason, s.rows_in, s.rows_accepted, s.rows_quarantined, s.rows_warned
FROM audit.submission s
LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
WHERE s.kind = 'district' AND s.round_id = :r
ORDER BY s.kabkota_code NULLS LAST, s.received_at, s.submission_id
