-- 014: masking that cannot be reversed by asking many questions (issue 13, items 7 and 12),
-- and lineage that shows every attempt (issue 14, item 8).
--
-- 1. The NIK itself encodes region (digits 1-6), birth date (7-12, day + 40 for
--    women) and a serial (13-16). Masked views used to show digits 1-4 and 15-16
--    next to birth year, sex and village: 37,200 candidates per person, which
--    registry.lineage_masked(nik) (any auditor, any number of calls, no record)
--    then confirmed one by one. Now:
--    - masked views show identifiers as audit.mask_nik (the 4-digit region
--      prefix, then 12 stars) and no birth year or sex;
--    - a lineage lookup is a committed, rate-limited request recorded in the
--      append-only audit.lineage_lookup (who, when, keyed hash of the number;
--      the key lives in lineage_secret, which auditors cannot read), made only
--      by members of the role dtks_lineage; the answer is given only for a
--      request whose transaction has committed, so a rolled-back try leaves
--      no answer either.
-- 2. File names outside the protected tables are shown masked (audit.mask_file_name,
--    the same rule as dtks.identifiers.mask_file_name): the auditor role reads
--    submissions, their events and duplicate uploads through audit.submission_masked,
--    audit.submission_event_masked and audit.duplicate_upload_masked, never
--    file_name, landing_path, archive_path, the manifest or event details.
-- 3. Lineage shows every attempt: registry.attempts_of(identifier) lists the
--    quarantined rows and the rows of files rejected whole that carried the
--    number, with their reasons. Rows of a file rejected whole were deleted with
--    its staging rows; quarantine.rejected_file_row now keeps their NIK and KK
--    (dtks.ingest._reject).

-- ================================================================ masking rules
-- 3171************: the region prefix only (it is also the district of the record).
CREATE OR REPLACE FUNCTION audit.mask_nik(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) <= 6 THEN repeat('*', length(value))
        ELSE left(value, 4) || repeat('*', length(value) - 4)
    END
$$;

