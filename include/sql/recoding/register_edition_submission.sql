-- The submission every version re-attributed by a reference edition points at
-- (dtks.recoding._lineage_submission): the edition's successors.csv, as loaded,
-- registered like a landed file of kind 'edition'. Returns its submission_id.
-- Bound parameters: :name the file name, :path its path (landing and archive),
-- :sha its hash, salted with the edition, :size in bytes, :at the edition's
-- effective instant, :run the run id, :manifest (JSON text), :rows the moves.
INSERT INTO audit.submission (kind, file_name, landing_path, archive_path, sha256, size_bytes, received_at,
                              registered_by_run, manifest, status, rows_in)
VALUES ('edition', :name, :path, :path, :sha, :size, :at, :run, CAST(:manifest AS jsonb), 'received', :rows)
RETURNING submission_id
