-- Upsert one Kemendagri edition from the load_* temp tables into ref.*.
-- Codes absent from the new edition are marked retired, never deleted, so
-- records that still carry them keep resolving to a name; a retired code
-- replaced by another one (load_successor, from the edition's
-- successors.csv) names its successor. A new kab/kota that took over
-- kecamatan of another one records it (split_from) and since when (split_on).
INSERT INTO ref.province (code, name, edition, retired_in)
SELECT code, name, :edition, NULL FROM load_province
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, edition = EXCLUDED.edition, retired_in = NULL;

INSERT INTO ref.kabkota (code, province_code, name, kind, edition, retired_in, split_from, split_on)
SELECT code, province_code, name, kind, :edition, NULL, split_from,
       CASE WHEN split_from IS NOT NULL THEN CAST(:effective_on AS date) END
FROM load_kabkota
ON CONFLICT (code) DO UPDATE SET province_code = EXCLUDED.province_code, name = EXCLUDED.name,
    kind = EXCLUDED.kind, edition = EXCLUDED.edition, retired_in = NULL;

INSERT INTO ref.kecamatan (code, kabkota_code, name, edition, retired_in)
SELECT code, kabkota_code, name, :edition, NULL FROM load_kecamatan
ON CONFLICT (code) DO UPDATE SET kabkota_code = EXCLUDED.kabkota_code, name = EXCLUDED.name,
    edition = EXCLUDED.edition, retired_in = NULL, successor_code = NULL;

INSERT INTO ref.village (code, kecamatan_code, kabkota_code, name, kind, edition, retired_in)
SELECT code, kecamatan_code, kabkota_code, name, kind, :edition, NULL FROM load_village
ON CONFLICT (code) DO UPDATE SET kecamatan_code = EXCLUDED.kecamatan_code, kabkota_code = EXCLUDED.kabkota_code,
    name = EXCLUDED.name, kind = EXCLUDED.kind, edition = EXCLUDED.edition, retired_in = NULL, successor_code = NULL;

UPDATE ref.village SET retired_in = :edition
 WHERE retired_in IS NULL AND code NOT IN (SELECT code FROM load_village);
UPDATE ref.kecamatan SET retired_in = :edition
 WHERE retired_in IS NULL AND code NOT IN (SELECT code FROM load_kecamatan);
UPDATE ref.kabkota SET retired_in = :edition
 WHERE retired_in IS NULL AND code NOT IN (SELECT code FROM load_kabkota);
UPDATE ref.province SET retired_in = :edition
 WHERE retired_in IS NULL AND code NOT IN (SELECT code FROM load_province);

UPDATE ref.village v SET successor_code = s.successor_code
  FROM load_successor s WHERE v.code = s.code AND length(s.code) = 10;
UPDATE ref.kecamatan k SET successor_code = s.successor_code
  FROM load_successor s WHERE k.code = s.code AND length(s.code) = 6;
