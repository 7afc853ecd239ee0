-- Record lineage (unmasked: engineers only; auditors go through 400 and 500).
--
-- registry.record_lineage: every version and event of a person or household,
-- with what changed, when and where it came from; registry.lineage_of(number)
-- and registry.attempts_of(number): one NIK/KK, and its attempts that never
-- reached the registry.

-- Every event of every person (inserted / changed / confirmed / deactivated /
-- reactivated) and every household version, with what changed since the
-- previous version (column names only), when, and where it came from.
CREATE OR REPLACE VIEW registry.record_lineage AS
WITH person_version AS (
    SELECT v.nik, v.version_no, v.no_kk, v.nama, v.status_keberadaan, v.active, v.kode_desa, v.kabkota_code,
           v.valid_from, v.valid_to,
           a.attrs,
           lag(a.attrs) OVER (PARTITION BY v.nik ORDER BY v.version_no) AS previous_attrs
    FROM registry.individual_version v
    CROSS JOIN LATERAL (SELECT to_jsonb(v) - ARRAY['nik', 'version_no', 'change_kind', 'record_hash', 'verified_on',
                                                   'valid_from', 'valid_to', 'submission_id', 'file_row', 'run_id',
                                                   'recorded_at'] AS attrs) a
),
household_version AS (
    SELECT h.*,
           jsonb_build_object('kode_desa', h.kode_desa, 'kabkota_code', h.kabkota_code, 'alamat', h.alamat,
                              'rt', h.rt, 'rw', h.rw) AS attrs,
           lag(jsonb_build_object('kode_desa', h.kode_desa, 'kabkota_code', h.kabkota_code, 'alamat', h.alamat,
                                  'rt', h.rt, 'rw', h.rw)) OVER (PARTITION BY h.no_kk ORDER BY h.version_no) AS previous_attrs
    FROM registry.household_version h
),
events AS (
    SELECT 'individual'::text AS record_type,
           pv.nik,   -- the window's partition column: a filter on it reaches the version scan
           pv.no_kk,
           audit.name_initials(pv.nama) AS nama_initials,
           e.event,
           e.version_no,
           CASE
               WHEN e.event = 'inserted' THEN NULL
               WHEN e.event = 'confirmed' THEN ARRAY[]::text[]
               ELSE ARRAY(SELECT k.key FROM jsonb_each(pv.attrs) k
                          WHERE k.value IS DISTINCT FROM pv.previous_attrs -> k.key ORDER BY k.key)
           END AS changed_columns,
           e.received_at AS event_at,
           pv.valid_from,
           pv.valid_to,
           e.verified_on,
           pv.status_keberadaan,
           pv.active,
           pv.kode_desa::text AS kode_desa,
           e.submission_id,
           e.file_row,
           e.run_id
    FROM registry.individual_event e
    JOIN person_version pv ON pv.nik = e.nik AND pv.version_no = e.version_no
    UNION ALL
    SELECT 'household'::text,
           NULL::char(16),
           hv.no_kk,
           NULL::text,
           CASE WHEN hv.previous_attrs IS NULL THEN 'inserted' ELSE 'changed' END,
           hv.version_no,
           CASE WHEN hv.previous_attrs IS NULL THEN NULL
                ELSE ARRAY(SELECT k.key FROM jsonb_each(hv.attrs) k
                           WHERE k.value IS DISTINCT FROM hv.previous_attrs -> k.key ORDER BY k.key) END,
           hv.valid_from,
           hv.valid_from,
           hv.valid_to,
           NULL::date,
           NULL::text,
           NULL::boolean,
           hv.kode_desa::text,
           hv.submission_id,
           hv.file_row,
           hv.run_id
    FROM household_version hv
)
SELECT ev.record_type, ev.nik, ev.no_kk, ev.nama_initials, ev.event, ev.version_no, ev.changed_columns,
       ev.event_at, ev.valid_from, ev.valid_to, ev.verified_on, ev.status_keberadaan, ev.active, ev.kode_desa,
       ev.submission_id, s.kind AS submission_kind, s.round_id, s.kabkota_code::text AS submitted_by_kabkota,
       k.name AS submitted_by_kabkota_name, s.file_name, ev.file_row, s.sha256::text AS file_sha256,
       s.suite_name, s.suite_version, ev.run_id AS merge_run_id, s.registered_by_run
