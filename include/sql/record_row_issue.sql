-- Every reason a submission's rows failed (or were flagged), in one statement: the
-- failures arrive as parallel arrays; each gets the value as the district sent it and
-- the line of the file where the row starts (for the district's feedback).
INSERT INTO quarantine.row_issue (submission_id, file_row, reason_code, severity, field, value_sent, detail, source_line)
SELECT r.submission_id, r.file_row, f.code, f.severity, f.field,
       CASE f.field
           WHEN 'nik' THEN r.nik
           WHEN 'no_kk' THEN r.no_kk
           WHEN 'nama' THEN r.nama
           WHEN 'jenis_kelamin' THEN r.jenis_kelamin
           WHEN 'tanggal_lahir' THEN r.tanggal_lahir
           WHEN 'hubungan_keluarga' THEN r.hubungan_keluarga
           WHEN 'kode_desa' THEN r.kode_desa
           WHEN 'status_keberadaan' THEN r.status_keberadaan
           WHEN 'tanggal_verifikasi' THEN r.tanggal_verifikasi
           WHEN 'pkh' THEN r.pkh
           WHEN 'bpnt' THEN r.bpnt
           WHEN 'pbi' THEN r.pbi
           -- a village given by name: the names as sent, province to village
           WHEN 'wilayah' THEN concat_ws(' / ', r.nama_provinsi, r.nama_kabkota, r.nama_kecamatan, r.nama_desa)
       END,
       f.detail,
       r.source_line
FROM unnest(CAST(:rows AS integer[]), CAST(:codes AS text[]), CAST(:severities AS text[]),
            CAST(:fields AS text[]), CAST(:details AS text[])) AS f(file_row, code, severity, field, detail)
JOIN staging.submission_row r ON r.submission_id = :sid AND r.file_row = f.file_row
ON CONFLICT (submission_id, file_row, reason_code) DO NOTHING;
