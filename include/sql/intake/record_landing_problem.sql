-- A landing path the intake could not take (dtks.intake.record_landing_problems):
-- recorded once per path, its problem and detail refreshed on every run that
-- still sees it, and reopened if it had been resolved.
-- Bound parameters: :path the landing path, :problem the problem code,
-- :detail its message, :run the run id.
INSERT INTO audit.landing_problem (landing_path, problem, detail, last_run_id)
VALUES (:path, :problem, :detail, :run)
ON CONFLICT (landing_path) DO UPDATE SET
    problem = excluded.problem, detail = excluded.detail, last_seen_at = now(),
    last_run_id = excluded.last_run_id, resolved_at = NULL
