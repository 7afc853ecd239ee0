-- The SQL peer's merge (dtks/devtools/bench_peers.py): every accepted row of
-- the round into the current registry, one statement; refused rows kept as sent.
INSERT INTO bench_peer.person AS p (
    nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir, hubungan_keluarga,
    nama_ibu_kandung, alamat, rt, rw, kode_desa, kabkota_code, status_keberadaan, active, pkh, bpnt, pbi,
    last_verified_on, file_id)
SELECT nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, born, hubungan_keluarga,
       nama_ibu_kandung, alamat, rt, rw, kode_desa, village_kabkota, status_keberadaan, status_keberadaan = '1',
       pkh = '1', bpnt = '1', pbi = '1', verified, file_id
FROM bench_peer.checked
WHERE reasons = '{}'
ON CONFLICT (nik) DO UPDATE SET
    no_kk = EXCLUDED.no_kk, id_dtks = EXCLUDED.id_dtks, nama = EXCLUDED.nama,
    jenis_kelamin = EXCLUDED.jenis_kelamin, tempat_lahir = EXCLUDED.tempat_lahir,
    tanggal_lahir = EXCLUDED.tanggal_lahir, hubungan_keluarga = EXCLUDED.hubungan_keluarga,
    nama_ibu_kandung = EXCLUDED.nama_ibu_kandung, alamat = EXCLUDED.alamat, rt = EXCLUDED.rt, rw = EXCLUDED.rw,
    kode_desa = EXCLUDED.kode_desa, kabkota_code = EXCLUDED.kabkota_code,
    status_keberadaan = EXCLUDED.status_keberadaan, active = EXCLUDED.active,
    pkh = EXCLUDED.pkh, bpnt = EXCLUDED.bpnt, pbi = EXCLUDED.pbi,
    last_verified_on = greatest(p.last_verified_on, EXCLUDED.last_verified_on), file_id = EXCLUDED.file_id;

INSERT INTO bench_peer.rejected_row (file_id, row_data, reasons)
SELECT file_id, to_jsonb(c) - 'reasons' - 'born' - 'verified' - 'village_kabkota', reasons
FROM bench_peer.checked c
WHERE reasons <> '{}';
