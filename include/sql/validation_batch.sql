-- The table the row-level expectation suite checks, for a batch of staged
-- submissions (:ids, an array of submission ids).
--
-- Each row is a staged row (already typed and normalised when it was staged:
-- staging.normalised_row) with the facts its rules need, computed in the
-- database in one statement: the reference tables by hash joins, counts
-- within the file by grouping two narrow columns, the registry by its keys
-- (a NIK by primary key, a family's members by the KK index). The suite in
-- expectations/dtks_submission_rows.json then states the rules over these
-- columns. *_is_16_digits / *_looks_excel / village_by_name flags (1/0) are
-- preconditions, so one wrong value is reported once, for its first
-- problem, not five times.
SELECT
    n.submission_id,
    n.file_row,
    n.nik,
    n.no_kk,
    n.nama,
    n.jenis_kelamin,
    n.hubungan_keluarga,
    n.status_keberadaan,
    n.pkh, n.bpnt, n.pbi,
    n.kode_desa,
    n.tanggal_lahir,
    n.tanggal_verifikasi,
    (s.received_at AT TIME ZONE 'Asia/Jakarta')::date                  AS received_on,
    f.nik_is_16_digits,
    f.nik_looks_excel,
    f.kk_is_16_digits,
    f.kk_looks_excel,
    s.kabkota_code                                                      AS submitted_kabkota,
    n.village_by_name,
    n.village_name_matches,
    -- kab/kota named by the NIK's first four digits; NULL: not a real region
    nik_kab.name                                                        AS nik_region_name,
    CASE WHEN f.nik_is_16_digits = 1 THEN substr(n.nik, 1, 4) END       AS nik_kabkota,
    -- kecamatan named by the KK's first six digits
    kk_kec.name                                                         AS kk_region_name,
    -- DDMMYY as written in the NIK (only when day and month are possible)
    -- (16 digits with day 01-31 or 41-71 and month 01-12 in positions 7-10)
    -- (nested CASE: the digits are read as numbers only once they are known to be digits)
    CASE WHEN f.nik_is_16_digits = 1 THEN
         CASE WHEN (substr(n.nik, 7, 2)::int BETWEEN 1 AND 31 OR substr(n.nik, 7, 2)::int BETWEEN 41 AND 71)
                   AND substr(n.nik, 9, 2)::int BETWEEN 1 AND 12
              THEN substr(n.nik, 7, 6) END END                          AS nik_birth_part,
    -- DDMMYY the NIK must carry for the recorded birth date and sex (+40 on the day for women)
    CASE WHEN n.tanggal_lahir IS NOT NULL AND n.jenis_kelamin IN ('L', 'P')
         THEN lpad((extract(day FROM n.tanggal_lahir)::int + CASE n.jenis_kelamin WHEN 'P' THEN 40 ELSE 0 END)::text, 2, '0')
              || to_char(n.tanggal_lahir, 'MMYY') END                   AS expected_nik_birth_part,
    CASE WHEN n.nik IS NOT NULL THEN coalesce(nr.rows_in_file, 1) END  AS nik_rows_in_file,
    -- heads of the row's family card; NULL (not checked) when an unreadable relationship could be
    -- the missing head: that row's relationship_code_unknown is the one report
    CASE WHEN kf.unreadable_relationships = 0 OR kf.heads > 1 THEN kf.heads END AS kk_heads_in_file,
    -- a retired code is unknown, unless a newer edition names its successor: then it is
    -- still placed in its old district, and refused as re-coded (village_recoded_to)
    CAST(CASE WHEN v.retired_in IS NULL OR v.successor_code IS NOT NULL
              THEN v.kabkota_code END AS char(4))                       AS village_kabkota,
    CASE WHEN v.retired_in IS NOT NULL AND v.successor_code IS NOT NULL
         THEN v.successor_code::text || ' (' || coalesce(nk.name, '') || ')' END AS village_recoded_to,
    -- the district where this NIK is active in the registry, when it is another one
    -- (typed columns throughout: GX reads this table by reflecting it)
    CASE WHEN i.active AND i.kabkota_code <> s.kabkota_code
         THEN i.kabkota_code::text END                                  AS nik_active_in_kabkota,
    -- on the head's row: "before → after" when the family's active size changes by at
    -- least 3 people and at least half (a merged or split family card, often a typo);
    -- with unreadable statuses (reported on their rows), only when it does whatever they mean.
    -- Only families the registry knows (size_before > 0).
    CASE WHEN n.hubungan_keluarga = '1' AND kf.size_before > 0
              AND (kf.size_after_max <= kf.size_before - greatest(3, ceil(kf.size_before * 0.5))
                   OR kf.size_after_min >= kf.size_before + greatest(3, ceil(kf.size_before * 0.5)))
         THEN kf.size_before || ' → ' || kf.size_after_min
              || CASE WHEN kf.size_after_max > kf.size_after_min THEN '–' || kf.size_after_max ELSE '' END
    END                                                                 AS household_size_jump
FROM staging.normalised_row n
JOIN audit.submission s ON s.submission_id = n.submission_id
CROSS JOIN LATERAL (
    SELECT
        -- (16 digits: the same test as ~ '^[0-9]{16}$', without a regular expression)
        (length(n.nik) = 16 AND ltrim(n.nik, '0123456789') = '')::int    AS nik_is_16_digits,
        (n.nik ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$')::int        AS nik_looks_excel,
        (length(n.no_kk) = 16 AND ltrim(n.no_kk, '0123456789') = '')::int AS kk_is_16_digits,
        (n.no_kk ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$')::int      AS kk_looks_excel
) f
LEFT JOIN ref.kabkota nik_kab
       ON f.nik_is_16_digits = 1 AND nik_kab.code = substr(n.nik, 1, 4)
LEFT JOIN ref.kecamatan kk_kec
       ON f.kk_is_16_digits = 1 AND kk_kec.code = substr(n.no_kk, 1, 6)
LEFT JOIN ref.village v
       ON v.code = n.kode_desa
LEFT JOIN ref.kabkota nk
       ON v.successor_code IS NOT NULL AND nk.code = substr(v.successor_code, 1, 4)
-- NIKs sent more than once in the same file
LEFT JOIN (
    SELECT submission_id, nik, count(*) AS rows_in_file
    FROM staging.normalised_row
    WHERE submission_id = ANY(CAST(:ids AS bigint[])) AND nik IS NOT NULL
    GROUP BY submission_id, nik
    HAVING count(*) > 1
) nr ON nr.submission_id = n.submission_id AND nr.nik = n.nik
-- per family card in a file: its heads; and its active members in the registry now
-- (size_before) and after this file (members the file does not mention stay as they
-- are). Rows whose relationship or status is no code (already reported on their own
-- row) leave the count they would change unknown, so it is not reported a second time
-- as the family's problem: a row whose status is unreadable may or may not stay
-- active, so the size after lies between min and max.
LEFT JOIN (
    SELECT k.submission_id, k.no_kk, k.heads, k.unreadable_relationships,
           r.size_before,
           k.found_in_file + r.not_in_file                         AS size_after_min,
           k.found_in_file + k.unreadable_statuses + r.not_in_file AS size_after_max
    FROM (
        SELECT submission_id, no_kk,
               count(*) FILTER (WHERE hubungan_keluarga = '1')             AS heads,
               count(*) FILTER (WHERE hubungan_keluarga NOT IN (SELECT code FROM ref.value_alias
                                                                WHERE column_name = 'hubungan_keluarga'))
                                                                           AS unreadable_relationships,
               count(*) FILTER (WHERE status_keberadaan NOT IN (SELECT code FROM ref.value_alias
                                                                WHERE column_name = 'status_keberadaan'))
                                                                           AS unreadable_statuses,
               count(*) FILTER (WHERE status_keberadaan = '1')             AS found_in_file,
               array_remove(array_agg(nik), NULL)                          AS niks
        FROM staging.normalised_row
        WHERE submission_id = ANY(CAST(:ids AS bigint[]))
          AND length(no_kk) = 16 AND ltrim(no_kk, '0123456789') = ''
        GROUP BY submission_id, no_kk
    ) k
    CROSS JOIN LATERAL (
        SELECT count(*)                                                    AS size_before,
               count(*) FILTER (WHERE NOT (m.nik::text = ANY (k.niks)))    AS not_in_file
        FROM registry.individual m
        WHERE m.active AND m.no_kk = k.no_kk::char(16)
    ) r
) kf ON f.kk_is_16_digits = 1 AND kf.submission_id = n.submission_id AND kf.no_kk = n.no_kk
-- the person's registry record, by primary key (hashing the whole registry for a
-- batch was the planner's choice at national size, and far slower)
LEFT JOIN LATERAL (
    SELECT r.active, r.kabkota_code FROM registry.individual r
    WHERE f.nik_is_16_digits = 1 AND r.nik = n.nik::char(16)
    OFFSET 0   -- kept as a lookup, not turned back into a join
) i ON true
WHERE n.submission_id = ANY(CAST(:ids AS bigint[]))
