-- The table the whole-file (critical) suite checks: one row per staged
-- submission of a batch (bound parameters: :ids, the array of submission
-- ids; :require_manifest, 1 when the manifest policy is on).
-- See expectations/dtks_submission_file.json for the rules over these columns.
WITH sub AS (
    SELECT s.submission_id, s.kabkota_code, s.manifest, (s.received_at AT TIME ZONE 'Asia/Jakarta')::date AS received_on
    FROM audit.submission s
    WHERE s.submission_id = ANY(:ids)
), share AS (
    -- of the rows whose village exists, the share lying in another district than the folder
    SELECT n.submission_id,
           count(v.code) AS rows_with_known_village,
           avg((v.kabkota_code <> s.kabkota_code)::int) FILTER (WHERE v.code IS NOT NULL) AS share_elsewhere
    FROM sub s
    JOIN staging.normalised_row n ON n.submission_id = s.submission_id
    LEFT JOIN ref.village v ON v.code = n.kode_desa
    GROUP BY n.submission_id
), evidence AS (
    SELECT s.submission_id,
           jsonb_typeof(s.manifest) = 'object' AND NOT s.manifest ? 'unreadable_manifest' AS readable,
           CASE WHEN jsonb_typeof(s.manifest) = 'object' THEN btrim(coalesce(s.manifest ->> 'musdes_ref', '')) END AS musdes_ref,
           CASE WHEN jsonb_typeof(s.manifest) = 'object' THEN btrim(coalesce(s.manifest ->> 'pengesahan_no', '')) END AS pengesahan_no,
           CASE WHEN jsonb_typeof(s.manifest) = 'object' THEN staging.parse_date(s.manifest ->> 'pengesahan_date') END AS pengesahan_date,
           s.received_on
    FROM sub s
)
SELECT
    s.submission_id,
    s.kabkota_code                                                    AS submitted_kabkota,
    coalesce(sh.rows_with_known_village, 0)                           AS rows_with_known_village,
    round(coalesce(sh.share_elsewhere, 0)::numeric, 4)::float8        AS share_elsewhere,
    CAST(:require_manifest AS integer)                                AS manifest_required,
    -- what is missing from the process evidence; NULL when complete
    CASE WHEN e.readable IS NOT TRUE THEN 'manifest (musdes_ref, pengesahan_no, pengesahan_date)'
         ELSE nullif(concat_ws(', ',
              CASE WHEN e.musdes_ref = '' THEN 'musdes_ref' END,
              CASE WHEN e.pengesahan_no = '' THEN 'pengesahan_no' END,
              CASE WHEN e.pengesahan_date IS NULL THEN 'pengesahan_date'
                   WHEN e.pengesahan_date > e.received_on THEN 'pengesahan_date > tanggal kirim / date sent' END), '')
    END                                                               AS manifest_missing
FROM sub s
LEFT JOIN share sh ON sh.submission_id = s.submission_id
JOIN evidence e ON e.submission_id = s.submission_id
