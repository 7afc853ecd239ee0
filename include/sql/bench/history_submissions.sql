-- The benchmark's history (dtks/devtools/bench_pipeline.run_history_metrics):
-- for each earlier round in :ids, a merged district submission from about 80 %
-- of its expected districts, arriving from 3 days after to 16 days before the
-- cut-off (audit rows only: the metrics of 24 rounds are what is timed).
INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, sha256, size_bytes,
                              received_at, registered_by_run, status, rows_in, rows_accepted, rows_quarantined,
                              rows_warned)
SELECT 'district', r.round_id, e.kabkota_code, 'history.csv', 'history',
       md5(r.round_id || e.kabkota_code) || md5(e.kabkota_code || r.round_id), 1000,
       (r.cutoff_on - (abs(hashtext(e.kabkota_code || r.round_id)) % 20 - 3))::timestamp AT TIME ZONE 'Asia/Jakarta',
       'bench-history', 'merged', 100, 95, 5, 0
FROM audit.round r
JOIN audit.round_expected_district e USING (round_id)
WHERE r.round_id = ANY(:ids) AND abs(hashtext(e.kabkota_code || r.round_id)) % 10 < 8;
