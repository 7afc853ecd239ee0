-- One reason one row failed (or was flagged), with the value as the district sent it
-- and the line of the file where the row starts (for the district's feedback).
INSERT INTO quarantine.row_issue (submission_id, file_row, reason_code, severity, field, value_sent, detail, source_line)
SELECT r.submission_id, r.file_row, :code, :severity, :field,
       CASE :field
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
       :detail,
       r.source_line
FROM staging.submission_row r
WHERE r.submission_id = :sid AND r.file_row = :row
ON CONFLICT (submission_id, file_row, reason_code) DO NOTHING;
