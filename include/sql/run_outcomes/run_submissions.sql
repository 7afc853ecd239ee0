-- The district submissions an ingest run handled (dtks.run_outcomes.ingest_outcomes):
-- every one with an event of run :run, other than being superseded (an earlier
-- file a later one replaced was not handled by this run), with its district's
-- name, in submission order.
-- Bound parameters: :run the run id.
WITH handled AS (
    SELECT submission_id
    FROM audit.submission_event
    WHERE run_id = :run AND event <> 'superseded'
)
SELECT s.*, k.name AS kabkota_name
FROM audit.submission s
LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
WHERE s.kind = 'district' AND s.submission_id IN (SELECT submission_id FROM handled)
ORDER BY s.submission_id