FROM events ev
JOIN audit.submission s ON s.submission_id = ev.submission_id
LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code;

COMMENT ON VIEW registry.record_lineage IS
    'Every version and event of a person (NIK) or household (KK): what changed (column names), when, from which '
    'submission, district, file and file row, checked by which suite version, merged by which run. Unmasked: '
    'engineers only; auditors read registry.record_lineage_masked / registry.lineage_masked(identifier).';

-- The lineage of one NIK, or of one KK (the household and everyone who was ever in it).
CREATE OR REPLACE FUNCTION registry.lineage_of(identifier text) RETURNS SETOF registry.record_lineage
LANGUAGE plpgsql STABLE AS $$
DECLARE
    wanted char(16)[];
BEGIN
    -- the NIK itself, or everyone who ever carried the KK number
    wanted := ARRAY(SELECT btrim(identifier)::char(16)
                    UNION
                    SELECT v.nik FROM registry.individual_version v WHERE v.no_kk = btrim(identifier)::char(16));
    -- filtering on nik / no_kk (the window partitions) lets the planner read only these records
    RETURN QUERY
    SELECT l.* FROM (
        SELECT r.* FROM registry.record_lineage r WHERE r.record_type = 'individual' AND r.nik = ANY(wanted)
        UNION ALL
        SELECT h.* FROM registry.record_lineage h
        WHERE h.record_type = 'household' AND h.no_kk = btrim(identifier)::char(16)
    ) l
    ORDER BY l.event_at, l.record_type, l.nik, l.version_no;
END;
$$;

-- Every attempt that carried the NIK (or KK) and did not reach the registry:
-- quarantined rows (with every reason) and rows of files rejected whole (the file's reason).
CREATE OR REPLACE FUNCTION registry.attempts_of(identifier text)
RETURNS TABLE (attempt text, nik text, no_kk text, nama_initials text, event_at timestamptz, submission_id bigint,
               round_id text, submitted_by_kabkota text, submitted_by_kabkota_name text, file_name text,
               file_row integer, file_sha256 text, reasons text[], run_id text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        SELECT 'row_quarantined'::text, btrim(q.row_data ->> 'nik'), btrim(q.row_data ->> 'no_kk'),
               audit.name_initials(q.row_data ->> 'nama'), s.received_at, q.submission_id, s.round_id,
               s.kabkota_code::text, k.name, s.file_name, q.file_row, s.sha256::text,
               ARRAY(SELECT i.reason_code FROM quarantine.row_issue i
                     WHERE i.submission_id = q.submission_id AND i.file_row = q.file_row
                     ORDER BY i.severity, i.reason_code),
               q.run_id
        FROM quarantine.rejected_row q
        JOIN audit.submission s ON s.submission_id = q.submission_id
        LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
        WHERE btrim(q.row_data ->> 'nik') = btrim(identifier) OR btrim(q.row_data ->> 'no_kk') = btrim(identifier)
        UNION ALL
        SELECT 'file_rejected', f.nik, f.no_kk, NULL, s.received_at, f.submission_id, s.round_id,
               s.kabkota_code::text, k.name, s.file_name, f.file_row, s.sha256::text,
               ARRAY[s.reject_reason], NULL
        FROM quarantine.rejected_file_row f
        JOIN audit.submission s ON s.submission_id = f.submission_id
        LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code
        WHERE f.nik = btrim(identifier) OR f.no_kk = btrim(identifier)
    ) a
    ORDER BY 5, 6, 11
$$;
