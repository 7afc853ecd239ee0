-- The table the row-level expectation suite checks, for a batch of staged
-- submissions (:ids, the array of their ids, is a bound parameter).
--
-- Each row is a staged row with the facts its rules need, computed in the
-- database (reference lookups, counts within the file, the registry):
-- the suite in expectations/dtks_submission_rows.json then states the rules
-- over these columns. *_is_16_digits / *_looks_excel / village_by_name flags
-- (1/0) are preconditions, so one wrong value is reported once, for its
-- first problem, not five times.
WITH batch AS (
    SELECT n.*, s.kabkota_code AS submitted_kabkota, (s.received_at AT TIME ZONE 'Asia/Jakarta')::date AS received_on
    FROM staging.normalised_row n
    JOIN audit.submission s USING (submission_id)
    WHERE n.submission_id = ANY(:ids)
), shaped AS (
    SELECT b.*,
        -- (16 digits: the same test as ~ '^[0-9]{16}$', without a regular expression)
        (length(b.nik) = 16 AND ltrim(b.nik, '0123456789') = '')::int  AS nik_is_16_digits,
        (b.nik ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$')::int      AS nik_looks_excel,
        (length(b.no_kk) = 16 AND ltrim(b.no_kk, '0123456789') = '')::int AS kk_is_16_digits,
        (b.no_kk ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$')::int    AS kk_looks_excel
    FROM batch b
), nik_repeated AS (
    -- NIKs sent more than once in the same file (counted on two narrow columns,
    -- not by sorting whole rows)
    SELECT submission_id, nik, count(*) AS rows_in_file
    FROM shaped
    WHERE nik IS NOT NULL
    GROUP BY submission_id, nik
    HAVING count(*) > 1
), kk_in_file AS (
    -- per family card in a file: who is in it, its heads, and how many will be active after the merge;
    -- rows whose relationship or status is no code (already reported on their own row) leave the
    -- count they would change unknown, so it is not reported a second time as the family's problem
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
    FROM shaped
    WHERE kk_is_16_digits = 1
    GROUP BY submission_id, no_kk
), kk_size AS (
    -- active members in the registry now, and after this file (members the file does not
    -- mention stay as they are); only families the registry knows. A row whose status is
    -- unreadable may or may not stay active: the size after lies between min and max.
    SELECT k.submission_id, k.no_kk, count(*) AS size_before,
           k.found_in_file + count(*) FILTER (WHERE NOT (i.nik::text = ANY (k.niks))) AS size_after_min,
           k.found_in_file + k.unreadable_statuses
               + count(*) FILTER (WHERE NOT (i.nik::text = ANY (k.niks)))               AS size_after_max
    FROM kk_in_file k
    JOIN registry.individual i ON i.active AND i.no_kk = k.no_kk::char(16)
    GROUP BY k.submission_id, k.no_kk, k.found_in_file, k.unreadable_statuses
)
SELECT
    s.submission_id,
    s.file_row,
    s.nik,
    s.no_kk,
    s.nama,
    s.jenis_kelamin,
    s.hubungan_keluarga,
    s.status_keberadaan,
    s.pkh, s.bpnt, s.pbi,
    s.kode_desa,
    s.tanggal_lahir,
    s.tanggal_verifikasi,
    s.received_on,
    s.nik_is_16_digits,
    s.nik_looks_excel,
    s.kk_is_16_digits,
    s.kk_looks_excel,
    s.submitted_kabkota,
    s.village_by_name,
    s.village_name_matches,
    -- kab/kota named by the NIK's first four digits; NULL: not a real region
    nik_kab.name                                                        AS nik_region_name,
    CASE WHEN s.nik_is_16_digits = 1 THEN substr(s.nik, 1, 4) END       AS nik_kabkota,
    -- kecamatan named by the KK's first six digits
    kk_kec.name                                                         AS kk_region_name,
    -- DDMMYY as written in the NIK (only when day and month are possible)
    -- (16 digits with day 01-31 or 41-71 and month 01-12 in positions 7-10)
    -- (nested CASE: the digits are read as numbers only once they are known to be digits)
    CASE WHEN s.nik_is_16_digits = 1 THEN
         CASE WHEN (substr(s.nik, 7, 2)::int BETWEEN 1 AND 31 OR substr(s.nik, 7, 2)::int BETWEEN 41 AND 71)
                   AND substr(s.nik, 9, 2)::int BETWEEN 1 AND 12
              THEN substr(s.nik, 7, 6) END END                          AS nik_birth_part,
    -- DDMMYY the NIK must carry for the recorded birth date and sex (+40 on the day for women)
    CASE WHEN s.tanggal_lahir IS NOT NULL AND s.jenis_kelamin IN ('L', 'P')
         THEN lpad((extract(day FROM s.tanggal_lahir)::int + CASE s.jenis_kelamin WHEN 'P' THEN 40 ELSE 0 END)::text, 2, '0')
              || to_char(s.tanggal_lahir, 'MMYY') END                   AS expected_nik_birth_part,
    CASE WHEN s.nik IS NOT NULL THEN coalesce(nr.rows_in_file, 1) END  AS nik_rows_in_file,
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
    CASE WHEN i.active AND i.kabkota_code <> s.submitted_kabkota
         THEN i.kabkota_code::text END                                  AS nik_active_in_kabkota,
    -- on the head's row: "before → after" when the family's active size changes by at
    -- least 3 people and at least half (a merged or split family card, often a typo);
    -- with unreadable statuses (reported on their rows), only when it does whatever they mean
    CASE WHEN s.hubungan_keluarga = '1'
              AND (ks.size_after_max <= ks.size_before - greatest(3, ceil(ks.size_before * 0.5))
                   OR ks.size_after_min >= ks.size_before + greatest(3, ceil(ks.size_before * 0.5)))
         THEN ks.size_before || ' → ' || ks.size_after_min
              || CASE WHEN ks.size_after_max > ks.size_after_min THEN '–' || ks.size_after_max ELSE '' END
    END                                                                 AS household_size_jump
FROM shaped s
LEFT JOIN ref.kabkota nik_kab
       ON s.nik_is_16_digits = 1 AND nik_kab.code = substr(s.nik, 1, 4)
LEFT JOIN ref.kecamatan kk_kec
       ON s.kk_is_16_digits = 1 AND kk_kec.code = substr(s.no_kk, 1, 6)
LEFT JOIN ref.village v
       ON v.code = s.kode_desa
LEFT JOIN ref.kabkota nk
       ON v.successor_code IS NOT NULL AND nk.code = substr(v.successor_code, 1, 4)
-- (one primary-key lookup per row: hashing the whole registry for a batch
-- was the planner's choice at national size, and far slower)
LEFT JOIN LATERAL (
    SELECT r.active, r.kabkota_code FROM registry.individual r
    WHERE s.nik_is_16_digits = 1 AND r.nik = s.nik::char(16)
    OFFSET 0   -- kept as a lookup, not turned back into a join
) i ON true
LEFT JOIN kk_size ks
       ON ks.submission_id = s.submission_id AND ks.no_kk = s.no_kk
LEFT JOIN nik_repeated nr
       ON nr.submission_id = s.submission_id AND nr.nik = s.nik
LEFT JOIN kk_in_file kf
       ON s.kk_is_16_digits = 1 AND kf.submission_id = s.submission_id AND kf.no_kk = s.no_kk
