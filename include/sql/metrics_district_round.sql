-- Per-district metrics of one round (:round_id), then province and national
-- rollups. Definitions: shared/docs/DOMAIN.md "How updating is measured";
-- this file is the authoritative, auditor-readable form of them.
--
-- Time: the round closes at the end of (cut-off + grace days), Asia/Jakarta.
-- Everything is computed "as of" that instant from the warehouse's history
-- (versions, events, submissions received by then), so re-running a past
-- round later gives the same figures.

DELETE FROM metrics.national_round WHERE round_id = :round_id;
DELETE FROM metrics.province_round WHERE round_id = :round_id;
DELETE FROM metrics.district_round WHERE round_id = :round_id;

CREATE TEMP TABLE m_round ON COMMIT DROP AS
SELECT r.round_id, r.opens_on, r.cutoff_on, r.grace_days,
       r.cutoff_on + r.grace_days                                           AS close_on,
       ((r.cutoff_on + r.grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') AS close_at
FROM audit.round r WHERE r.round_id = :round_id;

-- Per district, per round up to this one: was it expected, accepted, on time?
CREATE TEMP TABLE m_history ON COMMIT DROP AS
SELECT r.round_id, r.opens_on, e.kabkota_code,
       min(s.received_at) FILTER (WHERE s.status IN ('merged', 'superseded') AND s.rows_accepted > 0) AS first_accepted_at,
       r.cutoff_on, r.grace_days
FROM audit.round r
JOIN audit.round_expected_district e ON e.round_id = r.round_id
LEFT JOIN audit.submission s
       ON s.round_id = r.round_id AND s.kabkota_code = e.kabkota_code AND s.kind = 'district'
      AND s.received_at < ((r.cutoff_on + r.grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')
WHERE r.opens_on <= (SELECT opens_on FROM m_round)
GROUP BY r.round_id, r.opens_on, e.kabkota_code, r.cutoff_on, r.grace_days;

-- The districts of this round: the expected set, plus any district that sent
-- a file without being expected (shown, but outside the rates' denominator).
CREATE TEMP TABLE m_district ON COMMIT DROP AS
SELECT k.code AS kabkota_code, k.province_code, k.name AS kabkota_name,
       EXISTS (SELECT 1 FROM audit.round_expected_district e
               WHERE e.round_id = :round_id AND e.kabkota_code = k.code) AS expected
FROM ref.kabkota k
WHERE k.code IN (SELECT kabkota_code FROM audit.round_expected_district WHERE round_id = :round_id
                 UNION
                 SELECT kabkota_code FROM audit.submission WHERE round_id = :round_id AND kind = 'district'
                                                             AND kabkota_code IS NOT NULL);

-- Submissions of this round received by its close.
CREATE TEMP TABLE m_submission ON COMMIT DROP AS
SELECT s.kabkota_code,
       count(*)                                                             AS received,
       min(s.received_at) FILTER (WHERE s.status IN ('merged', 'superseded') AND s.rows_accepted > 0) AS first_accepted_at,
       coalesce(sum(s.rows_in) FILTER (WHERE s.status <> 'superseded'), 0)   AS rows_submitted,
       coalesce(sum(s.rows_accepted) FILTER (WHERE s.status = 'merged'), 0)  AS rows_accepted
FROM audit.submission s, m_round r
WHERE s.round_id = r.round_id AND s.kind = 'district' AND s.received_at < r.close_at
GROUP BY s.kabkota_code;

-- Last accepted submission of each district, any round, by this round's close.
CREATE TEMP TABLE m_last_accepted ON COMMIT DROP AS
SELECT s.kabkota_code, max(s.received_at) AS last_accepted_at
FROM audit.submission s, m_round r
WHERE s.kind = 'district' AND s.status IN ('merged', 'superseded') AND s.rows_accepted > 0
  AND s.received_at < r.close_at
GROUP BY s.kabkota_code;

-- The registry as it stood at the close: active individuals and, for each,
-- the last verification (change or confirmation) received by then.
CREATE TEMP TABLE m_record ON COMMIT DROP AS
SELECT v.kabkota_code, v.nik,
       (SELECT max(ev.verified_on) FROM registry.individual_event ev
         WHERE ev.nik = v.nik AND ev.received_at < r.close_at)             AS last_verified_on,
       EXISTS (SELECT 1 FROM registry.individual_event ev
               JOIN audit.submission s ON s.submission_id = ev.submission_id
               WHERE ev.nik = v.nik AND ev.received_at < r.close_at AND s.kind = 'district') AS updated_since_baseline
FROM registry.individual_version v, m_round r
WHERE v.active
  AND v.valid_from < r.close_at
  AND (v.valid_to IS NULL OR v.valid_to >= r.close_at);

CREATE TEMP TABLE m_coverage ON COMMIT DROP AS
SELECT rec.kabkota_code,
       count(*)                                                                          AS active_records,
       count(*) FILTER (WHERE rec.last_verified_on > r.close_on - interval '12 months')  AS verified_12m,
       count(*) FILTER (WHERE rec.last_verified_on > r.close_on - interval '24 months')  AS verified_24m,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.close_on - rec.last_verified_on)   AS age_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY r.close_on - rec.last_verified_on)   AS age_p90,
       avg(rec.updated_since_baseline::int)                                             AS updated_share
FROM m_record rec, m_round r
GROUP BY rec.kabkota_code;

-- Rounds in a row, ending with this one, in which the district was expected
-- and had no accepted submission.
CREATE TEMP TABLE m_missed ON COMMIT DROP AS
SELECT h.kabkota_code,
       count(*) FILTER (WHERE h.first_accepted_at IS NULL
                          AND h.opens_on > coalesce(last_ok.opens_on, DATE '0001-01-01')) AS missed_rounds
FROM m_history h
LEFT JOIN LATERAL (
    SELECT max(h2.opens_on) AS opens_on FROM m_history h2
    WHERE h2.kabkota_code = h.kabkota_code AND h2.first_accepted_at IS NOT NULL
) last_ok ON true
GROUP BY h.kabkota_code;

-- On-time rate over the last 12 rounds (up to this one) in which the district was expected.
CREATE TEMP TABLE m_on_time_12 ON COMMIT DROP AS
SELECT kabkota_code,
       avg((first_accepted_at IS NOT NULL
            AND (first_accepted_at AT TIME ZONE 'Asia/Jakarta')::date <= cutoff_on + grace_days)::int) AS on_time_rate_12r
FROM (
    SELECT h.*, row_number() OVER (PARTITION BY h.kabkota_code ORDER BY h.opens_on DESC) AS recency
    FROM m_history h
) last12
WHERE recency <= 12
GROUP BY kabkota_code;

INSERT INTO metrics.district_round (
    round_id, kabkota_code, province_code, kabkota_name, expected, submitted, accepted,
    submissions_received, first_accepted_at, last_accepted_at, on_time, days_late, submission_lag_days,
    active_records, verified_12m, verified_24m, coverage_12m, coverage_24m,
    record_age_median_days, record_age_p90_days, rows_submitted, rows_accepted, acceptance_rate,
    missed_rounds, updated_since_baseline, update_class, on_time_rate_12r, update_index)
SELECT
    r.round_id, d.kabkota_code, d.province_code, d.kabkota_name, d.expected,
    coalesce(s.received, 0) > 0                                              AS submitted,
    s.first_accepted_at IS NOT NULL                                          AS accepted,
    coalesce(s.received, 0)                                                  AS submissions_received,
    s.first_accepted_at,
    la.last_accepted_at,
    coalesce((s.first_accepted_at AT TIME ZONE 'Asia/Jakarta')::date <= r.cutoff_on + r.grace_days, false) AS on_time,
    CASE WHEN s.first_accepted_at IS NOT NULL
         THEN greatest(0, (s.first_accepted_at AT TIME ZONE 'Asia/Jakarta')::date - r.cutoff_on) END AS days_late,
    r.close_on - (la.last_accepted_at AT TIME ZONE 'Asia/Jakarta')::date     AS submission_lag_days,
    coalesce(c.active_records, 0),
    coalesce(c.verified_12m, 0),
    coalesce(c.verified_24m, 0),
    round(c.verified_12m::numeric / nullif(c.active_records, 0), 4)          AS coverage_12m,
    round(c.verified_24m::numeric / nullif(c.active_records, 0), 4)          AS coverage_24m,
    round(c.age_median::numeric, 1),
    round(c.age_p90::numeric, 1),
    coalesce(s.rows_submitted, 0),
    coalesce(s.rows_accepted, 0),
    round(s.rows_accepted::numeric / nullif(s.rows_submitted, 0), 4)         AS acceptance_rate,
    coalesce(m.missed_rounds, 0),
    round(coalesce(c.updated_share, 0)::numeric, 4),
    CASE WHEN la.last_accepted_at IS NULL OR coalesce(c.updated_share, 0) = 0 THEN 'never'
         WHEN c.updated_share < 0.5 THEN 'under_50'
         ELSE '50_plus' END                                                  AS update_class,
    round(o.on_time_rate_12r::numeric, 4),
    round(0.50 * coalesce(c.verified_24m::numeric / nullif(c.active_records, 0), 0)
        + 0.25 * coalesce(o.on_time_rate_12r::numeric, 0)
        + 0.25 * coalesce(s.rows_accepted::numeric / nullif(s.rows_submitted, 0), 0), 4) AS update_index
FROM m_district d
CROSS JOIN m_round r
LEFT JOIN m_submission s     ON s.kabkota_code = d.kabkota_code
LEFT JOIN m_last_accepted la ON la.kabkota_code = d.kabkota_code
LEFT JOIN m_coverage c       ON c.kabkota_code = d.kabkota_code
LEFT JOIN m_missed m         ON m.kabkota_code = d.kabkota_code
LEFT JOIN m_on_time_12 o     ON o.kabkota_code = d.kabkota_code;

-- Rollups count expected districts only: the denominator is the snapshot
-- taken when the round opened, so no rate can exceed 100%.
INSERT INTO metrics.province_round (
    round_id, province_code, province_name, expected_districts, submitted_districts, accepted_districts,
    on_time_districts, reporting_rate, on_time_rate, active_records, coverage_12m, coverage_24m, acceptance_rate)
SELECT d.round_id, d.province_code, p.name,
       count(*), count(*) FILTER (WHERE d.submitted), count(*) FILTER (WHERE d.accepted),
       count(*) FILTER (WHERE d.on_time),
       round(avg(d.accepted::int), 4), round(avg(d.on_time::int), 4),
       sum(d.active_records),
       round(sum(d.verified_12m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.verified_24m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.rows_accepted)::numeric / nullif(sum(d.rows_submitted), 0), 4)
FROM metrics.district_round d
JOIN ref.province p ON p.code = d.province_code
WHERE d.round_id = :round_id AND d.expected
GROUP BY d.round_id, d.province_code, p.name;

INSERT INTO metrics.national_round (
    round_id, expected_districts, submitted_districts, accepted_districts, on_time_districts,
    reporting_rate, on_time_rate, active_records, coverage_12m, coverage_24m, acceptance_rate)
SELECT d.round_id,
       count(*), count(*) FILTER (WHERE d.submitted), count(*) FILTER (WHERE d.accepted),
       count(*) FILTER (WHERE d.on_time),
       round(avg(d.accepted::int), 4), round(avg(d.on_time::int), 4),
       sum(d.active_records),
       round(sum(d.verified_12m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.verified_24m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.rows_accepted)::numeric / nullif(sum(d.rows_submitted), 0), 4)
FROM metrics.district_round d
WHERE d.round_id = :round_id AND d.expected
GROUP BY d.round_id;
