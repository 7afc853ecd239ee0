-- The SQL peer's starting registry (dtks/devtools/bench_peers.py): the
-- baseline file, COPYed under file 0, typed into the current registry.
INSERT INTO bench_peer.person (
    nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir, hubungan_keluarga,
    nama_ibu_kandung, alamat, rt, rw, kode_desa, kabkota_code, status_keberadaan, active, pkh, bpnt, pbi,
    last_verified_on, file_id)
SELECT nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir::date, hubungan_keluarga,
       nama_ibu_kandung, alamat, rt, rw, kode_desa, substr(kode_desa, 1, 4), status_keberadaan,
       status_keberadaan = '1', pkh = '1', bpnt = '1', pbi = '1', tanggal_verifikasi::date, 0
FROM bench_peer.round_row
WHERE file_id = 0;

TRUNCATE bench_peer.round_row;
ANALYZE bench_peer.person;
