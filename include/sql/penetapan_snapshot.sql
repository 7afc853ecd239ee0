-- Freeze the penetapan snapshot of round :round_id (run :run_id), after
-- p_district was filled from penetapan_district_as_of.sql in this transaction.
--
-- Frozen: snapshot rows are never changed. Closing the round again with the
-- same registry history adds nothing (same hash); if the history as of the
-- close differs (the round was reopened with new dates, or a file that
-- arrived before the close was registered after it) the round's next
-- snapshot_no records the new determination next to the old one.

CREATE TEMP TABLE p_new ON COMMIT DROP AS
SELECT :round_id AS round_id,
       coalesce((SELECT max(snapshot_no) FROM metrics.penetapan WHERE round_id = :round_id), 0) + 1 AS snapshot_no,
       t.registry_hash, t.active_individuals, t.households
FROM (
    SELECT md5(coalesce(string_agg(kabkota_code || '=' || registry_hash, ',' ORDER BY kabkota_code), '')) AS registry_hash,
           coalesce(sum(active_individuals), 0) AS active_individuals,
           coalesce(sum(households), 0)         AS households
    FROM p_district
) t
WHERE t.registry_hash IS DISTINCT FROM (SELECT registry_hash FROM metrics.penetapan WHERE round_id = :round_id
                                        ORDER BY snapshot_no DESC LIMIT 1);

INSERT INTO metrics.penetapan (round_id, snapshot_no, as_of, penetapan_on, active_individuals, households,
                               registry_hash, taken_by_run)
SELECT p.round_id, p.snapshot_no, c.close_at, c.penetapan_on, p.active_individuals, p.households,
       p.registry_hash, :run_id
FROM p_new p JOIN audit.round_calendar c USING (round_id);

INSERT INTO metrics.penetapan_district (round_id, snapshot_no, kabkota_code, province_code, active_individuals,
                                        inactive_individuals, households, pkh, bpnt, pbi, registry_hash)
SELECT p.round_id, p.snapshot_no, d.kabkota_code, d.province_code, d.active_individuals, d.inactive_individuals,
       d.households, d.pkh, d.bpnt, d.pbi, d.registry_hash
FROM p_new p CROSS JOIN p_district d;

SELECT max(snapshot_no) FROM metrics.penetapan WHERE round_id = :round_id;
