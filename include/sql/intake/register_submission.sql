-- A landed file registered as a submission (dtks.intake.register), before it
-- is staged: where it landed and where its archived copy is, its hash, size and
-- arrival, the run that found it and its manifest. Returns its submission_id.
-- Bound parameters: :kind ('district' or 'baseline'), :round the assigned round
-- (NULL if none), :district the district code (NULL if unknown), :name the
-- file name, :landing and :archive paths, :sha its sha256, :size in bytes,
-- :received its arrival time, :run the run id, :manifest (JSON text).
INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, archive_path,
                              sha256, size_bytes, received_at, registered_by_run, manifest)
VALUES (:kind, :round, :district, :name, :landing, :archive, :sha, :size, :received, :run,
        CAST(:manifest AS jsonb))
RETURNING submission_id
