-- 012: district wording for coded values (issue 14).
--
-- Districts write relationship, presence status, programme flags and sex in
-- words as often as in codes (KEPALA KELUARGA, ISTRI, DITEMUKAN, YA/TIDAK,
-- LAKI-LAKI). The words are declared in include/mapping/value_aliases.json,
-- the only place they are listed; dtks.value_mapping.sync copies them into
-- ref.value_alias (after every migration run and before every validation),
-- and the normalising view reads codes from there. So the checks and the
-- merge see codes, whether the file was staged by COPY or by the parser.
-- A value that is no declared spelling stays as sent and fails its check.

-- Every version of the mapping that was ever loaded, with its exact JSON (auditors).
CREATE TABLE ref.value_mapping (
    version          text PRIMARY KEY,
    sha256           char(64) NOT NULL,
    definition       jsonb NOT NULL,
    first_loaded_at  timestamptz NOT NULL DEFAULT now(),
    current          boolean NOT NULL DEFAULT false,
    current_since    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX value_mapping_one_current ON ref.value_mapping (current) WHERE current;

-- The current mapping: per staged column, each declared spelling in the forms
-- it is usually typed in (as declared, upper, lower, title and sentence case)
-- and as its key (dtks.value_mapping.written_forms). Every form of a spelling
-- has its key, so a lookup by form and a lookup by key agree.
CREATE TABLE ref.value_alias (
    column_name      text NOT NULL,   -- a staged column (pkh, bpnt and pbi each have their rows)
    written          text NOT NULL,   -- a form of the spelling, or its key
    code             text NOT NULL,
    key              text NOT NULL,   -- staging.value_key of the spelling
    spelling         text NOT NULL,   -- as declared
    mapping_version  text NOT NULL REFERENCES ref.value_mapping,
    PRIMARY KEY (column_name, written)
);

-- What a value is matched by: its ASCII letters, upper case, and digits; case,
-- spaces and punctuation do not count ('Kep. Keluarga' = 'KEPKELUARGA').
-- The same function as dtks.value_mapping.value_key (a test compares them).
-- ASCII only: upper() would follow the database's locale.
CREATE OR REPLACE FUNCTION staging.value_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(translate(coalesce(value, ''), 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
                          '[^A-Z0-9]+', '', 'g')
$$;

-- The view of 006 with the coded columns read through the mapping (the other
-- columns are unchanged): the code the value stands for, or the value as sent
-- (trimmed) when it is no declared spelling. Nearly every value is a code or a
-- declared word in a usual form: a hash join on the value as staged finds it.
-- Only the values it misses have their key computed and looked up (computing
-- the key of every value made a worded file's checks several times slower).
CREATE OR REPLACE VIEW staging.normalised_row AS
SELECT
    r.submission_id,
    r.file_row,
    staging.blank_to_null(r.id_dtks)                    AS id_dtks,
    staging.blank_to_null(r.no_kk)                      AS no_kk,
    staging.blank_to_null(r.nik)                        AS nik,
    staging.blank_to_null(r.nama)                       AS nama,
    coalesce(sex.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'jenis_kelamin'
                 AND w.written = staging.value_key(r.jenis_kelamin)),
             btrim(r.jenis_kelamin), '')                AS jenis_kelamin,
    staging.blank_to_null(r.tempat_lahir)               AS tempat_lahir,
    staging.parse_plausible_date(r.tanggal_lahir)       AS tanggal_lahir,
    coalesce(hub.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'hubungan_keluarga'
                 AND w.written = staging.value_key(r.hubungan_keluarga)),
             btrim(r.hubungan_keluarga), '')            AS hubungan_keluarga,
    staging.blank_to_null(r.nama_ibu_kandung)           AS nama_ibu_kandung,
    staging.blank_to_null(r.alamat)                     AS alamat,
    staging.blank_to_null(r.rt)                         AS rt,
    staging.blank_to_null(r.rw)                         AS rw,
    -- dotted codes (35.78.01.1001) are the same code as 3578011001; a code found by name
    CASE WHEN nm.codes IS NULL
         THEN CASE WHEN ltrim(r.kode_desa, '0123456789') = '' THEN r.kode_desa
                   ELSE regexp_replace(coalesce(r.kode_desa, ''), '[.[:space:]]', '', 'g') END
         WHEN cardinality(nm.codes) = 1 THEN nm.codes[1]
         ELSE ''
    END                                                 AS kode_desa,
    coalesce(sta.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'status_keberadaan'
                 AND w.written = staging.value_key(r.status_keberadaan)),
             btrim(r.status_keberadaan), '')            AS status_keberadaan,
    staging.parse_plausible_date(r.tanggal_verifikasi)  AS tanggal_verifikasi,
    -- programme flags: absent or blank means "not a recipient"
    CASE WHEN staging.blank_to_null(r.pkh) IS NULL THEN '0' ELSE
    coalesce(pkh.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'pkh'
                 AND w.written = staging.value_key(r.pkh)),
             btrim(r.pkh), '') END                      AS pkh,
    CASE WHEN staging.blank_to_null(r.bpnt) IS NULL THEN '0' ELSE
    coalesce(bpnt.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'bpnt'
                 AND w.written = staging.value_key(r.bpnt)),
             btrim(r.bpnt), '') END                     AS bpnt,
    CASE WHEN staging.blank_to_null(r.pbi) IS NULL THEN '0' ELSE
    coalesce(pbi.code,
             (SELECT w.code FROM ref.value_alias w WHERE w.column_name = 'pbi'
                 AND w.written = staging.value_key(r.pbi)),
             btrim(r.pbi), '') END                      AS pbi,
    -- 005: 1 when the village was given by name (no code)
    (nm.codes IS NOT NULL)::int                         AS village_by_name,
    -- 005: how many villages the names match (0, 1, or 2 meaning "more than one"); NULL: a code was given
    cardinality(nm.codes)                               AS village_name_matches,
    staging.blank_to_null(r.nama_provinsi)              AS nama_provinsi,
    staging.blank_to_null(r.nama_kabkota)               AS nama_kabkota,
    staging.blank_to_null(r.nama_kecamatan)             AS nama_kecamatan,
    staging.blank_to_null(r.nama_desa)                  AS nama_desa,
    r.source_line
