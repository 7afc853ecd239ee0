-- Which district submissions get feedback now (dtks.feedback.finished_submissions):
-- those in a final status that are one of the ids asked for, or were
-- registered by run :run, or belong to round :round (assigned, or landed in
-- its folder).
-- Bound parameters: :final the final statuses (text[]), :ids submission ids
-- (integer[], may be empty), :run a run id ('' for none), :round a round id
-- (NULL for none).
SELECT submission_id
FROM audit.submission
WHERE kind = 'district' AND status = ANY(:final)
  AND (submission_id = ANY(:ids) OR registered_by_run = :run
       OR (CAST(:round AS text) IS NOT NULL AND (round_id = :round OR landed_round_id = :round)))
ORDER BY submission_id
