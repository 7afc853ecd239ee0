-- 004: the round calendar as the ministry runs it, submission policies,
-- complete metrics with rollups and trends, and the penetapan snapshot.
--
-- 1. audit.round gains on_time_grace_days (the "configured grace days" of the
--    on-time definition; 0 by default: on time = by the cut-off) next to
--    grace_days (how long after the cut-off a file still counts for the round,
--    late). audit.round_calendar shows each round's instants in Asia/Jakarta
--    time; audit.round_change records every calendar change with its reason.
-- 2. audit.submission remembers which round folder a file landed in and by
--    which rule it was assigned to a round (after grace: the next open round).
--    Existing data: earlier merged submissions of a district in a round are
--    marked superseded by the latest one, as the policy now does at merge.
-- 3. metrics.district_round gains the index thresholds; province and national
--    rollups gain late districts, update classes, index and record-age figures.
-- 4. Trend views over rounds (national, province, district).
-- 5. The penetapan snapshot: registry.individual_as_of(ts) reproduces the
--    registry at any instant; metrics.penetapan(_district) freeze the counts
--    (and a hash of exactly which record versions) as the round determined them.

-- ================================================================ 1. calendar
ALTER TABLE audit.round
    ADD COLUMN on_time_grace_days integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT round_on_time_grace_check CHECK (on_time_grace_days >= 0 AND on_time_grace_days <= grace_days);

