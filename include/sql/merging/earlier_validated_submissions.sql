-- The same district's submissions of the same kind that arrived before this one and wait,
-- validated, for their merge (dtks.merging.merge merges them first, under the district's
-- merge lock, so a district's files reach the registry in arrival order).
-- Bound parameters: :sid the submission about to be merged.
SELECT e.submission_id
FROM audit.submission e, audit.submission s
WHERE s.submission_id = :sid
  AND e.status = 'validated'
  AND e.kind = s.kind
  AND e.kabkota_code IS NOT DISTINCT FROM s.kabkota_code
  AND (e.received_at, e.submission_id) < (s.received_at, s.submission_id)
ORDER BY e.received_at, e.submission_id
