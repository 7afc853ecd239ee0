-- Every check run on the district submissions of round :r, for its Data Docs
-- site (dtks.datadocs._round_rows): suite, reason, counts and outcome per
-- submission, in submission, suite and reason order.
-- Bound parameters: :r the round id.
SELECT v.submission_id, v.suite_name, v.suite_version, v.reason_code, v.severity, v.expectation_type,
       v.element_count, v.unexpected_count, v.success, v.run_id, v.validated_at
FROM audit.validation_result v
JOIN audit.submission s USING (submission_id)
WHERE s.kind = 'district' AND s.round_id = :r
ORDER BY v.submission_id, v.suite_name, v.reason_code
