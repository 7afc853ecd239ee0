-- 002: one place that turns rows as sent into comparable values.
--
-- Both the checks (validation_batch.sql) and the merge (merge_submission.sql)
-- read staging rows through this view, so a value is interpreted the same way
-- when it is checked and when it is written to the registry. Nothing here
-- repairs a value: an unrecognised code stays as sent and fails its check.

CREATE OR REPLACE FUNCTION staging.blank_to_null(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT nullif(btrim(value), '') $$;

-- L/P, 1/2 (SIKS-NG numeric export) and the words; anything else as sent.
CREATE OR REPLACE FUNCTION staging.normalise_sex(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE upper(btrim(coalesce(value, '')))
        WHEN 'L' THEN 'L' WHEN '1' THEN 'L' WHEN 'LAKI-LAKI' THEN 'L'
        WHEN 'P' THEN 'P' WHEN '2' THEN 'P' WHEN 'PEREMPUAN' THEN 'P'
        ELSE upper(btrim(coalesce(value, '')))
    END
$$;

-- Dates before 1900 are not plausible in the registry: treated as unreadable.
CREATE OR REPLACE FUNCTION staging.parse_plausible_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT d FROM (SELECT staging.parse_date(value) AS d) x WHERE d >= DATE '1900-01-01'
$$;

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
    -- dotted codes (35.78.01.1001) are the same code as 3578011001
    regexp_replace(coalesce(r.kode_desa, ''), '[.[:space:]]', '', 'g') AS kode_desa,
    btrim(coalesce(r.status_keberadaan, ''))                AS status_keberadaan,
    staging.parse_plausible_date(r.tanggal_verifikasi)      AS tanggal_verifikasi,
    -- programme flags: absent or blank means "not a recipient"
    coalesce(staging.blank_to_null(r.pkh), '0')             AS pkh,
    coalesce(staging.blank_to_null(r.bpnt), '0')            AS bpnt,
    coalesce(staging.blank_to_null(r.pbi), '0')             AS pbi
FROM staging.submission_row r;
