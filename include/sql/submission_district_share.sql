-- Of a submission's rows whose village code exists, the share lying in
-- another district than the folder it was sent to (a wrong-folder file).
SELECT s.kabkota_code AS submitted_kabkota,
       count(v.code) AS rows_with_known_village,
       coalesce(avg((v.kabkota_code <> s.kabkota_code)::int) FILTER (WHERE v.code IS NOT NULL), 0) AS share_elsewhere
FROM audit.submission s
JOIN staging.normalised_row n ON n.submission_id = s.submission_id
LEFT JOIN ref.village v ON v.code = n.kode_desa
WHERE s.submission_id = :sid
GROUP BY s.kabkota_code;
