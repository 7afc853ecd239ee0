-- One submission's events (masked), in the order they happened.
-- Bound parameters: :sid the submission id.
SELECT event_id, event, at, run_id, detail FROM audit.submission_event_masked
WHERE submission_id = :sid ORDER BY at, event_id
