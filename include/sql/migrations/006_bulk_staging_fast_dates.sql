-- 006: national-scale speed (issue 7). Same rules, cheaper to evaluate.
--
-- 1. staging.strip_text: trims exactly the characters Python's str.strip()
--    trims, so a file COPYed straight into the database (dtks.ingest, the
--    bulk path for plain CSV) is staged with the same values as one read by
--    the Python parser.
-- 2. staging.parse_plausible_date: the common spelling (YYYY-MM-DD, year
--    1900 or later) is read by an SQL expression the planner inlines
--    (pg_input_is_valid: PostgreSQL 16); every other spelling still goes
--    through staging.parse_date (migration 005). 005's version was PL/pgSQL:
--    one function call per value, twice per row, in both validation and
--    merge, which made it a visible share of a national round.

CREATE OR REPLACE FUNCTION staging.strip_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(value, E' \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000')
$$;

-- The old body, kept under its own name for the spellings the fast branch does not read.
CREATE OR REPLACE FUNCTION staging.parse_plausible_date_any(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    d date := staging.parse_date(value);
BEGIN
    RETURN CASE WHEN d >= DATE '1900-01-01' THEN d END;   -- before 1900: not plausible, unreadable
END;
$$;

-- (STABLE, like the text-to-date cast it uses: so the planner inlines it)
CREATE OR REPLACE FUNCTION staging.parse_plausible_date(value text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- YYYY-MM-DD from 1900 on: a real calendar date or NULL (31-02 is not a date)
        WHEN value ~ '^(19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$'
            THEN CASE WHEN pg_input_is_valid(value, 'date') THEN value::date END
        ELSE staging.parse_plausible_date_any(value)
    END
$$;

-- The normalising view of 005 with the same columns; a village code of
-- digits only (nearly all of them) skips the regular expression that removes
-- dots and spaces from the others.
CREATE OR REPLACE VIEW staging.normalised_row AS
SELECT
    r.submission_id,
    r.file_row,
    staging.blank_to_null(r.id_dtks)                        AS id_dtks,
    staging.blank_to_null(r.no_kk)                          AS no_kk,
    staging.blank_to_null(r.nik)                            AS nik,
    staging.blank_to_null(r.nama)                           AS nama,
    staging.normalise_sex(r.jenis_kelamin)                  AS jenis_kelamin,
    staging.blank_to_null(r.tempat_lahir)                   AS tempat_lahir,
    staging.parse_plausible_date(r.tanggal_lahir)           AS tanggal_lahir,
    btrim(coalesce(r.hubungan_keluarga, ''))                AS hubungan_keluarga,
    staging.blank_to_null(r.nama_ibu_kandung)               AS nama_ibu_kandung,
    staging.blank_to_null(r.alamat)                         AS alamat,
    staging.blank_to_null(r.rt)                             AS rt,
    staging.blank_to_null(r.rw)                             AS rw,
    -- dotted codes (35.78.01.1001) are the same code as 3578011001; a code found by name
    CASE WHEN nm.codes IS NULL
         THEN CASE WHEN ltrim(r.kode_desa, '0123456789') = '' THEN r.kode_desa
                   ELSE regexp_replace(coalesce(r.kode_desa, ''), '[.[:space:]]', '', 'g') END
         WHEN cardinality(nm.codes) = 1 THEN nm.codes[1]
         ELSE ''
    END                                                     AS kode_desa,
    btrim(coalesce(r.status_keberadaan, ''))                AS status_keberadaan,
    staging.parse_plausible_date(r.tanggal_verifikasi)      AS tanggal_verifikasi,
    -- programme flags: absent or blank means "not a recipient"
    coalesce(staging.blank_to_null(r.pkh), '0')             AS pkh,
    coalesce(staging.blank_to_null(r.bpnt), '0')            AS bpnt,
    coalesce(staging.blank_to_null(r.pbi), '0')             AS pbi,
    -- 005: 1 when the village was given by name (no code)
    (nm.codes IS NOT NULL)::int                             AS village_by_name,
    -- 005: how many villages the names match (0, 1, or 2 meaning "more than one"); NULL: a code was given
    cardinality(nm.codes)                                   AS village_name_matches,
    staging.blank_to_null(r.nama_provinsi)                  AS nama_provinsi,
    staging.blank_to_null(r.nama_kabkota)                   AS nama_kabkota,
    staging.blank_to_null(r.nama_kecamatan)                 AS nama_kecamatan,
    staging.blank_to_null(r.nama_desa)                      AS nama_desa,
    r.source_line
FROM staging.submission_row r
LEFT JOIN LATERAL (
    SELECT CASE WHEN staging.blank_to_null(r.kode_desa) IS NULL AND staging.blank_to_null(r.nama_desa) IS NOT NULL
                THEN staging.village_codes_by_name(r.nama_provinsi, r.nama_kabkota, r.nama_kecamatan, r.nama_desa)
           END AS codes
    OFFSET 0   -- evaluate the lookup once per row
) nm ON true;

-- 3. Staged rows are a working copy of an archived file, written and deleted
--    by dtks.ingest only, always under an existing submission. The foreign
--    key checked that once per row (an RI trigger call for each of millions
--    of rows: about a third of the cost of staging); the submission is
--    locked by the stage step itself, which is the check that matters.
ALTER TABLE staging.submission_row DROP CONSTRAINT IF EXISTS submission_row_submission_id_fkey;

-- 4. Lineage to the submission, checked once per statement. The registry's
--    foreign keys to audit.submission ran one RI check (and a row lock) for
--    every row a merge writes: several per person, millions per national
--    round. The same rule now runs once per statement over the rows the
--    statement wrote (a transition table). What the foreign key also
--    guaranteed, that a referenced submission is never deleted or renumbered,
--    the audit triggers of migration 003 already refuse for every submission.
CREATE OR REPLACE FUNCTION audit.require_known_submission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unknown bigint;
BEGIN
    SELECT w.submission_id INTO unknown
    FROM (SELECT DISTINCT submission_id FROM written) w
    WHERE NOT EXISTS (SELECT 1 FROM audit.submission s WHERE s.submission_id = w.submission_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('lineage: rows of %I.%I point at submission %s, which is not in audit.submission',
                             TG_TABLE_SCHEMA, TG_TABLE_NAME, coalesce(unknown::text, 'NULL'));
    END IF;
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['individual', 'individual_version', 'individual_event', 'household', 'household_version'] LOOP
        EXECUTE format('ALTER TABLE registry.%I DROP CONSTRAINT IF EXISTS %I', t, t || '_submission_id_fkey');
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON registry.%I', t || '_known_submission_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON registry.%I REFERENCING NEW TABLE AS written'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION audit.require_known_submission()',
                       t || '_known_submission_insert', t);
        IF t IN ('individual', 'household') THEN  -- current rows are updated in place by the merge
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON registry.%I', t || '_known_submission_update', t);
            EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON registry.%I REFERENCING NEW TABLE AS written'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION audit.require_known_submission()',
                           t || '_known_submission_update', t);
        END IF;
    END LOOP;
END;
$$;

-- 5. Closing a version (valid_to) stays the only change allowed, checked by
--    comparing typed rows instead of two jsonb conversions per row (one
--    function per table: the row is compared as its own table's type).
CREATE OR REPLACE FUNCTION audit.guard_individual_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected registry.individual_version := OLD;
BEGIN
    expected.valid_to := NEW.valid_to;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR expected IS DISTINCT FROM NEW THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit.guard_household_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected registry.household_version := OLD;
BEGIN
    expected.valid_to := NEW.valid_to;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR expected IS DISTINCT FROM NEW THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS individual_version_history ON registry.individual_version;
CREATE TRIGGER individual_version_history BEFORE UPDATE ON registry.individual_version
    FOR EACH ROW EXECUTE FUNCTION audit.guard_individual_version();
DROP TRIGGER IF EXISTS household_version_history ON registry.household_version;
CREATE TRIGGER household_version_history BEFORE UPDATE ON registry.household_version
    FOR EACH ROW EXECUTE FUNCTION audit.guard_household_version();

-- 6. Room on each page for the next version of a row: a confirmation (only
--    last_verified_on moves) and the closing of a version then stay on the
--    same page without touching any index (HOT updates). Applies to pages
--    written from now on; `VACUUM FULL` applies it to an existing registry.
ALTER TABLE registry.individual SET (fillfactor = 85);
ALTER TABLE registry.individual_version SET (fillfactor = 90);
ALTER TABLE registry.household SET (fillfactor = 90);
ALTER TABLE registry.household_version SET (fillfactor = 90);
