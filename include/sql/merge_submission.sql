-- Merge one validated submission into the registry (runs inside one
-- transaction, under the district's advisory lock; see dtks/ingest.py).
-- Parameters: :sid (submission id), :run_id (the Airflow run that merges).
--
-- For each accepted row (no error-severity issue), by NIK:
--   not in the registry            -> 'inserted'    (version 1)
--   same attributes as current     -> 'confirmed'   (no new version; only the person's narrow
--                                                      verification row moves, migration 017)
--   status moves to 2-5 (moved, deceased, not found, duplicate)
--                                  -> 'deactivated' (new version, active = false; never deleted)
--   inactive record found again    -> 'reactivated'
--   anything else different        -> 'changed'     (new version)
-- Every touched record gets an individual_event row: the lineage of
-- confirmations as well as changes. Versions are timed by the submission's
-- received_at (logical time), so history can be queried "as of" a round.

-- Planner settings for this transaction: the registry is read by its
-- indexes, one submission's rows at a time (the data is in memory or on
-- SSD: a random read costs about as much as a sequential one; with the
-- default cost the planner hashed the whole registry for every submission),
-- and sorts and hashes of a large district fit in memory.
SET LOCAL random_page_cost = 1.1;
SET LOCAL work_mem = '64MB';

-- The submission's accepted rows (no error-severity issue), each with what
-- the registry holds for its NIK, and the event the merge makes of it.
CREATE TEMP TABLE merge_input ON COMMIT DROP AS
SELECT x.*,
       CASE WHEN NOT x.known                    THEN 'inserted'
            WHEN x.record_hash = x.old_hash     THEN 'confirmed'
            WHEN x.was_active AND NOT x.active  THEN 'deactivated'
            WHEN NOT x.was_active AND x.active  THEN 'reactivated'
            ELSE 'changed'
       END AS event
