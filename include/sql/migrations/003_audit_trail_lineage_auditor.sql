-- 003: an audit trail that cannot be rewritten, record lineage, and the
-- read-only, masked view of the warehouse that auditors get.
--
-- 1. Append-only audit rows (enforced here, not by convention):
--    audit.task_run, audit.submission_event, audit.validation_result and
--    registry.individual_event refuse UPDATE, DELETE and TRUNCATE (INSERT ...
--    ON CONFLICT DO NOTHING still works: it updates nothing).
--    audit.submission is a lifecycle row the pipeline updates (status, counts),
--    so it is guarded column by column: its identity (id, kind, file name and
--    paths, sha256, size, received/registered time, registering run; archive
--    path, round, district and manifest once set) never changes; once a
--    submission is merged, rejected or superseded its outcome is frozen (the
--    only move left is merged/rejected -> superseded); it is never deleted.
--    Registry history (individual_version, household_version) is never
--    deleted and a version's only possible change is closing it (valid_to
--    from NULL to a time).
--    A table owner can still ALTER TABLE ... DISABLE TRIGGER: that is DDL,
--    logged by the server, and production pipeline roles should not own the
--    tables (docs/auditors.md).
-- 2. Record lineage: registry.record_lineage (every version and every event
--    of a person or household with the columns that changed, the submission,
--    district, file, file row, suite version and run) and registry.lineage_of().
-- 3. Masking helpers and masked views of registry and quarantine.
-- 4. The NOLOGIN role dtks_auditor: SELECT on audit, metrics, ref and on the
--    masked views only; nothing on registry/quarantine base tables or staging.

-- ================================================================ 1. append-only
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING HINT = 'audit and history rows are never changed or deleted; insert a new row instead';
END;
$$;

CREATE TRIGGER task_run_append_only BEFORE UPDATE OR DELETE ON audit.task_run
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER task_run_no_truncate BEFORE TRUNCATE ON audit.task_run
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

CREATE TRIGGER submission_event_append_only BEFORE UPDATE OR DELETE ON audit.submission_event
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER submission_event_no_truncate BEFORE TRUNCATE ON audit.submission_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

CREATE TRIGGER validation_result_append_only BEFORE UPDATE OR DELETE ON audit.validation_result
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER validation_result_no_truncate BEFORE TRUNCATE ON audit.validation_result
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

CREATE TRIGGER individual_event_append_only BEFORE UPDATE OR DELETE ON registry.individual_event
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER individual_event_no_truncate BEFORE TRUNCATE ON registry.individual_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- audit.submission: identity fixed, outcome frozen once final, never deleted.
CREATE OR REPLACE FUNCTION audit.guard_submission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    frozen audit.submission;
BEGIN
    IF NEW.submission_id IS DISTINCT FROM OLD.submission_id
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.file_name IS DISTINCT FROM OLD.file_name
       OR NEW.landing_path IS DISTINCT FROM OLD.landing_path
       OR NEW.sha256 IS DISTINCT FROM OLD.sha256
       OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes
       OR NEW.received_at IS DISTINCT FROM OLD.received_at
       OR NEW.registered_at IS DISTINCT FROM OLD.registered_at
       OR NEW.registered_by_run IS DISTINCT FROM OLD.registered_by_run
       OR (OLD.archive_path IS NOT NULL AND NEW.archive_path IS DISTINCT FROM OLD.archive_path)
       OR (OLD.round_id IS NOT NULL AND NEW.round_id IS DISTINCT FROM OLD.round_id)
       OR (OLD.kabkota_code IS NOT NULL AND NEW.kabkota_code IS DISTINCT FROM OLD.kabkota_code)
       OR (OLD.manifest IS NOT NULL AND NEW.manifest IS DISTINCT FROM OLD.manifest) THEN
        RAISE EXCEPTION 'audit trail: the identity of submission % (file, hash, size, times, run) cannot change',
            OLD.submission_id;
    END IF;
    IF OLD.status IN ('merged', 'rejected', 'superseded') THEN
        -- the outcome is final: every column stays; only merged/rejected -> superseded is allowed
        frozen := NEW;
        frozen.status := OLD.status;
        IF frozen IS DISTINCT FROM OLD
           OR (NEW.status <> OLD.status AND NOT (OLD.status IN ('merged', 'rejected') AND NEW.status = 'superseded')) THEN
            RAISE EXCEPTION 'audit trail: submission % is % and its outcome can no longer change',
                OLD.submission_id, OLD.status;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER submission_guard BEFORE UPDATE ON audit.submission
    FOR EACH ROW EXECUTE FUNCTION audit.guard_submission();
