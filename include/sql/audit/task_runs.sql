-- Task runs of a round (its own, or runs that touched its submissions), or of one submission's
-- runs: what each task did, when, with which outcome and counts.
-- Bound parameters: :r the round id (NULL when asking for one submission), :sid a submission id
-- (NULL for the whole round).
WITH touched AS (
    SELECT e.run_id FROM audit.submission_event_masked e
    JOIN audit.submission_masked s USING (submission_id)
    WHERE (CAST(:r AS text) IS NOT NULL AND s.round_id = :r) OR s.submission_id = :sid
    UNION
    SELECT s.registered_by_run FROM audit.submission_masked s
    WHERE (CAST(:r AS text) IS NOT NULL AND s.round_id = :r) OR s.submission_id = :sid
)
SELECT t.task_run_id, t.run_id, t.dag_id, t.task_id, t.map_index, t.round_id, t.started_at, t.ended_at,
       t.outcome, t.rows_in, t.rows_out, t.detail,
       extract(epoch FROM t.ended_at - t.started_at) AS seconds
FROM audit.task_run t
WHERE ((CAST(:r AS text) IS NOT NULL AND t.round_id = :r) OR t.run_id IN (SELECT run_id FROM touched))
  AND (CAST(:sid AS bigint) IS NULL OR t.detail -> 'submission_id' IS NULL
       OR t.detail -> 'submission_id' = to_jsonb(CAST(:sid AS bigint)))
ORDER BY t.started_at, t.task_run_id
