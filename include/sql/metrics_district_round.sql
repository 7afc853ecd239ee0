-- Per-district metrics of one round (:round_id), then province and national
-- rollups. Definitions: shared/docs/DOMAIN.md "How updating is measured" and
-- the README's "Rounds, policies and metrics"; this file is the authoritative,
-- auditor-readable form of them.
--
-- Time: the round closes at the end of its last grace day (cut-off + grace
-- days), Asia/Jakarta (audit.round_calendar.close_at). Everything is computed
-- "as of" that instant from the warehouse's history (versions, events,
-- submissions received by then), so re-running a past round later, or
-- computing several past rounds in any order, gives the same figures.
--
-- Submissions: a file counts for the round it was assigned to at
-- registration (dtks.rounds.assign_round: after grace, the next open round).
-- Within a round, the first accepted submission (merged with at least one
-- row accepted, including ones superseded later) decides on-time and days
-- late; the standing one (the latest accepted, status 'merged') gives the
-- rows submitted and accepted.

DELETE FROM metrics.national_round WHERE round_id = :round_id;
DELETE FROM metrics.province_round WHERE round_id = :round_id;
DELETE FROM metrics.district_round WHERE round_id = :round_id;

CREATE TEMP TABLE m_round ON COMMIT DROP AS
SELECT c.round_id, c.opens_on, c.cutoff_on, c.grace_days, c.on_time_grace_days,
       c.last_grace_day AS close_on,   -- the last day of the round (dates in WIB)
       c.close_at,                     -- the instant the round closes
       c.on_time_until                 -- end of cut-off + on-time grace days
FROM audit.round_calendar c WHERE c.round_id = :round_id;

-- Per expected district, per round up to this one (by opening date): its
-- first accepted submission received by that round's close.
CREATE TEMP TABLE m_history ON COMMIT DROP AS
SELECT c.round_id, c.opens_on, e.kabkota_code, c.on_time_until,
       min(s.received_at) AS first_accepted_at
FROM audit.round_calendar c
JOIN audit.round_expected_district e ON e.round_id = c.round_id
LEFT JOIN audit.submission s
       ON s.round_id = c.round_id AND s.kabkota_code = e.kabkota_code AND s.kind = 'district'
      AND s.status IN ('merged', 'superseded') AND s.rows_accepted > 0
      AND s.received_at < c.close_at
WHERE c.opens_on <= (SELECT opens_on FROM m_round)
GROUP BY c.round_id, c.opens_on, e.kabkota_code, c.on_time_until;

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

-- Submissions of this round received by its close: how many, the first
-- accepted, the standing one (latest accepted) and the latest of all.
CREATE TEMP TABLE m_submission_ids ON COMMIT DROP AS
SELECT s.kabkota_code,
       count(*)                                                             AS received,
       min(s.received_at) FILTER (WHERE s.status IN ('merged', 'superseded') AND s.rows_accepted > 0)
                                                                            AS first_accepted_at,
       (array_agg(s.submission_id ORDER BY s.received_at DESC, s.submission_id DESC)
            FILTER (WHERE s.status = 'merged' AND s.rows_accepted > 0))[1]  AS standing_id,
       (array_agg(s.submission_id ORDER BY s.received_at DESC, s.submission_id DESC))[1] AS latest_id
FROM audit.submission s, m_round r
WHERE s.round_id = r.round_id AND s.kind = 'district' AND s.kabkota_code IS NOT NULL
  AND s.received_at < r.close_at
GROUP BY s.kabkota_code;

-- Rows: of the standing submission; with none accepted, of the latest
-- submission (whose rows were all refused: acceptance 0).
CREATE TEMP TABLE m_submission ON COMMIT DROP AS
SELECT i.kabkota_code, i.received, i.first_accepted_at,
       coalesce(s.rows_in, 0)                                               AS rows_submitted,
       CASE WHEN i.standing_id IS NOT NULL THEN s.rows_accepted ELSE 0 END  AS rows_accepted
FROM m_submission_ids i
JOIN audit.submission s ON s.submission_id = coalesce(i.standing_id, i.latest_id);

-- Last accepted submission of each district, any round, received by this round's close.
CREATE TEMP TABLE m_last_accepted ON COMMIT DROP AS
SELECT s.kabkota_code, max(s.received_at) AS last_accepted_at
FROM audit.submission s, m_round r
WHERE s.kind = 'district' AND s.status IN ('merged', 'superseded') AND s.rows_accepted > 0
  AND s.received_at < r.close_at
GROUP BY s.kabkota_code;

