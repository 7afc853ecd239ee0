-- Re-attribute the registry to the codes of a new edition (dtks.recoding),
-- inside the edition load's transaction, after ref.* was updated and
-- load_successor holds this load's retired codes and their successors.
-- Parameters: :sid (the edition's lineage submission), :at (the instant the
-- edition takes effect: its effective date, 00:00 WIB), :run_id.
--
-- Every person and household whose village got a new code gets a new
-- version at :at (change_kind 'recoded' for persons) with the new village
-- and district, under the edition's submission: the lineage is the edition
-- load, not a district file, and an individual_event 'recoded' (so record
-- lineage shows it) whose verified_on is the person's last verification.
-- Nothing about verification moves (last_verified_on and verified_on stay as
-- they were), so coverage follows the person to the new district with the
-- same dates.

CREATE TEMP TABLE recode_person ON COMMIT DROP AS
SELECT i.nik, i.version_no, i.active, i.last_verified_on, i.verified_by_district,
       i.kabkota_code AS old_kabkota_code, s.successor_code AS kode_desa,
       substr(s.successor_code, 1, 4) AS kabkota_code, s.file_row,
       -- the merge's record hash (merge_submission.sql) over the same attributes, with the new village
       md5(concat_ws('|', i.no_kk::text, i.id_dtks, i.nama, i.jenis_kelamin::text, i.tempat_lahir, i.tanggal_lahir,
                     i.hubungan_keluarga, i.nama_ibu_kandung, s.successor_code, i.status_keberadaan,
                     CASE WHEN i.pkh THEN '1' ELSE '0' END, CASE WHEN i.bpnt THEN '1' ELSE '0' END,
                     CASE WHEN i.pbi THEN '1' ELSE '0' END)) AS record_hash
FROM registry.individual i
JOIN load_successor s ON s.code = i.kode_desa::text AND length(s.code) = 10;

-- Coverage (metrics.coverage_change): active persons leave their old
-- district's state and enter the same state in the new one, at :at.
INSERT INTO metrics.coverage_change (submission_id, changed_at, kabkota_code, last_verified_on, by_district, persons)
SELECT :sid, CAST(:at AS timestamptz), kabkota_code, last_verified_on, verified_by_district, sum(persons)::integer
FROM (
    SELECT old_kabkota_code AS kabkota_code, last_verified_on, verified_by_district, -1 AS persons
    FROM recode_person WHERE active
    UNION ALL
    SELECT kabkota_code, last_verified_on, verified_by_district, 1 FROM recode_person WHERE active
) moves
GROUP BY kabkota_code, last_verified_on, verified_by_district
HAVING sum(persons) <> 0;

UPDATE registry.individual_version v SET valid_to = CAST(:at AS timestamptz)
  FROM recode_person p WHERE v.nik = p.nik AND v.valid_to IS NULL;

INSERT INTO registry.individual_version (
    nik, version_no, change_kind, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir,
    hubungan_keluarga, nama_ibu_kandung, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi,
    active, record_hash, verified_on, valid_from, valid_to, submission_id, file_row, run_id)
SELECT v.nik, v.version_no + 1, 'recoded', v.no_kk, v.id_dtks, v.nama, v.jenis_kelamin, v.tempat_lahir,
       v.tanggal_lahir, v.hubungan_keluarga, v.nama_ibu_kandung, p.kode_desa, p.kabkota_code,
       v.status_keberadaan, v.pkh, v.bpnt, v.pbi, v.active, p.record_hash, v.verified_on,
       CAST(:at AS timestamptz), NULL, :sid, p.file_row, :run_id
FROM recode_person p
JOIN registry.individual_version v ON v.nik = p.nik AND v.version_no = p.version_no;

UPDATE registry.individual_current i
   SET kode_desa = p.kode_desa, kabkota_code = p.kabkota_code, record_hash = p.record_hash,
       version_no = p.version_no + 1, valid_from = CAST(:at AS timestamptz), submission_id = :sid,
       file_row = p.file_row
  FROM recode_person p WHERE i.nik = p.nik;

INSERT INTO registry.individual_event (nik, submission_id, file_row, event, version_no, verified_on, received_at, run_id)
SELECT nik, :sid, file_row, 'recoded', version_no + 1, last_verified_on, CAST(:at AS timestamptz), :run_id
FROM recode_person;

CREATE TEMP TABLE recode_household ON COMMIT DROP AS
SELECT h.no_kk, h.version_no, s.successor_code AS kode_desa, substr(s.successor_code, 1, 4) AS kabkota_code,
       s.file_row
FROM registry.household h
JOIN load_successor s ON s.code = h.kode_desa::text AND length(s.code) = 10;

UPDATE registry.household_version v SET valid_to = CAST(:at AS timestamptz)
  FROM recode_household r WHERE v.no_kk = r.no_kk AND v.valid_to IS NULL;

INSERT INTO registry.household_version (no_kk, version_no, kode_desa, kabkota_code, alamat, rt, rw,
                                        valid_from, valid_to, submission_id, file_row, run_id)
SELECT v.no_kk, v.version_no + 1, r.kode_desa, r.kabkota_code, v.alamat, v.rt, v.rw,
       CAST(:at AS timestamptz), NULL, :sid, r.file_row, :run_id
FROM recode_household r
JOIN registry.household_version v ON v.no_kk = r.no_kk AND v.version_no = r.version_no;

UPDATE registry.household h
   SET kode_desa = r.kode_desa, kabkota_code = r.kabkota_code, version_no = r.version_no + 1,
       valid_from = CAST(:at AS timestamptz), submission_id = :sid, file_row = r.file_row
  FROM recode_household r WHERE h.no_kk = r.no_kk;

SELECT (SELECT count(*) FROM recode_person) AS persons, (SELECT count(*) FROM recode_household) AS households;
