-- The registry as round :round_id determined it, per district: every
-- person's version valid at the round's close instant (registry.individual_as_of,
-- over registry.individual_version valid_from/valid_to), counted by the
-- district of that version. registry_hash is md5 over 'nik:version_no' of
-- every record in the district then (active or deactivated), in NIK order:
-- two computations agree on it only if they see exactly the same versions.
-- Used to freeze the penetapan snapshot (penetapan_snapshot.sql) and to
-- verify it later (dtks.metrics.verify_penetapan).
SELECT v.kabkota_code,
       left(v.kabkota_code, 2)                                    AS province_code,
       count(*) FILTER (WHERE v.active)::integer                  AS active_individuals,
       count(*) FILTER (WHERE NOT v.active)::integer              AS inactive_individuals,
       count(DISTINCT v.no_kk) FILTER (WHERE v.active)::integer   AS households,
       count(*) FILTER (WHERE v.active AND v.pkh)::integer        AS pkh,
       count(*) FILTER (WHERE v.active AND v.bpnt)::integer       AS bpnt,
       count(*) FILTER (WHERE v.active AND v.pbi)::integer        AS pbi,
       md5(string_agg(v.nik || ':' || v.version_no, ',' ORDER BY v.nik)) AS registry_hash
FROM audit.round_calendar c
CROSS JOIN LATERAL registry.individual_as_of(c.close_at) v
WHERE c.round_id = :round_id
GROUP BY v.kabkota_code
ORDER BY v.kabkota_code
