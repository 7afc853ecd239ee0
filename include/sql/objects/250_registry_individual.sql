-- registry.individual: each person as they stand, the wide current row
-- (registry.individual_current, written only with a new version) with the
-- latest verification (registry.individual_verification, the narrow row a
-- confirmation moves): the columns the table had before migration 017, so
-- every reader is unchanged.
--
-- One FROM item and plain columns: the view stays updatable (an UPDATE of
-- registry.individual reaches registry.individual_current and its lineage
-- check); the two verification columns are read by primary key, only when a
-- query asks for them.
CREATE OR REPLACE VIEW registry.individual AS
SELECT c.nik, c.no_kk, c.id_dtks, c.nama, c.jenis_kelamin, c.tempat_lahir, c.tanggal_lahir, c.hubungan_keluarga,
       c.nama_ibu_kandung, c.kode_desa, c.kabkota_code, c.status_keberadaan, c.pkh, c.bpnt, c.pbi, c.active,
       c.record_hash,
       (SELECT v.last_verified_on FROM registry.individual_verification v WHERE v.nik = c.nik) AS last_verified_on,
       c.version_no, c.valid_from, c.submission_id, c.file_row,
       (SELECT v.by_district FROM registry.individual_verification v WHERE v.nik = c.nik) AS verified_by_district
FROM registry.individual_current c;
COMMENT ON VIEW registry.individual IS
    'each person as they stand: registry.individual_current with its latest verification (migration 017)';