-- The registry as it stood at the close: active persons per district, by
-- their last verification (a change or a confirmation: any event received
-- by the close) and whether a district file (not only the baseline) ever
-- verified them. metrics.coverage_change holds how each merge moved persons
-- between these states, timed like the versions and events it wrote
-- (migration 007): the state at the close is the sum of the changes before it.
CREATE TEMP TABLE m_state ON COMMIT DROP AS
SELECT c.kabkota_code, c.last_verified_on, c.by_district, sum(c.persons) AS persons
FROM metrics.coverage_change c, m_round r
WHERE c.changed_at < r.close_at
GROUP BY c.kabkota_code, c.last_verified_on, c.by_district
HAVING sum(c.persons) <> 0;

-- Record age (days from the last verification to the close) as a
-- histogram: for the percentiles, per district and over expected districts
-- per province and nationally (province_code NULL).
CREATE TEMP TABLE m_age_days ON COMMIT DROP AS
SELECT st.kabkota_code, d.province_code, d.expected,
       (r.close_on - st.last_verified_on)::float8 AS age_days, sum(st.persons)::bigint AS persons
FROM m_state st
JOIN m_district d ON d.kabkota_code = st.kabkota_code
CROSS JOIN m_round r
WHERE st.last_verified_on IS NOT NULL
GROUP BY st.kabkota_code, d.province_code, d.expected, r.close_on - st.last_verified_on;

CREATE TEMP TABLE m_coverage ON COMMIT DROP AS
SELECT st.kabkota_code,
       sum(st.persons)                                                                            AS active_records,
       coalesce(sum(st.persons) FILTER (WHERE st.last_verified_on > r.close_on - interval '12 months'), 0) AS verified_12m,
       coalesce(sum(st.persons) FILTER (WHERE st.last_verified_on > r.close_on - interval '24 months'), 0) AS verified_24m,
       (SELECT metrics.histogram_percentile(0.5, array_agg(a.age_days ORDER BY a.age_days),
                                            array_agg(a.persons ORDER BY a.age_days))
        FROM m_age_days a WHERE a.kabkota_code = st.kabkota_code)                                 AS age_median,
       (SELECT metrics.histogram_percentile(0.9, array_agg(a.age_days ORDER BY a.age_days),
                                            array_agg(a.persons ORDER BY a.age_days))
        FROM m_age_days a WHERE a.kabkota_code = st.kabkota_code)                                 AS age_p90,
       coalesce(sum(st.persons) FILTER (WHERE st.by_district), 0)::numeric / sum(st.persons)      AS updated_share
FROM m_state st, m_round r
GROUP BY st.kabkota_code, r.close_on;

-- Missed rounds: rounds in a row, ending with this one, in which the district
-- was expected and had no accepted submission (rounds in which it was not
-- expected neither break nor extend the run).
CREATE TEMP TABLE m_missed ON COMMIT DROP AS
SELECT h.kabkota_code,
       count(*) FILTER (WHERE h.first_accepted_at IS NULL
                          AND h.opens_on > coalesce(last_ok.opens_on, DATE '0001-01-01')) AS missed_rounds
FROM m_history h
LEFT JOIN (
    -- each district's latest round with an accepted submission
    SELECT kabkota_code, max(opens_on) AS opens_on FROM m_history
    WHERE first_accepted_at IS NOT NULL
    GROUP BY kabkota_code
) last_ok ON last_ok.kabkota_code = h.kabkota_code
GROUP BY h.kabkota_code;

-- On-time rate over the last 12 rounds (up to this one) in which the district was expected.
CREATE TEMP TABLE m_on_time_12 ON COMMIT DROP AS
SELECT kabkota_code,
       avg(coalesce(first_accepted_at < on_time_until, false)::int) AS on_time_rate_12r
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
    missed_rounds, updated_since_baseline, update_class, on_time_rate_12r, update_index,
    index_ge_070, index_ge_075)
SELECT x.*, x.update_index >= 0.70, x.update_index >= 0.75
FROM (
SELECT
    r.round_id, d.kabkota_code, d.province_code, d.kabkota_name, d.expected,
    coalesce(s.received, 0) > 0                                              AS submitted,
    s.first_accepted_at IS NOT NULL                                          AS accepted,
    coalesce(s.received, 0)                                                  AS submissions_received,
    s.first_accepted_at,
    la.last_accepted_at,
    coalesce(s.first_accepted_at < r.on_time_until, false)                   AS on_time,
    CASE WHEN s.first_accepted_at IS NULL THEN NULL
         WHEN s.first_accepted_at < r.on_time_until THEN 0
         ELSE (s.first_accepted_at AT TIME ZONE 'Asia/Jakarta')::date - r.cutoff_on END AS days_late,
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
    CASE WHEN s.received > 0
         THEN coalesce(round(s.rows_accepted::numeric / nullif(s.rows_submitted, 0), 4), 0) END AS acceptance_rate,
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
LEFT JOIN m_on_time_12 o     ON o.kabkota_code = d.kabkota_code
) x;

