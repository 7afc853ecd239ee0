-- A village code from the place names a district wrote instead of a code.
--
-- Used by staging.submission_row_normalised (040): exactly one match is the code; none
-- or several is a row error (never a guess).

-- The current village codes whose names match (at most two are returned:
-- one is a match, two is ambiguous, none is unknown; province is optional;
-- current codes only: names resolve to the current edition). Names that
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
