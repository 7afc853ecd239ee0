-- Every check run on one submission: failed first, then by severity and reason.
-- Bound parameters: :sid the submission id.
SELECT suite_name, suite_version, expectation_type, reason_code, severity, column_name,
       element_count, unexpected_count, success, run_id, validated_at
FROM audit.validation_result WHERE submission_id = :sid
ORDER BY success, CASE severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 ELSE 2 END, reason_code
