-- 007: coverage kept as it changes (issue 7: metrics of 514 districts over
-- 24 rounds in seconds, whatever the size of the registry).
--
-- A round's coverage figures (active records, verified in 12/24 months,
-- record age, updated since the baseline) describe the registry as it stood
-- at the round's close. Computing that state from every version and event
-- of every person took a full pass over the registry's history per round.
-- Instead each merge records how it moved people between coverage states:
--
--   metrics.coverage_change: per submission, per (district, last
--   verification date, verified by a district file or only by the baseline),
--   how many active persons entered (+) or left (−) that state.
--
-- The registry at instant T is then the sum of the changes with
-- changed_at < T: exactly "the versions valid at T and the events received
-- before T" of the previous definition, because changed_at is the received_at
-- that times the versions and events of the same merge. A test recomputes
-- the state the old way at every round close and compares.

ALTER TABLE registry.individual
    ADD COLUMN IF NOT EXISTS verified_by_district boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN registry.individual.verified_by_district IS
    'true once any district file (not only the baseline) confirmed or changed this person';

UPDATE registry.individual i SET verified_by_district = true
WHERE EXISTS (SELECT 1 FROM registry.individual_event e
              JOIN audit.submission s ON s.submission_id = e.submission_id
              WHERE e.nik = i.nik AND s.kind = 'district');

CREATE TABLE metrics.coverage_change (
    submission_id     bigint NOT NULL REFERENCES audit.submission,
    changed_at        timestamptz NOT NULL,   -- the submission's received_at (the registry's logical time)
    kabkota_code      char(4) NOT NULL,
    last_verified_on  date,                    -- NULL: never given a verification date
    by_district       boolean NOT NULL,        -- verified by a district file at least once
    persons           integer NOT NULL CHECK (persons <> 0)
);
CREATE INDEX coverage_change_at_idx ON metrics.coverage_change (changed_at);
CREATE INDEX coverage_change_submission_idx ON metrics.coverage_change (submission_id);

CREATE TRIGGER coverage_change_append_only BEFORE UPDATE OR DELETE ON metrics.coverage_change
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER coverage_change_no_truncate BEFORE TRUNCATE ON metrics.coverage_change
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- The changes of the history already merged: replay every person's events
-- in arrival order. After each event a person is in the state of the
-- version the event left (district, active) with the running latest
-- verification date and "ever by a district file"; the event moves the
-- person out of the state after the previous event.
INSERT INTO metrics.coverage_change (submission_id, changed_at, kabkota_code, last_verified_on, by_district, persons)
WITH after_event AS (
    SELECT e.nik, e.submission_id, e.received_at, v.kabkota_code, v.active,
           max(e.verified_on) OVER w           AS last_verified_on,
           bool_or(s.kind = 'district') OVER w AS by_district
    FROM registry.individual_event e
    JOIN audit.submission s ON s.submission_id = e.submission_id
    JOIN registry.individual_version v ON v.nik = e.nik AND v.version_no = e.version_no
    WINDOW w AS (PARTITION BY e.nik ORDER BY e.received_at, e.submission_id ROWS UNBOUNDED PRECEDING)
), moves AS (
    SELECT a.*,
           lag(a.kabkota_code) OVER p     AS before_kabkota,
           lag(a.active) OVER p           AS before_active,
           lag(a.last_verified_on) OVER p AS before_verified_on,
           lag(a.by_district) OVER p      AS before_by_district
    FROM after_event a
    WINDOW p AS (PARTITION BY a.nik ORDER BY a.received_at, a.submission_id)
)
SELECT submission_id, received_at, kabkota_code, last_verified_on, by_district, sum(persons)::integer
FROM (
    SELECT submission_id, received_at, kabkota_code, last_verified_on, by_district, 1 AS persons
    FROM moves WHERE active
    UNION ALL
    SELECT submission_id, received_at, before_kabkota, before_verified_on, before_by_district, -1
    FROM moves WHERE before_active
) d
GROUP BY submission_id, received_at, kabkota_code, last_verified_on, by_district
HAVING sum(persons) <> 0;

-- percentile_cont(fraction) of a multiset given as sorted distinct values
-- and their counts: the same interpolation as PostgreSQL's percentile_cont
-- (position fraction * (n - 1), linear between its neighbours).
CREATE OR REPLACE FUNCTION metrics.histogram_percentile(fraction float8, vals float8[], counts bigint[])
RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    total bigint := 0;
    pos float8;
    first_row bigint;
    second_row bigint;
    first_val float8;
    second_val float8;
    seen bigint := 0;
BEGIN
    SELECT sum(c) INTO total FROM unnest(counts) c;
    IF total IS NULL OR total = 0 THEN
        RETURN NULL;
    END IF;
    pos := fraction * (total - 1);
    first_row := floor(pos);
    second_row := ceil(pos);
    FOR i IN 1 .. coalesce(array_length(vals, 1), 0) LOOP
        IF first_val IS NULL AND first_row < seen + counts[i] THEN
            first_val := vals[i];
        END IF;
        IF second_row < seen + counts[i] THEN
            second_val := vals[i];
            EXIT;
        END IF;
        seen := seen + counts[i];
    END LOOP;
    IF first_row = second_row THEN
        RETURN first_val;
    END IF;
    RETURN first_val + (second_val - first_val) * (pos - first_row);
END;
$$;

GRANT SELECT ON metrics.coverage_change TO dtks_auditor;