-- The instants a round's rules use. A round closes at the end of its last
-- grace day (cut-off + grace_days), Asia/Jakarta time (WIB).
CREATE VIEW audit.round_calendar AS
SELECT r.round_id, r.status, r.opens_on, r.cutoff_on, r.grace_days, r.on_time_grace_days, r.penetapan_on,
       r.cutoff_on + r.grace_days                                                AS last_grace_day,
       (r.opens_on::timestamp AT TIME ZONE 'Asia/Jakarta')                       AS opens_at,
       ((r.cutoff_on + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')                AS cutoff_at,
       ((r.cutoff_on + r.on_time_grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') AS on_time_until,
       ((r.cutoff_on + r.grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') AS close_at
FROM audit.round r;

-- Every change to the calendar, append-only: who, when, why, before and after.
CREATE TABLE audit.round_change (
    change_id   bigserial PRIMARY KEY,
    round_id    text NOT NULL REFERENCES audit.round,
    change      text NOT NULL CHECK (change IN ('created', 'moved', 'closed', 'reopened')),
    reason      text,
    before      jsonb,
    after       jsonb NOT NULL,
    changed_by  text NOT NULL,          -- an operating-system user (CLI) or an Airflow run id
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (change NOT IN ('moved', 'reopened') OR length(btrim(coalesce(reason, ''))) > 0)
);
CREATE INDEX round_change_round_idx ON audit.round_change (round_id, change_id);

CREATE OR REPLACE FUNCTION audit.refuse_round_change_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER round_change_append_only BEFORE UPDATE OR DELETE ON audit.round_change
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_round_change_edit();

-- Rounds created before this migration get their 'created' row.
INSERT INTO audit.round_change (round_id, change, after, changed_by, changed_at)
SELECT round_id, 'created',
       jsonb_build_object('opens_on', opens_on, 'cutoff_on', cutoff_on, 'grace_days', grace_days,
                          'on_time_grace_days', on_time_grace_days, 'penetapan_on', penetapan_on, 'status', status),
       'migration-004', created_at
FROM audit.round;

-- ================================================================ 2. submissions
ALTER TABLE audit.submission
    ADD COLUMN landed_round_id text,
    ADD COLUMN round_rule text CHECK (round_rule IN ('in_round', 'in_grace', 'after_grace', 'round_closed', 'round_unknown'));
COMMENT ON COLUMN audit.submission.landed_round_id IS 'the round folder the file landed in (round_id is the round it counts for)';
COMMENT ON COLUMN audit.submission.round_rule IS
    'in_round: by the cut-off; in_grace: after the cut-off, within grace (late); after_grace: moved to the next open round; '
    'round_closed / round_unknown: rejected';

-- Resubmissions merged before this migration: the latest accepted submission
-- of a district in a round stands, the earlier ones are superseded.
WITH ranked AS (
    SELECT submission_id, round_id, kabkota_code,
           first_value(submission_id) OVER (PARTITION BY round_id, kabkota_code
                                            ORDER BY received_at DESC, submission_id DESC) AS latest
    FROM audit.submission
    WHERE kind = 'district' AND status = 'merged' AND rows_accepted > 0 AND round_id IS NOT NULL
), superseded AS (
    UPDATE audit.submission s SET status = 'superseded'
    FROM ranked r
    WHERE s.submission_id = r.submission_id AND r.submission_id <> r.latest
    RETURNING s.submission_id, r.latest
)
INSERT INTO audit.submission_event (submission_id, event, run_id, detail)
SELECT submission_id, 'superseded', 'migration-004', jsonb_build_object('superseded_by', latest)
FROM superseded;

-- ================================================================ 3. metrics
ALTER TABLE metrics.district_round
    ADD COLUMN index_ge_070 boolean,
    ADD COLUMN index_ge_075 boolean;

ALTER TABLE metrics.province_round
    ADD COLUMN late_districts           integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_never          integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_under_50       integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_50_plus        integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_index_070      integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_index_075      integer NOT NULL DEFAULT 0,
    ADD COLUMN update_index_mean        numeric(6,4),
    ADD COLUMN record_age_median_days   numeric(8,1),
    ADD COLUMN record_age_p90_days      numeric(8,1),
    ADD COLUMN rows_submitted           integer NOT NULL DEFAULT 0,
    ADD COLUMN rows_accepted            integer NOT NULL DEFAULT 0;

ALTER TABLE metrics.national_round
    ADD COLUMN late_districts           integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_never          integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_under_50       integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_50_plus        integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_index_070      integer NOT NULL DEFAULT 0,
    ADD COLUMN districts_index_075      integer NOT NULL DEFAULT 0,
    ADD COLUMN update_index_mean        numeric(6,4),
    ADD COLUMN record_age_median_days   numeric(8,1),
    ADD COLUMN record_age_p90_days      numeric(8,1),
    ADD COLUMN rows_submitted           integer NOT NULL DEFAULT 0,
    ADD COLUMN rows_accepted            integer NOT NULL DEFAULT 0;

-- ================================================================ 4. trends
-- Each computed round next to the previous computed round (by opening date).
CREATE VIEW metrics.trend_national AS
SELECT n.round_id, r.opens_on, n.expected_districts, n.accepted_districts, n.on_time_districts,
       n.reporting_rate, n.on_time_rate, n.coverage_12m, n.coverage_24m, n.acceptance_rate,
       n.update_index_mean, n.districts_index_070, n.districts_index_075, n.record_age_median_days,
       n.reporting_rate - lag(n.reporting_rate) OVER w   AS reporting_rate_change,
       n.on_time_rate   - lag(n.on_time_rate)   OVER w   AS on_time_rate_change,
       n.coverage_24m   - lag(n.coverage_24m)   OVER w   AS coverage_24m_change,
       n.update_index_mean - lag(n.update_index_mean) OVER w AS update_index_mean_change
FROM metrics.national_round n
JOIN audit.round r USING (round_id)
WINDOW w AS (ORDER BY r.opens_on);

CREATE VIEW metrics.trend_province AS
SELECT p.round_id, r.opens_on, p.province_code, p.province_name, p.expected_districts, p.accepted_districts,
       p.reporting_rate, p.on_time_rate, p.coverage_24m, p.acceptance_rate, p.update_index_mean,
       p.reporting_rate - lag(p.reporting_rate) OVER w   AS reporting_rate_change,
       p.coverage_24m   - lag(p.coverage_24m)   OVER w   AS coverage_24m_change,
       p.update_index_mean - lag(p.update_index_mean) OVER w AS update_index_mean_change
FROM metrics.province_round p
JOIN audit.round r USING (round_id)
WINDOW w AS (PARTITION BY p.province_code ORDER BY r.opens_on);

CREATE VIEW metrics.trend_district AS
SELECT d.round_id, r.opens_on, d.kabkota_code, d.kabkota_name, d.province_code, d.expected, d.accepted,
       d.on_time, d.days_late, d.coverage_24m, d.acceptance_rate, d.missed_rounds, d.update_class, d.update_index,
       d.coverage_24m - lag(d.coverage_24m) OVER w AS coverage_24m_change,
       d.update_index - lag(d.update_index) OVER w AS update_index_change,
       lag(d.update_class) OVER w                  AS previous_update_class
FROM metrics.district_round d
JOIN audit.round r USING (round_id)
WINDOW w AS (PARTITION BY d.kabkota_code ORDER BY r.opens_on);

-- ================================================================ 5. penetapan
-- The registry as it stood at an instant: every person's version valid then.
CREATE OR REPLACE FUNCTION registry.individual_as_of(at_ts timestamptz)
RETURNS SETOF registry.individual_version
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM registry.individual_version v
    WHERE v.valid_from < at_ts AND (v.valid_to IS NULL OR v.valid_to >= at_ts)
$$;

CREATE OR REPLACE FUNCTION registry.household_as_of(at_ts timestamptz)
RETURNS SETOF registry.household_version
LANGUAGE sql STABLE AS $$
    SELECT h.* FROM registry.household_version h
    WHERE h.valid_from < at_ts AND (h.valid_to IS NULL OR h.valid_to >= at_ts)
$$;

-- One row per determination of a round (a round re-determined after a
-- reopening gets the next snapshot_no; rows are never changed).
CREATE TABLE metrics.penetapan (
    round_id            text NOT NULL REFERENCES audit.round,
    snapshot_no         integer NOT NULL,
    as_of               timestamptz NOT NULL,     -- the round's close instant
    penetapan_on        date NOT NULL,
    active_individuals  integer NOT NULL,
    households          integer NOT NULL,
    registry_hash       text NOT NULL,            -- md5 over the districts' hashes, in code order
    taken_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    taken_by_run        text NOT NULL,
    PRIMARY KEY (round_id, snapshot_no)
);

CREATE TABLE metrics.penetapan_district (
    round_id              text NOT NULL,
    snapshot_no           integer NOT NULL,
    kabkota_code          char(4) NOT NULL,
    province_code         char(2) NOT NULL,
    active_individuals    integer NOT NULL,
    inactive_individuals  integer NOT NULL,     -- in the registry, deactivated (moved, deceased, ...)
    households            integer NOT NULL,     -- KKs with at least one active member
    pkh                   integer NOT NULL,
    bpnt                  integer NOT NULL,
    pbi                   integer NOT NULL,
    registry_hash         text NOT NULL,        -- md5 of 'nik:version_no' of its active records, by NIK
    PRIMARY KEY (round_id, snapshot_no, kabkota_code),
    FOREIGN KEY (round_id, snapshot_no) REFERENCES metrics.penetapan
);

CREATE TRIGGER penetapan_append_only BEFORE UPDATE OR DELETE ON metrics.penetapan
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_round_change_edit();
CREATE TRIGGER penetapan_district_append_only BEFORE UPDATE OR DELETE ON metrics.penetapan_district
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_round_change_edit();
