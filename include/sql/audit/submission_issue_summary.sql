-- One submission's quarantined row issues counted by reason, severity and field (masked).
-- Bound parameters: :sid the submission id.
SELECT reason_code, severity, field, count(*) AS rows
FROM quarantine.row_issue_masked WHERE submission_id = :sid
GROUP BY reason_code, severity, field ORDER BY severity, reason_code