CREATE TRIGGER submission_no_delete BEFORE DELETE ON audit.submission
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER submission_no_truncate BEFORE TRUNCATE ON audit.submission
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- Registry history: a version is only ever closed (valid_to NULL -> a time).
CREATE OR REPLACE FUNCTION audit.guard_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_only jsonb := to_jsonb(OLD) - 'valid_to';
BEGIN
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR (to_jsonb(NEW) - 'valid_to') IS DISTINCT FROM closed_only THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER individual_version_history BEFORE UPDATE ON registry.individual_version
    FOR EACH ROW EXECUTE FUNCTION audit.guard_version();
CREATE TRIGGER individual_version_no_delete BEFORE DELETE ON registry.individual_version
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER individual_version_no_truncate BEFORE TRUNCATE ON registry.individual_version
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

CREATE TRIGGER household_version_history BEFORE UPDATE ON registry.household_version
    FOR EACH ROW EXECUTE FUNCTION audit.guard_version();
CREATE TRIGGER household_version_no_delete BEFORE DELETE ON registry.household_version
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER household_version_no_truncate BEFORE TRUNCATE ON registry.household_version
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- ================================================================ masking helpers
-- The same rule as dtks.identifiers.mask_identifier: 3171**********01.
CREATE OR REPLACE FUNCTION audit.mask_identifier(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) <= 6 THEN repeat('*', length(value))
        ELSE left(value, 4) || repeat('*', length(value) - 6) || right(value, 2)
    END
$$;

