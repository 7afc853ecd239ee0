-- Masking rules for everything an auditor reads (docs/auditors.md).
--
-- The same rules as dtks.identifiers (mask_identifier, mask_file_name) and
-- dtks.audit (initials); tests compare the SQL and Python versions.

-- The same rule as dtks.identifiers.mask_identifier: 3171**********01.
CREATE OR REPLACE FUNCTION audit.mask_identifier(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) <= 6 THEN repeat('*', length(value))
        ELSE left(value, 4) || repeat('*', length(value) - 6) || right(value, 2)
    END
$$;

-- 3171************: the region prefix only (it is also the district of the record).
CREATE OR REPLACE FUNCTION audit.mask_nik(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) <= 6 THEN repeat('*', length(value))
        ELSE left(value, 4) || repeat('*', length(value) - 4)
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

-- A value as sent, as an auditor may see it (identifiers by region prefix only).
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