FROM staging.submission_row r
-- (unique keys: each join finds at most one row, and the planner drops the joins a query does not read)
LEFT JOIN ref.value_alias sex   ON sex.column_name = 'jenis_kelamin' AND sex.written = r.jenis_kelamin
LEFT JOIN ref.value_alias hub   ON hub.column_name = 'hubungan_keluarga' AND hub.written = r.hubungan_keluarga
LEFT JOIN ref.value_alias sta   ON sta.column_name = 'status_keberadaan' AND sta.written = r.status_keberadaan
LEFT JOIN ref.value_alias pkh   ON pkh.column_name = 'pkh' AND pkh.written = r.pkh
LEFT JOIN ref.value_alias bpnt  ON bpnt.column_name = 'bpnt' AND bpnt.written = r.bpnt
LEFT JOIN ref.value_alias pbi   ON pbi.column_name = 'pbi' AND pbi.written = r.pbi
LEFT JOIN LATERAL (
    SELECT CASE WHEN staging.blank_to_null(r.kode_desa) IS NULL AND staging.blank_to_null(r.nama_desa) IS NOT NULL
                THEN staging.village_codes_by_name(r.nama_provinsi, r.nama_kabkota, r.nama_kecamatan, r.nama_desa)
           END AS codes
    OFFSET 0   -- evaluate the lookup once per row
) nm ON true;

-- 002's sex spellings, now declared in the mapping file; nothing reads it any more.
DROP FUNCTION staging.normalise_sex(text);