-- A value as sent, as an auditor may see it (identifiers now by region prefix only).
CREATE OR REPLACE FUNCTION audit.mask_value_sent(field text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN field IN ('nik', 'no_kk', 'id_dtks') THEN audit.mask_nik(value)
        WHEN field IN ('nama', 'nama_ibu_kandung') THEN coalesce(audit.name_initials(value), '')
        WHEN field IN ('jenis_kelamin', 'hubungan_keluarga', 'kode_desa', 'status_keberadaan',
                       'tanggal_verifikasi', 'pkh', 'bpnt', 'pbi', 'rt', 'rw') THEN audit.scrub_identifiers(value)
        ELSE regexp_replace(regexp_replace(value, '[0-9]', '9', 'g'), '[[:alpha:]]', 'x', 'g')
    END
$$;

-- The words a file name may keep; any other word (a person's name, a village,
-- anything) is dropped, any run of 13+ digits becomes 16 stars. Same rule as
-- dtks.identifiers.mask_file_name.
CREATE OR REPLACE FUNCTION audit.file_name_words() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['dtks', 'data', 'perbaikan', 'revisi', 'rev', 'koreksi', 'update', 'pemutakhiran', 'putaran',
                 'round', 'kab', 'kabupaten', 'kota', 'kabkota', 'final', 'nik', 'kk', 'kiriman', 'file', 'berkas',
                 'baseline', 'feedback', 'umpan', 'balik', 'susulan', 'baru', 'lama', 'copy', 'salinan', 'v',
                 'individu', 'keluarga', 'art', 'ruta', 'export', 'ekspor', 'sheet', 'manifest', 'part', 'bagian',
                 'jan', 'feb', 'mar', 'apr', 'mei', 'may', 'jun', 'jul', 'agu', 'aug', 'agt', 'sep', 'okt', 'oct',
                 'nov', 'des', 'dec', 'januari', 'februari', 'maret', 'april', 'juni', 'juli', 'agustus',
                 'september', 'oktober', 'november', 'desember', 'csv', 'xlsx', 'xls', 'json', 'zip']
$$;

CREATE OR REPLACE FUNCTION audit.mask_file_name(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH parts AS (
        SELECT coalesce(substring(value FROM '(\.[A-Za-z0-9]{1,5})$'), '') AS ext,
               regexp_replace(value, '(\.[A-Za-z0-9]{1,5})$', '') AS stem
    ),
    kept AS (
        SELECT p.ext,
               string_agg(CASE
                   WHEN t.tok ~ '^[0-9]{13,}$' THEN '****************'
                   WHEN t.tok ~ '^[0-9]+$' THEN t.tok
                   WHEN t.tok ~ '^[[:alpha:]]+$' THEN CASE WHEN lower(t.tok) = ANY (audit.file_name_words())
                                                          THEN t.tok ELSE '' END
                   ELSE regexp_replace(t.tok, '[^ _.()-]', '', 'g')
               END, '' ORDER BY t.n) AS stem
        FROM parts p
        CROSS JOIN LATERAL regexp_matches(p.stem, '[[:alpha:]]+|[0-9]+|[^[:alnum:]]+', 'g') WITH ORDINALITY AS m(tok_arr, n)
        CROSS JOIN LATERAL (SELECT m.tok_arr[1] AS tok, m.n) t
        GROUP BY p.ext
    ),
    tidy AS (
        SELECT ext, btrim(regexp_replace(coalesce(stem, ''), '([ _.()-])[ _.()-]+', '\1', 'g'), ' _.()-') AS stem
        FROM kept
    )
    SELECT CASE WHEN value IS NULL THEN NULL
                ELSE coalesce((SELECT CASE WHEN stem ~ '[[:alnum:]*]' THEN stem ELSE 'berkas' END || ext FROM tidy),
                              'berkas' || (SELECT ext FROM parts))
           END
$$;

-- ================================================================ masked views without the NIK's parts
DROP FUNCTION IF EXISTS registry.lineage_masked(text);
DROP VIEW IF EXISTS registry.record_lineage_masked;
CREATE VIEW registry.record_lineage_masked AS
SELECT record_type, audit.mask_nik(nik) AS nik_masked, audit.mask_nik(no_kk) AS no_kk_masked,
       nama_initials, event, version_no, changed_columns, event_at, valid_from, valid_to, verified_on,
       status_keberadaan, active, kode_desa, submission_id, submission_kind, round_id, submitted_by_kabkota,
       submitted_by_kabkota_name, audit.mask_file_name(file_name) AS file_name, file_row, file_sha256, suite_name,
       suite_version, merge_run_id, registered_by_run
FROM registry.record_lineage;

DROP VIEW IF EXISTS registry.individual_masked;
CREATE VIEW registry.individual_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, audit.mask_nik(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan,
       pkh, bpnt, pbi, active, last_verified_on, version_no, valid_from, submission_id, file_row
FROM registry.individual;

DROP VIEW IF EXISTS registry.individual_version_masked;
CREATE VIEW registry.individual_version_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, version_no, change_kind, audit.mask_nik(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan,
       pkh, bpnt, pbi, active, verified_on, valid_from, valid_to, submission_id, file_row, run_id, recorded_at
FROM registry.individual_version;

CREATE OR REPLACE VIEW registry.individual_event_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, submission_id, file_row, event, version_no, verified_on,
       received_at, run_id
FROM registry.individual_event;

CREATE OR REPLACE VIEW registry.household_masked AS
SELECT audit.mask_nik(no_kk) AS no_kk_masked, kode_desa, kabkota_code, rt, rw, version_no, submission_id,
       file_row, valid_from
FROM registry.household;

CREATE OR REPLACE VIEW registry.household_version_masked AS
SELECT audit.mask_nik(no_kk) AS no_kk_masked, version_no, kode_desa, kabkota_code, rt, rw, valid_from,
       valid_to, submission_id, file_row, run_id
FROM registry.household_version;

CREATE OR REPLACE VIEW quarantine.rejected_row_masked AS
SELECT submission_id, file_row,
       audit.mask_nik(row_data ->> 'nik') AS nik_masked,
       audit.mask_nik(row_data ->> 'no_kk') AS no_kk_masked,
       audit.name_initials(row_data ->> 'nama') AS nama_initials,
       audit.scrub_identifiers(row_data ->> 'kode_desa') AS kode_desa,
       audit.scrub_identifiers(row_data ->> 'status_keberadaan') AS status_keberadaan,
       quarantined_at, run_id
FROM quarantine.rejected_row;

GRANT SELECT ON registry.record_lineage_masked, registry.individual_masked, registry.individual_version_masked
    TO dtks_auditor;

-- ================================================================ file names: submissions as auditors see them
CREATE OR REPLACE VIEW audit.submission_masked AS
SELECT submission_id, kind, round_id, kabkota_code, audit.mask_file_name(file_name) AS file_name, sha256,
       size_bytes, received_at, registered_at, registered_by_run, status, reject_reason,
       audit.scrub_identifiers(reject_detail) AS reject_detail, rows_in, rows_accepted, rows_quarantined,
       rows_warned, suite_name, suite_version, merged_at, landed_round_id, round_rule
FROM audit.submission;

CREATE OR REPLACE VIEW audit.duplicate_upload_masked AS
SELECT duplicate_id, duplicate_of, round_folder, kabkota_folder, audit.mask_file_name(file_name) AS file_name,
       sha256, size_bytes, received_at, registered_at, run_id
FROM audit.duplicate_upload;

-- The archive path in an 'archived' event carries the file name: shown as the masked name only
-- (without the folder and the archive's <sha256 prefix>__).
CREATE OR REPLACE VIEW audit.submission_event_masked AS
SELECT event_id, submission_id, event, at, run_id,
       CASE WHEN detail ? 'archive_path'
            THEN jsonb_set(detail, '{archive_path}',
                           to_jsonb(audit.mask_file_name(regexp_replace(detail ->> 'archive_path',
                                                                      '^.*/([0-9a-f]{16}__)?', ''))))
            ELSE detail END AS detail
FROM audit.submission_event;

-- Column by column: everything but the raw names, paths, manifest and event details.
REVOKE SELECT ON audit.submission, audit.submission_event FROM dtks_auditor;
GRANT SELECT (submission_id, kind, round_id, kabkota_code, sha256, size_bytes, received_at, registered_at,
              registered_by_run, status, reject_reason, rows_in, rows_accepted, rows_quarantined, rows_warned,
              suite_name, suite_version, merged_at, landed_round_id, round_rule)
    ON audit.submission TO dtks_auditor;
GRANT SELECT (event_id, submission_id, event, at, run_id) ON audit.submission_event TO dtks_auditor;
REVOKE SELECT ON audit.duplicate_upload FROM dtks_auditor;
GRANT SELECT (duplicate_id, duplicate_of, round_folder, kabkota_folder, sha256, size_bytes, received_at,
              registered_at, run_id) ON audit.duplicate_upload TO dtks_auditor;
GRANT SELECT ON audit.submission_masked, audit.submission_event_masked, audit.duplicate_upload_masked
    TO dtks_auditor;

-- ================================================================ every attempt: rows of files rejected whole
CREATE TABLE IF NOT EXISTS quarantine.rejected_file_row (
    submission_id bigint NOT NULL REFERENCES audit.submission,
    file_row      integer NOT NULL,
    nik           text,
    no_kk         text,
    PRIMARY KEY (submission_id, file_row)
);
CREATE INDEX IF NOT EXISTS rejected_file_row_nik_idx ON quarantine.rejected_file_row (nik);
CREATE INDEX IF NOT EXISTS rejected_file_row_kk_idx ON quarantine.rejected_file_row (no_kk);
CREATE INDEX IF NOT EXISTS rejected_row_nik_idx ON quarantine.rejected_row ((btrim(row_data ->> 'nik')));
CREATE INDEX IF NOT EXISTS rejected_row_kk_idx ON quarantine.rejected_row ((btrim(row_data ->> 'no_kk')));

-- Every attempt that carried the NIK (or KK) and did not reach the registry:
-- quarantined rows (with every reason) and rows of files rejected whole (the file's reason).
CREATE OR REPLACE FUNCTION registry.attempts_of(identifier text)
RETURNS TABLE (attempt text, nik text, no_kk text, nama_initials text, event_at timestamptz, submission_id bigint,
               round_id text, submitted_by_kabkota text, submitted_by_kabkota_name text, file_name text,
               file_row integer, file_sha256 text, reasons text[], run_id text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        SELECT 'row_quarantined'::text, btrim(q.row_data ->> 'nik'), btrim(q.row_data ->> 'no_kk'),
               audit.name_initials(q.row_data ->> 'nama'), s.received_at, q.submission_id, s.round_id,
               s.kabkota_code::text, k.name, s.file_name, q.file_row, s.sha256::text,
               ARRAY(SELECT i.reason_code FROM quarantine.row_issue i
                     WHERE i.submission_id = q.submission_id AND i.file_row = q.file_row
                     ORDER BY i.severity, i.reason_code),
               q.run_id
        FROM quarantine.rejected_row q
        JOIN audit.submission s ON s.submission_id = q.submission_id
        LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
        WHERE btrim(q.row_data ->> 'nik') = btrim(identifier) OR btrim(q.row_data ->> 'no_kk') = btrim(identifier)
        UNION ALL
        SELECT 'file_rejected', f.nik, f.no_kk, NULL, s.received_at, f.submission_id, s.round_id,
               s.kabkota_code::text, k.name, s.file_name, f.file_row, s.sha256::text,
               ARRAY[s.reject_reason], NULL
        FROM quarantine.rejected_file_row f
        JOIN audit.submission s ON s.submission_id = f.submission_id
        LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
        WHERE f.nik = btrim(identifier) OR f.no_kk = btrim(identifier)
    ) a
    ORDER BY 5, 6, 11
$$;
REVOKE ALL ON FUNCTION registry.attempts_of(text) FROM PUBLIC;

-- ================================================================ lineage lookups: a role, a record, a limit
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dtks_lineage') THEN
        BEGIN
            CREATE ROLE dtks_lineage NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END;
$$;

-- The key of the keyed hash: in a schema no auditor (and no PUBLIC) can use.
CREATE SCHEMA IF NOT EXISTS lineage_secret;
REVOKE ALL ON SCHEMA lineage_secret FROM PUBLIC;
CREATE TABLE IF NOT EXISTS lineage_secret.hash_key (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    key     bytea NOT NULL
);
INSERT INTO lineage_secret.hash_key (key)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION lineage_secret.keyed_hash(identifier text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(k.key || convert_to('dtks-lineage:' || btrim(identifier), 'UTF8')), 'hex')
    FROM lineage_secret.hash_key k
$$;
REVOKE ALL ON FUNCTION lineage_secret.keyed_hash(text) FROM PUBLIC;

CREATE TABLE IF NOT EXISTS audit.lineage_lookup (
    lookup_id       bigserial PRIMARY KEY,
    asked_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    db_login        text NOT NULL DEFAULT session_user,
    asked_by        text,                   -- the person, as the auditor page's login names them
    identifier_hash text NOT NULL,          -- keyed SHA-256 of the NIK/KK asked for
    xact            xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS lineage_lookup_login_idx ON audit.lineage_lookup (db_login, asked_at);
CREATE TRIGGER lineage_lookup_append_only BEFORE UPDATE OR DELETE ON audit.lineage_lookup
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER lineage_lookup_no_truncate BEFORE TRUNCATE ON audit.lineage_lookup
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
COMMENT ON TABLE audit.lineage_lookup IS
    'Every lineage lookup of a NIK/KK through registry.lineage_request: who (database login and the person named '
    'by the auditor page), when, and a keyed hash of the number (key in lineage_secret). Append-only.';

-- Lookups per database login per rolling hour.
CREATE OR REPLACE FUNCTION registry.lineage_hourly_limit() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 30 $$;

-- Step 1: record the lookup (commit it), get its id. Refused past the hourly limit.
CREATE OR REPLACE FUNCTION registry.lineage_request(identifier text, asked_by text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    recent integer;
    id bigint;
BEGIN
    IF identifier IS NULL OR btrim(identifier) !~ '^[0-9]{16}$' THEN
        RAISE EXCEPTION 'lineage: give a 16-digit NIK or KK number';
    END IF;
    -- one login's requests are counted one at a time, so parallel sessions cannot overrun the limit
    PERFORM pg_advisory_xact_lock(hashtext('dtks-lineage-lookup'), hashtext(session_user));
    SELECT count(*) INTO recent FROM audit.lineage_lookup l
    WHERE l.db_login = session_user AND l.asked_at > clock_timestamp() - interval '1 hour';
    IF recent >= registry.lineage_hourly_limit() THEN
        RAISE EXCEPTION 'lineage: % lookups in the last hour for login %: the limit is % per hour',
            recent, session_user, registry.lineage_hourly_limit()
            USING HINT = 'wait, or ask an administrator: every lookup is recorded in audit.lineage_lookup';
    END IF;
    INSERT INTO audit.lineage_lookup (asked_by, identifier_hash)
    VALUES (left(asked_by, 200), lineage_secret.keyed_hash(identifier))
    RETURNING lookup_id INTO id;
    RETURN id;
END;
$$;

-- The identifier of a committed, recent request of this login, or an error.
CREATE OR REPLACE FUNCTION registry.lineage_checked(lookup_id bigint, identifier text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    req audit.lineage_lookup;
BEGIN
    SELECT * INTO req FROM audit.lineage_lookup l WHERE l.lookup_id = lineage_checked.lookup_id;
    IF req.lookup_id IS NULL OR req.db_login <> session_user
       OR req.identifier_hash <> lineage_secret.keyed_hash(identifier)
       OR req.asked_at < clock_timestamp() - interval '10 minutes'
       OR pg_xact_status(req.xact) IS DISTINCT FROM 'committed' THEN
        RAISE EXCEPTION 'lineage: no committed lookup % of this number by this login in the last 10 minutes', lookup_id
            USING HINT = 'call registry.lineage_request(number) and commit first';
    END IF;
    RETURN btrim(identifier);
END;
$$;

-- Step 2: the masked lineage of the number of a committed request.
CREATE OR REPLACE FUNCTION registry.lineage_masked(lookup_id bigint, identifier text)
RETURNS SETOF registry.record_lineage_masked
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT record_type, audit.mask_nik(nik), audit.mask_nik(no_kk), nama_initials, event, version_no,
           changed_columns, event_at, valid_from, valid_to, verified_on, status_keberadaan, active, kode_desa,
           submission_id, submission_kind, round_id, submitted_by_kabkota, submitted_by_kabkota_name,
           audit.mask_file_name(file_name), file_row, file_sha256, suite_name, suite_version, merge_run_id,
           registered_by_run
    FROM registry.lineage_of(registry.lineage_checked(lookup_id, identifier))
$$;

-- ... and its attempts that never reached the registry, masked.
CREATE OR REPLACE FUNCTION registry.attempts_masked(lookup_id bigint, identifier text)
RETURNS TABLE (attempt text, nik_masked text, no_kk_masked text, nama_initials text, event_at timestamptz,
               submission_id bigint, round_id text, submitted_by_kabkota text, submitted_by_kabkota_name text,
               file_name text, file_row integer, file_sha256 text, reasons text[], run_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT attempt, audit.mask_nik(nik), audit.mask_nik(no_kk), nama_initials, event_at, submission_id, round_id,
           submitted_by_kabkota, submitted_by_kabkota_name, audit.mask_file_name(file_name), file_row, file_sha256,
           reasons, run_id
    FROM registry.attempts_of(registry.lineage_checked(lookup_id, identifier))
$$;

REVOKE ALL ON FUNCTION registry.lineage_request(text, text), registry.lineage_checked(bigint, text),
    registry.lineage_masked(bigint, text), registry.attempts_masked(bigint, text),
    registry.lineage_hourly_limit() FROM PUBLIC;
GRANT USAGE ON SCHEMA registry TO dtks_lineage;
GRANT EXECUTE ON FUNCTION registry.lineage_request(text, text), registry.lineage_masked(bigint, text),
    registry.attempts_masked(bigint, text), registry.lineage_hourly_limit() TO dtks_lineage;
GRANT SELECT ON audit.lineage_lookup TO dtks_auditor;
