-- Every province's figures in every computed round up to :round_id, oldest round first (the report's
-- per-province trend lines of 24-month coverage and on-time rate).
SELECT p.round_id, p.province_code, p.province_name, p.expected_districts, p.accepted_districts,
       p.reporting_rate, p.on_time_rate, p.coverage_24m
FROM metrics.province_round p
JOIN audit.round r USING (round_id)
WHERE r.opens_on <= (SELECT opens_on FROM audit.round WHERE round_id = :round_id)
ORDER BY p.province_code, r.opens_on;
