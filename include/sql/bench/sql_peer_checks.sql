-- The SQL peer's checks (dtks/devtools/bench_peers.py): the error rules of
-- expectations/dtks_submission_rows.json, written as plain SQL over the whole
-- round in one statement. Each row gets the list of rules it breaks; an empty
-- list is accepted. Like the suite, a wrong NIK or KK is reported for its
-- first problem only, and a code that is not in its list is one error.
-- (No value aliases, village names or warnings: the benchmark's files use codes.)
-- The row's flags are computed once, in a subquery kept apart (OFFSET 0): pulled
-- up into the outer query, each use of a flag would evaluate its expression again.
CREATE UNLOGGED TABLE bench_peer.checked AS
WITH typed AS (
    SELECT r.*, f.kabkota_code AS submitted_kabkota, f.received_on,
           r.nik ~ '^[0-9]{16}$'                                        AS nik16,
           r.nik ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$'          AS nik_excel,
           r.no_kk ~ '^[0-9]{16}$'                                      AS kk16,
           r.no_kk ~ '^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$|\.0+$'        AS kk_excel,
           CASE WHEN pg_input_is_valid(r.tanggal_lahir, 'date') THEN r.tanggal_lahir::date END AS born,
           CASE WHEN pg_input_is_valid(r.tanggal_verifikasi, 'date') THEN r.tanggal_verifikasi::date END AS verified
    FROM bench_peer.round_row r
    JOIN bench_peer.file f USING (file_id)
    OFFSET 0
), nik_repeated AS (
    SELECT file_id, nik FROM bench_peer.round_row WHERE nik IS NOT NULL
    GROUP BY file_id, nik HAVING count(*) > 1
), kk_heads AS (
    SELECT file_id, no_kk, count(*) FILTER (WHERE hubungan_keluarga = '1') AS heads
    FROM bench_peer.round_row WHERE no_kk IS NOT NULL
    GROUP BY file_id, no_kk
)
SELECT t.file_id, t.id_dtks, t.no_kk, t.nik, t.nama, t.jenis_kelamin, t.tempat_lahir, t.hubungan_keluarga,
       t.nama_ibu_kandung, t.alamat, t.rt, t.rw, t.kode_desa, t.status_keberadaan, t.pkh, t.bpnt, t.pbi,
       t.tanggal_lahir, t.tanggal_verifikasi, t.born, t.verified, v.kabkota_code AS village_kabkota,
       array_remove(ARRAY[
           CASE WHEN t.nik IS NULL THEN 'nik_missing' END,
           CASE WHEN t.nik_excel THEN 'nik_excel_corrupted' END,
           CASE WHEN NOT t.nik_excel AND NOT t.nik16 THEN 'nik_not_16_digits' END,
           CASE WHEN t.nik16 AND nk.code IS NULL THEN 'nik_region_unknown' END,
           CASE WHEN t.nik16 AND t.nik !~ '^[0-9]{6}(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{6}$'
                THEN 'nik_birth_date_invalid' END,
           CASE WHEN t.nik16 AND t.nik LIKE '%0000' THEN 'nik_serial_zero' END,
           CASE WHEN t.nik16 AND t.born IS NOT NULL AND t.jenis_kelamin IN ('L', 'P')
                     AND t.nik ~ '^[0-9]{6}(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])'
                     AND substr(t.nik, 7, 6) <> lpad((extract(day FROM t.born)::int
                                                      + CASE t.jenis_kelamin WHEN 'P' THEN 40 ELSE 0 END)::text, 2, '0')
                                                || to_char(t.born, 'MMYY')
                THEN 'nik_birth_mismatch' END,
           CASE WHEN nr.nik IS NOT NULL THEN 'nik_duplicate_in_file' END,
           CASE WHEN p.active AND p.kabkota_code <> t.submitted_kabkota THEN 'nik_active_in_other_district' END,
           CASE WHEN t.no_kk IS NULL THEN 'kk_missing' END,
           CASE WHEN t.kk_excel THEN 'kk_excel_corrupted' END,
           CASE WHEN NOT t.kk_excel AND NOT t.kk16 THEN 'kk_not_16_digits' END,
           CASE WHEN t.kk16 AND kc.code IS NULL THEN 'kk_region_unknown' END,
           CASE WHEN t.kk16 AND t.no_kk !~ '^[0-9]{6}(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{6}$'
                THEN 'kk_issue_date_invalid' END,
           CASE WHEN t.kk16 AND t.no_kk LIKE '%0000' THEN 'kk_serial_zero' END,
           CASE WHEN t.kk16 AND kh.heads <> 1 THEN 'kk_head_count' END,
           CASE WHEN t.nama IS NULL THEN 'nama_blank' END,
           CASE WHEN t.nama !~ '[A-Za-z]' THEN 'nama_invalid' END,
           CASE WHEN t.jenis_kelamin NOT IN ('L', 'P') THEN 'sex_code_unknown' END,
           CASE WHEN t.hubungan_keluarga NOT IN ('1', '2', '3', '4', '5', '6', '7', '8', '9')
                THEN 'relationship_code_unknown' END,
           CASE WHEN t.status_keberadaan NOT IN ('1', '2', '3', '4', '5') THEN 'status_code_unknown' END,
           CASE WHEN t.pkh NOT IN ('0', '1') THEN 'pkh_flag_unknown' END,
           CASE WHEN t.bpnt NOT IN ('0', '1') THEN 'bpnt_flag_unknown' END,
           CASE WHEN t.pbi NOT IN ('0', '1') THEN 'pbi_flag_unknown' END,
           CASE WHEN t.born IS NULL THEN 'birth_date_invalid' END,
           CASE WHEN t.born > t.received_on THEN 'birth_date_future' END,
           CASE WHEN t.verified IS NULL THEN 'verification_date_invalid' END,
           CASE WHEN t.verified > t.received_on THEN 'verification_date_future' END,
           CASE WHEN t.verified < t.born THEN 'verification_before_birth' END,
           CASE WHEN v.code IS NULL OR (v.retired_in IS NOT NULL AND v.successor_code IS NULL)
                THEN 'village_unknown' END,
           CASE WHEN v.retired_in IS NOT NULL AND v.successor_code IS NOT NULL THEN 'village_recoded' END,
           CASE WHEN v.kabkota_code <> t.submitted_kabkota THEN 'village_other_district' END
       ], NULL) AS reasons
FROM typed t
LEFT JOIN ref.kabkota nk ON t.nik16 AND nk.code = substr(t.nik, 1, 4)
LEFT JOIN ref.kecamatan kc ON t.kk16 AND kc.code = substr(t.no_kk, 1, 6)
LEFT JOIN ref.village v ON v.code = t.kode_desa
LEFT JOIN bench_peer.person p ON t.nik16 AND p.nik = t.nik
LEFT JOIN nik_repeated nr ON nr.file_id = t.file_id AND nr.nik = t.nik
LEFT JOIN kk_heads kh ON kh.file_id = t.file_id AND kh.no_kk = t.no_kk;