FROM (
    SELECT n.file_row, n.nik, n.no_kk, n.id_dtks, n.nama, n.jenis_kelamin, n.tempat_lahir,
           n.tanggal_lahir, n.hubungan_keluarga, n.nama_ibu_kandung, n.alamat, n.rt, n.rw,
           n.kode_desa, substr(n.kode_desa, 1, 4) AS kabkota_code, n.status_keberadaan,
           n.pkh = '1' AS pkh, n.bpnt = '1' AS bpnt, n.pbi = '1' AS pbi,
           n.status_keberadaan = '1' AS active,
           n.tanggal_verifikasi AS verified_on,
           s.received_at,
           s.kind = 'district' AS by_district_file,
           -- the person's attributes; the address (alamat, RT, RW) is the household's and is versioned there
           md5(concat_ws('|', n.no_kk, n.id_dtks, n.nama, n.jenis_kelamin, n.tempat_lahir, n.tanggal_lahir,
                         n.hubungan_keluarga, n.nama_ibu_kandung, n.kode_desa,
                         n.status_keberadaan, n.pkh, n.bpnt, n.pbi)) AS record_hash,
           i.nik IS NOT NULL AS known,
           i.active AS was_active,
           i.record_hash AS old_hash,
           coalesce(i.version_no, 0) AS old_version,
           i.kabkota_code AS old_kabkota_code,
           ver.last_verified_on AS old_verified_on,
           coalesce(ver.by_district, false) AS old_by_district
    FROM staging.normalised_row n
    JOIN audit.submission s ON s.submission_id = n.submission_id
    -- (cast: registry keys are char(16); comparing as char keeps the primary-key index usable)
    LEFT JOIN registry.individual_current i ON i.nik = n.nik::char(16)
    LEFT JOIN registry.individual_verification ver ON ver.nik = n.nik::char(16)
    WHERE n.submission_id = :sid
      AND NOT EXISTS (
          SELECT 1 FROM quarantine.row_issue q
          WHERE q.submission_id = n.submission_id AND q.file_row = n.file_row AND q.severity = 'error')
) x;
-- (a fresh temporary table has no statistics: without them the planner
-- guesses its size, and the statements below read the registry by hashing
-- whole tables where a district's rows need a few thousand index probes)
ANALYZE merge_input (nik, no_kk, event, known);

-- Coverage (metrics.coverage_change, migration 007): every person this file
-- touches leaves the state it was in (if active) and enters its new one (if
-- active): district, latest verification date, verified by a district file.
INSERT INTO metrics.coverage_change (submission_id, changed_at, kabkota_code, last_verified_on, by_district, persons)
SELECT :sid, received_at, kabkota_code, last_verified_on, by_district, sum(persons)::integer
FROM (
    SELECT received_at, old_kabkota_code AS kabkota_code, old_verified_on AS last_verified_on,
           old_by_district AS by_district, -1 AS persons
    FROM merge_input WHERE known AND was_active
    UNION ALL
    SELECT received_at, kabkota_code, greatest(old_verified_on, verified_on), old_by_district OR by_district_file, 1
    FROM merge_input WHERE active
) moves
GROUP BY received_at, kabkota_code, last_verified_on, by_district
HAVING sum(persons) <> 0;

-- close the versions that are superseded
UPDATE registry.individual_version v
   SET valid_to = m.received_at
  FROM merge_input m
 WHERE v.nik = m.nik::char(16) AND v.valid_to IS NULL AND m.event IN ('changed', 'deactivated', 'reactivated');

INSERT INTO registry.individual_version (
    nik, version_no, change_kind, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir,
    hubungan_keluarga, nama_ibu_kandung, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi,
    active, record_hash, verified_on, valid_from, valid_to, submission_id, file_row, run_id)
SELECT nik, old_version + 1, event, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir,
       hubungan_keluarga, nama_ibu_kandung, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi,
       active, record_hash, verified_on, received_at, NULL, :sid, file_row, :run_id
FROM merge_input
WHERE event <> 'confirmed';

-- The wide current row: only for a new version (a confirmation leaves it
-- alone). A new person is a plain insert, a known one an update by key:
-- cheaper than INSERT ... ON CONFLICT (a speculative insertion per row), and
-- a person another district's merge inserted meanwhile fails this merge
-- (retried, it sees the person as known) as the new version would anyway.
INSERT INTO registry.individual_current (
    nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir, hubungan_keluarga,
    nama_ibu_kandung, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi, active,
    record_hash, version_no, valid_from, submission_id, file_row)
SELECT nik, no_kk, id_dtks, nama, jenis_kelamin, tempat_lahir, tanggal_lahir, hubungan_keluarga,
       nama_ibu_kandung, kode_desa, kabkota_code, status_keberadaan, pkh, bpnt, pbi, active,
       record_hash, 1, received_at, :sid, file_row
FROM merge_input
WHERE event = 'inserted';

UPDATE registry.individual_current i SET
    no_kk = m.no_kk, id_dtks = m.id_dtks, nama = m.nama, jenis_kelamin = m.jenis_kelamin,
    tempat_lahir = m.tempat_lahir, tanggal_lahir = m.tanggal_lahir, hubungan_keluarga = m.hubungan_keluarga,
    nama_ibu_kandung = m.nama_ibu_kandung, kode_desa = m.kode_desa, kabkota_code = m.kabkota_code,
    status_keberadaan = m.status_keberadaan, pkh = m.pkh, bpnt = m.bpnt, pbi = m.pbi, active = m.active,
    record_hash = m.record_hash, version_no = m.old_version + 1, valid_from = m.received_at,
    submission_id = :sid, file_row = m.file_row
  FROM merge_input m
 WHERE i.nik = m.nik::char(16) AND m.event IN ('changed', 'deactivated', 'reactivated');

-- Every accepted row verifies its person (the confirmations too: this narrow
-- row is all they write besides their event). The later date stands (a
-- late-typed older visit never moves it back) and "verified by a district
-- file" stays true once true; a row that would not move is not rewritten.
INSERT INTO registry.individual_verification (nik, last_verified_on, by_district)
SELECT nik, verified_on, by_district_file FROM merge_input WHERE NOT known;

UPDATE registry.individual_verification v
   SET last_verified_on = greatest(v.last_verified_on, m.verified_on),
       by_district = v.by_district OR m.by_district_file
  FROM merge_input m
 WHERE v.nik = m.nik::char(16) AND m.known
   AND (m.verified_on > m.old_verified_on OR (m.by_district_file AND NOT m.old_by_district));

INSERT INTO registry.individual_event (nik, submission_id, file_row, event, version_no, verified_on, received_at, run_id)
SELECT nik, :sid, file_row, event,
       CASE WHEN event = 'confirmed' THEN old_version ELSE old_version + 1 END,
       verified_on, received_at, :run_id
FROM merge_input;

-- Households: the address on the first accepted row of each KK in the file
-- (household fields are repeated on every member's row).
CREATE TEMP TABLE merge_household ON COMMIT DROP AS
SELECT m.no_kk, m.kode_desa, m.kabkota_code, m.alamat, m.rt, m.rw, m.file_row, m.received_at,
       h.no_kk IS NOT NULL AS known, coalesce(h.version_no, 0) AS old_version,
       h.no_kk IS NOT NULL AND (h.kode_desa, h.alamat, h.rt, h.rw) IS NOT DISTINCT FROM (m.kode_desa, m.alamat, m.rt, m.rw) AS unchanged
FROM (SELECT DISTINCT ON (no_kk) no_kk, kode_desa, kabkota_code, alamat, rt, rw, file_row, received_at
      FROM merge_input ORDER BY no_kk, file_row) m
-- (the file's households first, then each looked up by its key)
LEFT JOIN registry.household h ON h.no_kk = m.no_kk::char(16);

UPDATE registry.household_version v
   SET valid_to = mh.received_at
  FROM merge_household mh
 WHERE v.no_kk = mh.no_kk::char(16) AND v.valid_to IS NULL AND mh.known AND NOT mh.unchanged;

INSERT INTO registry.household_version (no_kk, version_no, kode_desa, kabkota_code, alamat, rt, rw,
                                        valid_from, valid_to, submission_id, file_row, run_id)
SELECT no_kk, old_version + 1, kode_desa, kabkota_code, alamat, rt, rw, received_at, NULL, :sid, file_row, :run_id
FROM merge_household
WHERE NOT unchanged;

INSERT INTO registry.household AS h (no_kk, kode_desa, kabkota_code, alamat, rt, rw, version_no,
                                     submission_id, file_row, valid_from)
SELECT no_kk, kode_desa, kabkota_code, alamat, rt, rw, old_version + 1, :sid, file_row, received_at
FROM merge_household
WHERE NOT unchanged
ON CONFLICT (no_kk) DO UPDATE SET
    kode_desa = EXCLUDED.kode_desa, kabkota_code = EXCLUDED.kabkota_code, alamat = EXCLUDED.alamat,
    rt = EXCLUDED.rt, rw = EXCLUDED.rw, version_no = EXCLUDED.version_no,
    submission_id = EXCLUDED.submission_id, file_row = EXCLUDED.file_row, valid_from = EXCLUDED.valid_from;

-- The rejected rows, kept whole as sent.
INSERT INTO quarantine.rejected_row (submission_id, file_row, row_data, run_id)
SELECT r.submission_id, r.file_row, to_jsonb(r) - 'submission_id' - 'file_row', :run_id
FROM staging.submission_row r
WHERE r.submission_id = :sid
  AND EXISTS (SELECT 1 FROM quarantine.row_issue q
              WHERE q.submission_id = r.submission_id AND q.file_row = r.file_row AND q.severity = 'error')
ON CONFLICT (submission_id, file_row) DO NOTHING;

SELECT event, count(*) AS n FROM merge_input GROUP BY event;
