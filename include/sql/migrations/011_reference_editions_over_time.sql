-- 011: Kemendagri editions over time (issue 18): editions never go
-- backwards, every load is logged, and a split district (pemekaran) is
-- followed by the registry, the rounds and the checks.
--
-- 1. ref.edition gains effective_on: the date the edition takes effect. It
--    orders editions ("older" = earlier effective date) and times what a
--    load changes in the registry.
-- 2. ref.edition_load: one append-only row per load: which edition, when,
--    who, the edition that was current before, the counts of codes added,
--    retired and changed (per level), the reason when an older edition was
--    forced, how many persons were re-attributed and which rounds' expected
--    sets gained a new district. The current edition is the edition of the
--    latest load.
-- 3. Successors: a retired village or kecamatan code may name the code that
--    replaced it (from the edition's successors.csv). A new kab/kota whose
--    kecamatan came from another one records it (split_from) and the date
--    (split_on).
-- 4. Re-attribution: persons living in a village that got a new code get a
--    new version (change_kind 'recoded') under a submission of kind
--    'edition' (the edition load is the lineage, not a district file), and an
--    event 'recoded' that record lineage shows; their verification dates are
--    not touched.

-- ---------------------------------------------------------------- 1. editions
ALTER TABLE ref.edition ADD COLUMN IF NOT EXISTS effective_on date;
-- The shipped edition (Kepmendagri 300.2.2-2138/2025): the package gives the year only.
UPDATE ref.edition SET effective_on = DATE '2025-01-01' WHERE effective_on IS NULL;
COMMENT ON COLUMN ref.edition.effective_on IS 'the date the edition takes effect; orders editions';

-- ---------------------------------------------------------------- 2. load log
CREATE TABLE ref.edition_load (
    load_id           bigserial PRIMARY KEY,
    edition           text NOT NULL REFERENCES ref.edition,
    effective_on      date NOT NULL,
    previous_edition  text REFERENCES ref.edition,   -- the current edition before this load (NULL: empty warehouse)
    loaded_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    loaded_by         text NOT NULL,                 -- an operating-system user (CLI) or a run id
    forced_reason     text,                          -- why an older edition was loaded over a newer one
    added             jsonb NOT NULL,                -- {"province": n, "kabkota": n, "kecamatan": n, "village": n}
    retired           jsonb NOT NULL,
    changed           jsonb NOT NULL,                -- same code, new name or new parent
    persons_recoded   integer NOT NULL DEFAULT 0,
    households_recoded integer NOT NULL DEFAULT 0,
    submission_id     bigint REFERENCES audit.submission,  -- lineage of the re-attributed versions
    rounds_extended   text[] NOT NULL DEFAULT '{}',  -- open rounds whose expected set gained a new district
    CHECK (forced_reason IS NULL OR length(btrim(forced_reason)) > 0)
);

CREATE TRIGGER edition_load_append_only BEFORE UPDATE OR DELETE ON ref.edition_load
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER edition_load_no_truncate BEFORE TRUNCATE ON ref.edition_load
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- Warehouses loaded before this migration: one row per edition already there.
INSERT INTO ref.edition_load (edition, effective_on, loaded_at, loaded_by, added, retired, changed)
SELECT e.edition, e.effective_on, e.loaded_at, 'migration-011',
       jsonb_build_object('province', e.provinces, 'kabkota', e.kabkota, 'kecamatan', e.kecamatan, 'village', e.villages),
       '{}'::jsonb, '{}'::jsonb
FROM ref.edition e
ORDER BY e.loaded_at;

-- ---------------------------------------------------------------- 3. successors, splits
ALTER TABLE ref.village   ADD COLUMN IF NOT EXISTS successor_code char(10);
ALTER TABLE ref.kecamatan ADD COLUMN IF NOT EXISTS successor_code char(6);
ALTER TABLE ref.kabkota   ADD COLUMN IF NOT EXISTS split_from char(4) REFERENCES ref.kabkota;
ALTER TABLE ref.kabkota   ADD COLUMN IF NOT EXISTS split_on date;
COMMENT ON COLUMN ref.village.successor_code IS 'the code that replaced this retired code (edition successors.csv)';
COMMENT ON COLUMN ref.kabkota.split_from IS 'the kab/kota this one was split from (pemekaran), when it is new';

-- ---------------------------------------------------------------- 4. re-attribution lineage
ALTER TABLE audit.submission DROP CONSTRAINT IF EXISTS submission_kind_check;
ALTER TABLE audit.submission ADD CONSTRAINT submission_kind_check
    CHECK (kind IN ('district', 'baseline', 'edition'));

ALTER TABLE registry.individual_version DROP CONSTRAINT IF EXISTS individual_version_change_kind_check;
ALTER TABLE registry.individual_version ADD CONSTRAINT individual_version_change_kind_check
    CHECK (change_kind IN ('inserted', 'changed', 'deactivated', 'reactivated', 'recoded'));
-- the re-attribution is an event of the person too, so record lineage (migration 003, event-based)
-- shows it; its verified_on is the person's last verification, unchanged (coverage does not move)
ALTER TABLE registry.individual_event DROP CONSTRAINT IF EXISTS individual_event_event_check;
ALTER TABLE registry.individual_event ADD CONSTRAINT individual_event_event_check
    CHECK (event IN ('inserted', 'changed', 'confirmed', 'deactivated', 'reactivated', 'recoded'));

GRANT SELECT ON ref.edition_load TO dtks_auditor;

-- ---------------------------------------------------------------- 5. names follow the edition
-- The village codes whose names match, as in migration 005 (current codes
-- only: names resolve to the current edition), with one addition: names that
-- place a village under the kab/kota it belonged to before a newer edition
-- moved it (the parent of a split district) are ambiguous between the parent
-- (the old edition) and the new district (the current one). Both codes are
-- returned, so the row is refused as ambiguous (village_name_ambiguous),
-- never guessed; the district fills in kode_desa.
CREATE OR REPLACE FUNCTION staging.village_codes_by_name(prov text, kab text, kec text, desa text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    WITH current_match AS (
        SELECT v.code::text AS code
        FROM ref.village v
        JOIN ref.kecamatan k ON k.code = v.kecamatan_code
        JOIN ref.kabkota kb ON kb.code = v.kabkota_code
        JOIN ref.province p ON p.code = kb.province_code
        WHERE staging.place_key(v.name) = ANY (ARRAY[staging.place_key(desa), staging.place_key_stripped(desa, 'desa')])
          AND staging.place_key(k.name) = ANY (ARRAY[staging.place_key(kec), staging.place_key_stripped(kec, 'kecamatan')])
          AND staging.kabkota_base(kb.name) = staging.kabkota_base(kab)
          AND (staging.kabkota_kind(kab) IS NULL OR staging.kabkota_kind(kab) = kb.kind)
          AND (staging.place_key(prov) IS NULL
               OR staging.place_key(p.name) = ANY (ARRAY[staging.place_key(prov), staging.place_key_stripped(prov, 'provinsi')]))
          AND v.retired_in IS NULL
        ORDER BY v.code
        LIMIT 2
    ), moved_match AS (
        -- the same names under the old hierarchy of a village a newer edition re-coded
        SELECT v.code::text AS old_code, v.successor_code::text AS new_code
        FROM ref.village v
        JOIN ref.kecamatan k ON k.code = v.kecamatan_code
        JOIN ref.kabkota kb ON kb.code = v.kabkota_code
        JOIN ref.province p ON p.code = kb.province_code
        WHERE v.retired_in IS NOT NULL AND v.successor_code IS NOT NULL
          AND staging.place_key(v.name) = ANY (ARRAY[staging.place_key(desa), staging.place_key_stripped(desa, 'desa')])
          AND staging.place_key(k.name) = ANY (ARRAY[staging.place_key(kec), staging.place_key_stripped(kec, 'kecamatan')])
          AND staging.kabkota_base(kb.name) = staging.kabkota_base(kab)
          AND (staging.kabkota_kind(kab) IS NULL OR staging.kabkota_kind(kab) = kb.kind)
          AND (staging.place_key(prov) IS NULL
               OR staging.place_key(p.name) = ANY (ARRAY[staging.place_key(prov), staging.place_key_stripped(prov, 'provinsi')]))
        LIMIT 1
    )
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM current_match) THEN (SELECT array_agg(code ORDER BY code) FROM current_match)
        WHEN EXISTS (SELECT 1 FROM moved_match) THEN (SELECT ARRAY[new_code, old_code] FROM moved_match)
        ELSE '{}'::text[]
    END
$$;
