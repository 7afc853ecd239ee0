-- 015: the same bytes re-landed after a refusal for where or when they landed are a new submission.
--
-- A file refused file_misplaced, round_unknown, round_closed or district_unknown
-- was never read: nothing of it reached staging or the registry. `dtks landing`
-- tells the operator to re-land it in the right folder, and a district told
-- "round closed" sends it again once the round is moved. With sha256 unique
-- over every submission, those re-sent bytes were recorded as a duplicate of
-- the refusal and never processed. Content stays recognised once for every
-- other outcome (merged, rejected by the checks, superseded ...), so nothing is
-- applied twice. The list matches dtks.ingest.REFUSED_BEFORE_READING.
ALTER TABLE audit.submission DROP CONSTRAINT submission_sha256_key;
CREATE UNIQUE INDEX submission_sha256_once ON audit.submission (sha256)
    WHERE reject_reason IS NULL
       OR reject_reason NOT IN ('file_misplaced', 'round_unknown', 'round_closed', 'district_unknown');
