-- 013: files in the landing folder that the pipeline could not take in (issue 13 item 1).
--
-- One unreadable file (mode 600 under another upload account, a manifest
-- that cannot be opened, a file swapped for a link while being read) must
-- not stop the other districts' files. Each such file stays where it is and
-- is recorded here, one row per landing path, so `dtks landing` can list it
-- and an operator can fix or move it. A row is resolved when a later run no
-- longer finds the problem (the file was registered, fixed or moved).
-- Landing paths carry file names, which may hold names or NIKs: the auditor
-- role does not read this table (the operator's CLI does).

CREATE TABLE IF NOT EXISTS audit.landing_problem (
    landing_path   text PRIMARY KEY,
    problem        text NOT NULL,            -- file_unreadable | manifest_unreadable | file_swapped
    detail         text,                     -- the OS error's name (never the file's content)
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    last_run_id    text,
    resolved_at    timestamptz
);
COMMENT ON TABLE audit.landing_problem IS 'landed files the pipeline could not read; they stay in landing (dtks landing lists them)';

REVOKE ALL ON audit.landing_problem FROM dtks_auditor;
