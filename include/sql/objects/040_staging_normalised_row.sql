-- staging.normalised_row: the one place that turns rows as sent into comparable values.
--
-- Both the checks (validation_batch.sql) and the merge (merge_submission.sql)
-- read staging rows through this view, so a value is interpreted the same way
-- when it is checked and when it is written to the registry. Nothing here
-- repairs a value: an unrecognised code stays as sent and fails its check.
-- Columns are only ever appended (CREATE OR REPLACE VIEW cannot reorder or drop
-- them; see CONTRIBUTING.md for a change that must).

-- Coded columns are read through the value mapping (ref.value_alias): the code the value stands for, or the value as sent
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
    -- 1 when the village was given by name (no code)
    (nm.codes IS NOT NULL)::int                         AS village_by_name,
    -- how many villages the names match (0, 1, or 2 meaning "more than one"); NULL: a code was given
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
