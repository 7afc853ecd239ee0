-- The registry exactly as round :r determined it (dtks.metrics.registry_as_determined):
-- every person's version valid at the round's close instant
-- (registry.individual_as_of), for one district or all, in NIK order.
-- Contains personal data: for the ministry's penetapan list, never for logs.
-- Bound parameters: :r the round id, :k a district code (NULL for all).
SELECT v.nik, v.version_no, v.no_kk, v.kabkota_code, v.kode_desa, v.status_keberadaan, v.active,
       v.pkh, v.bpnt, v.pbi, v.verified_on, v.submission_id
FROM audit.round_calendar c
CROSS JOIN LATERAL registry.individual_as_of(c.close_at) v
WHERE c.round_id = :r AND (CAST(:k AS text) IS NULL OR v.kabkota_code = :k)
ORDER BY v.nik
