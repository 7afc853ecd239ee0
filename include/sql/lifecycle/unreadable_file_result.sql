-- A file the parser refused, recorded as the failed check of the critical file
-- suite (dtks.lifecycle.reject_unreadable): it has no rows to check, so the
-- check counts one element, unexpected. Recorded once per reason.
-- Bound parameters: :sid the submission id, :suite and :version the file
-- suite, :code the reason code, :run the run id.
INSERT INTO audit.validation_result (submission_id, suite_name, suite_version, expectation_type,
                                     reason_code, severity, column_name, element_count, unexpected_count,
                                     success, run_id)
VALUES (:sid, :suite, :version, 'dtks_parse_file', :code, 'critical', NULL, 1, 1, false, :run)
ON CONFLICT (submission_id, suite_name, reason_code) DO NOTHING
