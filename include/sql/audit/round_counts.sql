-- The auditor's round summary (dtks.audit.AuditReader.counts): how many
-- district submissions round :r received, from how many districts, how they
-- ended, and their row and byte totals. Read through audit.submission_masked,
-- the auditor's view, so no file name or personal data is involved.
-- Bound parameters: :r the round id.
SELECT count(*)                                                                  AS submissions,
       count(DISTINCT kabkota_code)                                              AS districts_submitting,
       count(*) FILTER (WHERE status = 'merged')                                 AS merged,
       count(*) FILTER (WHERE status = 'rejected')                               AS rejected,
       count(*) FILTER (WHERE status = 'superseded')                             AS superseded,
       count(*) FILTER (WHERE status IN ('received', 'staged', 'validated'))     AS unfinished,
       coalesce(sum(rows_in), 0)                                                 AS rows_in,
       coalesce(sum(rows_accepted), 0)                                           AS rows_accepted,
       coalesce(sum(rows_quarantined), 0)                                        AS rows_quarantined,
       coalesce(sum(rows_warned), 0)                                             AS rows_warned,
       coalesce(sum(size_bytes), 0)                                              AS bytes_received
FROM audit.submission_masked
WHERE round_id = :r