-- 'BUDI ASTUTI' -> 'B. A.' (same rule as dtks.audit.initials).
CREATE OR REPLACE FUNCTION audit.name_initials(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(string_agg(upper(left(w, 1)) || '.', ' ' ORDER BY n), '')
    FROM regexp_split_to_table(btrim(coalesce(value, '')), '[[:space:]]+') WITH ORDINALITY AS t(w, n)
    WHERE w ~ '[[:alnum:]]'
$$;

-- Any run of 13+ digits in free text (a NIK, KK, a NIK with lost zeros or a
-- '.0' suffix) becomes 3171**********01.
CREATE OR REPLACE FUNCTION audit.scrub_identifiers(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(value, '([0-9]{4})[0-9]{7,}([0-9]{2})', '\1**********\2', 'g')
$$;

-- A value as sent, as an auditor may see it: identifiers masked, names by
-- initials, codes and flags as sent, anything else reduced to its shape.
CREATE OR REPLACE FUNCTION audit.mask_value_sent(field text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN field IN ('nik', 'no_kk', 'id_dtks') THEN audit.mask_identifier(value)
        WHEN field IN ('nama', 'nama_ibu_kandung') THEN coalesce(audit.name_initials(value), '')
        WHEN field IN ('jenis_kelamin', 'hubungan_keluarga', 'kode_desa', 'status_keberadaan',
                       'tanggal_verifikasi', 'pkh', 'bpnt', 'pbi', 'rt', 'rw') THEN audit.scrub_identifiers(value)
        ELSE regexp_replace(regexp_replace(value, '[0-9]', '9', 'g'), '[[:alpha:]]', 'x', 'g')
    END
$$;

-- ================================================================ 2. record lineage
-- Lineage by KK looks up every version that carried the KK number.
CREATE INDEX IF NOT EXISTS individual_version_kk_idx ON registry.individual_version (no_kk);
CREATE INDEX IF NOT EXISTS task_run_round_idx ON audit.task_run (round_id);

-- Every event of every person (inserted / changed / confirmed / deactivated /
-- reactivated) and every household version, with what changed since the
-- previous version (column names only), when, and where it came from.
CREATE OR REPLACE VIEW registry.record_lineage AS
WITH person_version AS (
    SELECT v.nik, v.version_no, v.no_kk, v.nama, v.status_keberadaan, v.active, v.kode_desa, v.kabkota_code,
           v.valid_from, v.valid_to,
           a.attrs,
           lag(a.attrs) OVER (PARTITION BY v.nik ORDER BY v.version_no) AS previous_attrs
    FROM registry.individual_version v
    CROSS JOIN LATERAL (SELECT to_jsonb(v) - ARRAY['nik', 'version_no', 'change_kind', 'record_hash', 'verified_on',
                                                   'valid_from', 'valid_to', 'submission_id', 'file_row', 'run_id',
                                                   'recorded_at'] AS attrs) a
),
household_version AS (
    SELECT h.*,
           jsonb_build_object('kode_desa', h.kode_desa, 'kabkota_code', h.kabkota_code, 'alamat', h.alamat,
                              'rt', h.rt, 'rw', h.rw) AS attrs,
           lag(jsonb_build_object('kode_desa', h.kode_desa, 'kabkota_code', h.kabkota_code, 'alamat', h.alamat,
                                  'rt', h.rt, 'rw', h.rw)) OVER (PARTITION BY h.no_kk ORDER BY h.version_no) AS previous_attrs
    FROM registry.household_version h
),
events AS (
    SELECT 'individual'::text AS record_type,
           pv.nik,   -- the window's partition column: a filter on it reaches the version scan
           pv.no_kk,
           audit.name_initials(pv.nama) AS nama_initials,
           e.event,
           e.version_no,
           CASE
               WHEN e.event = 'inserted' THEN NULL
               WHEN e.event = 'confirmed' THEN ARRAY[]::text[]
               ELSE ARRAY(SELECT k.key FROM jsonb_each(pv.attrs) k
                          WHERE k.value IS DISTINCT FROM pv.previous_attrs -> k.key ORDER BY k.key)
           END AS changed_columns,
           e.received_at AS event_at,
           pv.valid_from,
           pv.valid_to,
           e.verified_on,
           pv.status_keberadaan,
           pv.active,
           pv.kode_desa::text AS kode_desa,
           e.submission_id,
           e.file_row,
           e.run_id
    FROM registry.individual_event e
    JOIN person_version pv ON pv.nik = e.nik AND pv.version_no = e.version_no
    UNION ALL
    SELECT 'household'::text,
           NULL::char(16),
           hv.no_kk,
           NULL::text,
           CASE WHEN hv.previous_attrs IS NULL THEN 'inserted' ELSE 'changed' END,
           hv.version_no,
           CASE WHEN hv.previous_attrs IS NULL THEN NULL
                ELSE ARRAY(SELECT k.key FROM jsonb_each(hv.attrs) k
                           WHERE k.value IS DISTINCT FROM hv.previous_attrs -> k.key ORDER BY k.key) END,
           hv.valid_from,
           hv.valid_from,
           hv.valid_to,
           NULL::date,
           NULL::text,
           NULL::boolean,
           hv.kode_desa::text,
           hv.submission_id,
           hv.file_row,
           hv.run_id
    FROM household_version hv
)
SELECT ev.record_type, ev.nik, ev.no_kk, ev.nama_initials, ev.event, ev.version_no, ev.changed_columns,
       ev.event_at, ev.valid_from, ev.valid_to, ev.verified_on, ev.status_keberadaan, ev.active, ev.kode_desa,
       ev.submission_id, s.kind AS submission_kind, s.round_id, s.kabkota_code::text AS submitted_by_kabkota,
       k.name AS submitted_by_kabkota_name, s.file_name, ev.file_row, s.sha256::text AS file_sha256,
       s.suite_name, s.suite_version, ev.run_id AS merge_run_id, s.registered_by_run
FROM events ev
JOIN audit.submission s ON s.submission_id = ev.submission_id
LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code;

COMMENT ON VIEW registry.record_lineage IS
    'Every version and event of a person (NIK) or household (KK): what changed (column names), when, from which '
    'submission, district, file and file row, checked by which suite version, merged by which run. Unmasked: '
    'engineers only; auditors read registry.record_lineage_masked / registry.lineage_masked(identifier).';

-- The lineage of one NIK, or of one KK (the household and everyone who was ever in it).
CREATE OR REPLACE FUNCTION registry.lineage_of(identifier text) RETURNS SETOF registry.record_lineage
LANGUAGE plpgsql STABLE AS $$
DECLARE
    wanted char(16)[];
BEGIN
    -- the NIK itself, or everyone who ever carried the KK number
    wanted := ARRAY(SELECT btrim(identifier)::char(16)
                    UNION
                    SELECT v.nik FROM registry.individual_version v WHERE v.no_kk = btrim(identifier)::char(16));
    -- filtering on nik / no_kk (the window partitions) lets the planner read only these records
    RETURN QUERY
    SELECT l.* FROM (
        SELECT r.* FROM registry.record_lineage r WHERE r.record_type = 'individual' AND r.nik = ANY(wanted)
        UNION ALL
        SELECT h.* FROM registry.record_lineage h
        WHERE h.record_type = 'household' AND h.no_kk = btrim(identifier)::char(16)
    ) l
    ORDER BY l.event_at, l.record_type, l.nik, l.version_no;
END;
$$;

-- ================================================================ 3. masked views
CREATE OR REPLACE VIEW registry.record_lineage_masked AS
SELECT record_type, audit.mask_identifier(nik) AS nik_masked, audit.mask_identifier(no_kk) AS no_kk_masked,
       nama_initials, event, version_no, changed_columns, event_at, valid_from, valid_to, verified_on,
       status_keberadaan, active, kode_desa, submission_id, submission_kind, round_id, submitted_by_kabkota,
       submitted_by_kabkota_name, file_name, file_row, file_sha256, suite_name, suite_version, merge_run_id,
       registered_by_run
FROM registry.record_lineage;

-- An auditor who holds a case file may look up one NIK or KK; the answer is
-- masked like every other auditor view. SECURITY DEFINER: it reads the base
-- tables the auditor role cannot.
CREATE OR REPLACE FUNCTION registry.lineage_masked(identifier text) RETURNS SETOF registry.record_lineage_masked
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT record_type, audit.mask_identifier(nik), audit.mask_identifier(no_kk), nama_initials, event, version_no,
           changed_columns, event_at, valid_from, valid_to, verified_on, status_keberadaan, active, kode_desa,
           submission_id, submission_kind, round_id, submitted_by_kabkota, submitted_by_kabkota_name, file_name,
           file_row, file_sha256, suite_name, suite_version, merge_run_id, registered_by_run
    FROM registry.lineage_of(identifier)
$$;
REVOKE ALL ON FUNCTION registry.lineage_masked(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION registry.lineage_of(text) FROM PUBLIC;

CREATE OR REPLACE VIEW registry.individual_masked AS
SELECT audit.mask_identifier(nik) AS nik_masked, audit.mask_identifier(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, jenis_kelamin, extract(year FROM tanggal_lahir)::int AS birth_year,
       hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi, active, last_verified_on,
       version_no, valid_from, submission_id, file_row
FROM registry.individual;

CREATE OR REPLACE VIEW registry.individual_version_masked AS
SELECT audit.mask_identifier(nik) AS nik_masked, version_no, change_kind, audit.mask_identifier(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, jenis_kelamin, extract(year FROM tanggal_lahir)::int AS birth_year,
       hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi, active, verified_on,
       valid_from, valid_to, submission_id, file_row, run_id, recorded_at
FROM registry.individual_version;

CREATE OR REPLACE VIEW registry.individual_event_masked AS
SELECT audit.mask_identifier(nik) AS nik_masked, submission_id, file_row, event, version_no, verified_on,
       received_at, run_id
FROM registry.individual_event;

CREATE OR REPLACE VIEW registry.household_masked AS
SELECT audit.mask_identifier(no_kk) AS no_kk_masked, kode_desa, kabkota_code, rt, rw, version_no, submission_id,
       file_row, valid_from
FROM registry.household;

CREATE OR REPLACE VIEW registry.household_version_masked AS
SELECT audit.mask_identifier(no_kk) AS no_kk_masked, version_no, kode_desa, kabkota_code, rt, rw, valid_from,
       valid_to, submission_id, file_row, run_id
FROM registry.household_version;

CREATE OR REPLACE VIEW quarantine.row_issue_masked AS
SELECT submission_id, file_row, reason_code, severity, field,
       audit.mask_value_sent(field, value_sent) AS value_sent_masked,
       audit.scrub_identifiers(detail) AS detail
FROM quarantine.row_issue;

CREATE OR REPLACE VIEW quarantine.rejected_row_masked AS
SELECT submission_id, file_row,
       audit.mask_identifier(row_data ->> 'nik') AS nik_masked,
       audit.mask_identifier(row_data ->> 'no_kk') AS no_kk_masked,
       audit.name_initials(row_data ->> 'nama') AS nama_initials,
       audit.scrub_identifiers(row_data ->> 'kode_desa') AS kode_desa,
       audit.scrub_identifiers(row_data ->> 'status_keberadaan') AS status_keberadaan,
       quarantined_at, run_id
FROM quarantine.rejected_row;

-- ================================================================ 4. the auditor role
-- Roles belong to the whole server: create it once, tolerating a concurrent creator.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dtks_auditor') THEN
        BEGIN
            CREATE ROLE dtks_auditor NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END;
$$;
-- (A migrating user without CREATEROLE needs a DBA to create the role first;
-- members are LOGIN users: GRANT dtks_auditor TO <user>; see docs/auditors.md.)

GRANT USAGE ON SCHEMA audit, metrics, ref, registry, quarantine TO dtks_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA audit, metrics, ref TO dtks_auditor;
-- Tables added to these schemas by later migrations are readable too: keep
-- personal data out of audit, metrics and ref.
ALTER DEFAULT PRIVILEGES IN SCHEMA audit, metrics, ref GRANT SELECT ON TABLES TO dtks_auditor;
GRANT SELECT ON registry.record_lineage_masked, registry.individual_masked, registry.individual_version_masked,
                registry.individual_event_masked, registry.household_masked, registry.household_version_masked,
                quarantine.row_issue_masked, quarantine.rejected_row_masked
    TO dtks_auditor;
GRANT EXECUTE ON FUNCTION registry.lineage_masked(text) TO dtks_auditor;
