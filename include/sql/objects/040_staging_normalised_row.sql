-- How rows as sent become comparable values. The view
-- staging.submission_row_normalised (over the as-sent rows) is the one
-- definition; the unlogged table staging.normalised_row (migration 018: a
-- table, so a migration defines it) holds its result, written once by the
-- statement that stages the rows, and is what the checks (validation_batch.sql)
-- and the merge (merge_submission.sql) read. So a value is interpreted the same
-- way when it is checked and when it is written to the registry, and only once.
-- Nothing here repairs a value: an unrecognised code stays as sent and fails
-- its check. The table has the view's columns in the view's order: a new column
-- is appended to the view here and added to the table by a migration.

-- Coded columns are read through the value mapping (ref.value_alias): the code the value stands for, or the value as sent
-- (trimmed) when it is no declared spelling. Nearly every value is a code or a
-- declared word in a usual form: a hash join on the value as staged finds it.
-- Only the values it misses have their key computed and looked up (computing
-- the key of every value made a worded file's checks several times slower).
CREATE OR REPLACE VIEW staging.submission_row_normalised AS
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

-- Rows staged (COPY or INSERT, by any path) are normalised by the statement that
-- stages them; rows removed from staging leave the typed table with them. The
-- statement's rows are read back by key range from the as-sent table (fresh in
-- memory): a chunked COPY's earlier chunks are already typed (ON CONFLICT).
CREATE OR REPLACE FUNCTION staging.normalise_staged_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    part record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR part IN SELECT submission_id, min(file_row) AS first_row, max(file_row) AS last_row
                    FROM staged GROUP BY submission_id LOOP
            INSERT INTO staging.normalised_row
            SELECT * FROM staging.submission_row_normalised n
            WHERE n.submission_id = part.submission_id AND n.file_row BETWEEN part.first_row AND part.last_row
            ON CONFLICT (submission_id, file_row) DO NOTHING;
        END LOOP;
    ELSE
        DELETE FROM staging.normalised_row n USING staged s
        WHERE n.submission_id = s.submission_id AND n.file_row = s.file_row;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER normalise_staged_insert AFTER INSERT ON staging.submission_row
    REFERENCING NEW TABLE AS staged FOR EACH STATEMENT EXECUTE FUNCTION staging.normalise_staged_rows();
CREATE OR REPLACE TRIGGER normalise_staged_delete AFTER DELETE ON staging.submission_row
    REFERENCING OLD TABLE AS staged FOR EACH STATEMENT EXECUTE FUNCTION staging.normalise_staged_rows();

-- Read every staged row again through the view: when what the view reads besides
-- the rows changes (a new value mapping, a new reference edition), the typed rows follow.
CREATE OR REPLACE FUNCTION staging.renormalise_staged_rows() RETURNS bigint
LANGUAGE sql AS $$
    DELETE FROM staging.normalised_row;
    WITH typed AS (INSERT INTO staging.normalised_row SELECT * FROM staging.submission_row_normalised RETURNING 1)
    SELECT count(*) FROM typed;
$$;
