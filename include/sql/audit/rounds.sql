-- Every round for the auditor page, newest first: its dates and status, how many districts
-- it expects, its submissions (all, merged, rejected) and the national figures once computed.
-- No bound parameters.
SELECT r.round_id, r.opens_on, r.cutoff_on, r.grace_days, r.penetapan_on, r.status,
       (SELECT count(*) FROM audit.round_expected_district e WHERE e.round_id = r.round_id) AS expected,
       (SELECT count(*) FROM audit.submission_masked s WHERE s.round_id = r.round_id) AS submissions,
       (SELECT count(*) FROM audit.submission_masked s
         WHERE s.round_id = r.round_id AND s.status = 'merged') AS merged,
       (SELECT count(*) FROM audit.submission_masked s
         WHERE s.round_id = r.round_id AND s.status = 'rejected') AS rejected,
       n.accepted_districts, n.reporting_rate, n.on_time_rate, n.coverage_24m, n.acceptance_rate,
       n.computed_at
FROM audit.round r LEFT JOIN metrics.national_round n USING (round_id)
ORDER BY r.opens_on DESC
