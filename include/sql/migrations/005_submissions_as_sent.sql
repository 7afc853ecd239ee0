-- 005: submissions as districts really send them (issue 3).
--
-- * place names instead of a village code: staged as sent, mapped to a code
--   through ref.* here (exactly one match; none or several is a row error,
--   never a guess);
-- * where a row starts in the file (source_line), for the district's feedback;
-- * more date spellings, and Excel serial day numbers in date columns;
-- * the review queue of NIKs active in another district;
-- * the exact definition of every suite version that ran (auditors);
-- * duplicate uploads (same content again), recorded rather than dropped silently.

-- ---------------------------------------------------------------- staging
ALTER TABLE staging.submission_row
    ADD COLUMN nama_provinsi  text,
    ADD COLUMN nama_kabkota   text,
    ADD COLUMN nama_kecamatan text,
    ADD COLUMN nama_desa      text,
    ADD COLUMN source_line    integer;   -- line (CSV) or sheet row (XLSX) where the row starts

ALTER TABLE quarantine.row_issue ADD COLUMN source_line integer;

-- Dates as districts write them. NULL when the text is not a real calendar
-- date (checked, never guessed):
--   YYYY-MM-DD or YYYY/MM/DD, optionally followed by a time of day;
--   DD-MM-YYYY, DD/MM/YYYY or DD.MM.YYYY (day first, the Indonesian order; 1 or 2 digits);
--   a 5-digit Excel serial day number (1900 date system, optionally with a
--   fraction for the time): what a date cell formatted as a number becomes.
--   Only date columns are read through this function.
-- Written without an exception handler (a subtransaction per call would
-- make it the slowest part of validation): impossible dates are caught by
-- staging.make_date_or_null instead.
CREATE OR REPLACE FUNCTION staging.make_date_or_null(y int, m int, d int) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND 31
                     AND extract(month FROM make_date(y, m, 1) + (d - 1)) = m   -- 31-02 is not a date
                THEN make_date(y, m, 1) + (d - 1) END
$$;