-- Rollups count expected districts only: the denominator is the snapshot
-- taken when the round was put in the calendar, so no rate can exceed 100%.
-- Coverage is weighted by records, acceptance by rows, record age is over
-- the records themselves, the index is the mean of the districts' indices.
CREATE TEMP TABLE m_age ON COMMIT DROP AS
SELECT province_code,
       metrics.histogram_percentile(0.5, array_agg(age_days ORDER BY age_days), array_agg(persons ORDER BY age_days)) AS age_median,
       metrics.histogram_percentile(0.9, array_agg(age_days ORDER BY age_days), array_agg(persons ORDER BY age_days)) AS age_p90
FROM (
    SELECT province_code, age_days, sum(persons)::bigint AS persons
    FROM m_age_days WHERE expected
    GROUP BY GROUPING SETS ((province_code, age_days), (age_days))
) h
GROUP BY province_code;

INSERT INTO metrics.province_round (
    round_id, province_code, province_name, expected_districts, submitted_districts, accepted_districts,
    on_time_districts, reporting_rate, on_time_rate, active_records, coverage_12m, coverage_24m, acceptance_rate,
    late_districts, districts_never, districts_under_50, districts_50_plus, districts_index_070,
    districts_index_075, update_index_mean, record_age_median_days, record_age_p90_days,
    rows_submitted, rows_accepted)
SELECT d.round_id, d.province_code, p.name,
       count(*), count(*) FILTER (WHERE d.submitted), count(*) FILTER (WHERE d.accepted),
       count(*) FILTER (WHERE d.on_time),
       round(avg(d.accepted::int), 4), round(avg(d.on_time::int), 4),
       sum(d.active_records),
       round(sum(d.verified_12m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.verified_24m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.rows_accepted)::numeric / nullif(sum(d.rows_submitted), 0), 4),
       count(*) FILTER (WHERE d.accepted AND NOT d.on_time),
       count(*) FILTER (WHERE d.update_class = 'never'),
       count(*) FILTER (WHERE d.update_class = 'under_50'),
       count(*) FILTER (WHERE d.update_class = '50_plus'),
       count(*) FILTER (WHERE d.index_ge_070),
       count(*) FILTER (WHERE d.index_ge_075),
       round(avg(d.update_index), 4),
       round(min(a.age_median)::numeric, 1), round(min(a.age_p90)::numeric, 1),
       sum(d.rows_submitted), sum(d.rows_accepted)
FROM metrics.district_round d
JOIN ref.province p ON p.code = d.province_code
LEFT JOIN m_age a ON a.province_code = d.province_code
WHERE d.round_id = :round_id AND d.expected
GROUP BY d.round_id, d.province_code, p.name;

INSERT INTO metrics.national_round (
    round_id, expected_districts, submitted_districts, accepted_districts, on_time_districts,
    reporting_rate, on_time_rate, active_records, coverage_12m, coverage_24m, acceptance_rate,
    late_districts, districts_never, districts_under_50, districts_50_plus, districts_index_070,
    districts_index_075, update_index_mean, record_age_median_days, record_age_p90_days,
    rows_submitted, rows_accepted)
SELECT d.round_id,
       count(*), count(*) FILTER (WHERE d.submitted), count(*) FILTER (WHERE d.accepted),
       count(*) FILTER (WHERE d.on_time),
       round(avg(d.accepted::int), 4), round(avg(d.on_time::int), 4),
       sum(d.active_records),
       round(sum(d.verified_12m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.verified_24m)::numeric / nullif(sum(d.active_records), 0), 4),
       round(sum(d.rows_accepted)::numeric / nullif(sum(d.rows_submitted), 0), 4),
       count(*) FILTER (WHERE d.accepted AND NOT d.on_time),
       count(*) FILTER (WHERE d.update_class = 'never'),
       count(*) FILTER (WHERE d.update_class = 'under_50'),
       count(*) FILTER (WHERE d.update_class = '50_plus'),
       count(*) FILTER (WHERE d.index_ge_070),
       count(*) FILTER (WHERE d.index_ge_075),
       round(avg(d.update_index), 4),
       (SELECT round(age_median::numeric, 1) FROM m_age WHERE province_code IS NULL),
       (SELECT round(age_p90::numeric, 1) FROM m_age WHERE province_code IS NULL),
       sum(d.rows_submitted), sum(d.rows_accepted)
FROM metrics.district_round d
WHERE d.round_id = :round_id AND d.expected
GROUP BY d.round_id;
