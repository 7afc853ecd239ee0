-- What one submission did to the registry: its records counted by event (masked view).
-- Bound parameters: :sid the submission id.
SELECT event, count(*) AS records FROM registry.individual_event_masked
WHERE submission_id = :sid GROUP BY event ORDER BY event
