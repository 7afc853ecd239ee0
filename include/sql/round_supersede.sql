-- Resubmission policy (run by dtks.lifecycle.supersede_earlier inside the merge
-- transaction of :sid, under the district's merge lock): the lifecycle's
-- move merged -> superseded, for every submission it applies to at once.
--
-- Of a district's accepted submissions in a round (merged, at least one row
-- accepted), the latest by arrival stands; the others become 'superseded',
-- each with a 'superseded' submission_event naming the one that stands. They
-- stay in history and audit: their registry versions and events are kept,
-- and the first accepted one still decides on-time and days late. A merge
-- that accepted no row supersedes nothing.
-- Returns the ids of the submissions superseded now.
WITH me AS (
    SELECT round_id, kabkota_code FROM audit.submission
    WHERE submission_id = :sid AND kind = 'district' AND status = 'merged' AND rows_accepted > 0
      AND round_id IS NOT NULL AND kabkota_code IS NOT NULL
), accepted AS (
    SELECT s.submission_id, s.received_at
    FROM audit.submission s JOIN me ON s.round_id = me.round_id AND s.kabkota_code = me.kabkota_code
    WHERE s.kind = 'district' AND s.status = 'merged' AND s.rows_accepted > 0
), standing AS (
    SELECT submission_id FROM accepted ORDER BY received_at DESC, submission_id DESC LIMIT 1
), superseded AS (
    UPDATE audit.submission s SET status = 'superseded'
    FROM accepted a
    WHERE s.submission_id = a.submission_id AND a.submission_id <> (SELECT submission_id FROM standing)
    RETURNING s.submission_id
), events AS (
    INSERT INTO audit.submission_event (submission_id, event, run_id, detail)
    SELECT submission_id, 'superseded', :run_id,
           jsonb_build_object('superseded_by', (SELECT submission_id FROM standing))
    FROM superseded
    RETURNING submission_id
)
SELECT submission_id FROM events ORDER BY submission_id;