CREATE OR REPLACE FUNCTION staging.parse_date(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v text := btrim(value);
    d text;
BEGIN
    IF v IS NULL OR v = '' THEN
        RETURN NULL;
    END IF;
    IF v ~ '^[0-9]{5}(\.[0-9]+)?$' THEN
        RETURN DATE '1899-12-30' + left(v, 5)::int;
    END IF;
    d := v;
    IF v ~ '[ T]' THEN   -- a time of day after the date
        IF v !~ '^[0-9./-]+[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$' THEN
            RETURN NULL;
        END IF;
        d := split_part(translate(v, 'T', ' '), ' ', 1);
    END IF;
    IF d ~ '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$' OR d ~ '^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$' THEN
        d := translate(d, '/', '-');
        RETURN staging.make_date_or_null(split_part(d, '-', 1)::int, split_part(d, '-', 2)::int,
                                         split_part(d, '-', 3)::int);
    END IF;
    IF d ~ '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$' OR d ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$'
       OR d ~ '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}$' THEN
        d := translate(d, '/.', '--');
        RETURN staging.make_date_or_null(split_part(d, '-', 3)::int, split_part(d, '-', 2)::int,
                                         split_part(d, '-', 1)::int);
    END IF;
    RETURN NULL;
END;
$$;

-- 002's version evaluated parse_date twice per value; same rule, once.
CREATE OR REPLACE FUNCTION staging.parse_plausible_date(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    d date := staging.parse_date(value);
BEGIN
    RETURN CASE WHEN d >= DATE '1900-01-01' THEN d END;   -- before 1900: not plausible, unreadable
END;
$$;

-- ---------------------------------------------------------------- place names
-- A comparable key for a place name: upper case, apostrophes dropped, any
-- other run of non-alphanumerics one space.
CREATE OR REPLACE FUNCTION staging.place_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(regexp_replace(regexp_replace(upper(coalesce(value, '')), '[''`’]', '', 'g'),
                                       '[^A-Z0-9]+', ' ', 'g')), '')
$$;

-- The key without the administrative word a district may write in front
-- ("DESA SUKAMAJU", "KEC. GAMBIR", "PROVINSI JAWA TIMUR"). Only the district's
-- spelling is stripped; reference names are compared as they are.
CREATE OR REPLACE FUNCTION staging.place_key_stripped(value text, level text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(staging.place_key(value),
        CASE level
            WHEN 'provinsi'  THEN '^(PROVINSI|PROPINSI|PROV) '
            WHEN 'kecamatan' THEN '^(KECAMATAN|KEC) '
            WHEN 'desa'      THEN '^(DESA|KELURAHAN|KEL|DS) '
        END, '')
$$;

-- Kab/kota names carry their kind ("Kabupaten Malang", "Kota Malang"): the
-- base name and the kind are compared separately, and a kind the district
-- wrote must agree.
CREATE OR REPLACE FUNCTION staging.kabkota_base(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(staging.place_key(value),
        '^(KABUPATEN ADMINISTRASI|KAB ADM|KABUPATEN|KAB|KOTA ADMINISTRASI|KOTA ADM|KOTA) ', '')
$$;

CREATE OR REPLACE FUNCTION staging.kabkota_kind(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN staging.place_key(value) ~ '^(KABUPATEN|KAB) ' THEN 'kabupaten'
        WHEN staging.place_key(value) ~ '^KOTA ' THEN 'kota'
    END
$$;

CREATE INDEX IF NOT EXISTS village_place_key_idx ON ref.village (staging.place_key(name));

-- The current village codes whose names match (at most two are returned:
-- one is a match, two is ambiguous, none is unknown). Province is optional.
CREATE OR REPLACE FUNCTION staging.village_codes_by_name(prov text, kab text, kec text, desa text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(code ORDER BY code), '{}'::text[]) FROM (
        SELECT v.code::text AS code
        FROM ref.village v
        JOIN ref.kecamatan k ON k.code = v.kecamatan_code
        JOIN ref.kabkota kb ON kb.code = v.kabkota_code
        JOIN ref.province p ON p.code = kb.province_code
        WHERE staging.place_key(v.name) = ANY (ARRAY[staging.place_key(desa), staging.place_key_stripped(desa, 'desa')])
          AND staging.place_key(k.name) = ANY (ARRAY[staging.place_key(kec), staging.place_key_stripped(kec, 'kecamatan')])
          AND staging.kabkota_base(kb.name) = staging.kabkota_base(kab)
          AND (staging.kabkota_kind(kab) IS NULL OR staging.kabkota_kind(kab) = kb.kind)
          AND (staging.place_key(prov) IS NULL
               OR staging.place_key(p.name) = ANY (ARRAY[staging.place_key(prov), staging.place_key_stripped(prov, 'provinsi')]))
          AND v.retired_in IS NULL
        ORDER BY v.code
        LIMIT 2
    ) x
$$;

-- The view of 002, with the village code taken from the names when the
-- district gave names and no code (new columns are appended).
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
         THEN regexp_replace(coalesce(r.kode_desa, ''), '[.[:space:]]', '', 'g')
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

-- ---------------------------------------------------------------- review queue
-- A NIK sent by one district while active in another's registry is not
-- moved: the row is quarantined (reason nik_active_in_other_district) and
-- waits here. It is 'open' while the NIK is still active elsewhere; it
-- resolves itself once the other district deactivates it (status moved) or
-- the sending district's row is accepted in a later submission.
CREATE OR REPLACE VIEW quarantine.review_queue AS
SELECT q.submission_id,
       s.round_id,
       s.kabkota_code            AS sent_by_kabkota,
       s.file_name,
       s.received_at,
       q.file_row,
       q.source_line,
       q.value_sent              AS nik,
       q.detail                  AS active_in_kabkota,
       i.kabkota_code            AS registry_kabkota,
       i.active                  AS registry_active,
       CASE WHEN i.active AND i.kabkota_code IS DISTINCT FROM s.kabkota_code THEN 'open' ELSE 'resolved' END
                                 AS review_status
FROM quarantine.row_issue q
JOIN audit.submission s ON s.submission_id = q.submission_id
LEFT JOIN registry.individual i ON i.nik = q.value_sent
WHERE q.reason_code = 'nik_active_in_other_district';

-- ---------------------------------------------------------------- suites
-- The exact JSON of every suite version that validated something: an
-- auditor can see which rules ran, and a suite edited without a new version
-- is refused (sha256 differs).
CREATE TABLE IF NOT EXISTS audit.suite_definition (
    suite_name     text NOT NULL,
    suite_version  text NOT NULL,
    sha256         char(64) NOT NULL,
    definition     jsonb NOT NULL,
    first_used_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (suite_name, suite_version)
);

-- ---------------------------------------------------------------- duplicates
-- The same content landing again (same sha256): nothing is applied twice,
-- but the upload is recorded, pointing at the submission that holds it.
CREATE TABLE IF NOT EXISTS audit.duplicate_upload (
    duplicate_id   bigserial PRIMARY KEY,
    duplicate_of   bigint NOT NULL REFERENCES audit.submission,
    round_folder   text,
    kabkota_folder text,
    file_name      text NOT NULL,
    landing_path   text NOT NULL,
    sha256         char(64) NOT NULL,
    size_bytes     bigint NOT NULL,
    received_at    timestamptz NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    run_id         text NOT NULL,
    UNIQUE (sha256, landing_path, received_at)
);
