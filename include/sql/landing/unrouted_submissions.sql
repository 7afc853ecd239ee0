-- District files received since :since that were refused because they could
-- not be routed (dtks.landing, the landing report): wrong folder, unknown round
-- or district. Each with the round and district it was found under and the
-- English message as recorded on its 'rejected' event: reject_detail joins both
-- languages with " / ", which the messages themselves may contain
-- ("folder utama / the landing root").
-- Bound parameters: :reasons the unrouted reject reasons (text[]), :since the
-- earliest arrival time.
WITH unrouted AS (
    SELECT submission_id, file_name, landing_path, archive_path, reject_reason, reject_detail, received_at,
           coalesce(round_id, landed_round_id) AS round_id, kabkota_code
    FROM audit.submission
    WHERE kind = 'district' AND reject_reason = ANY(:reasons) AND received_at >= :since
)
SELECT u.*,
       (SELECT e.detail->>'message_en' FROM audit.submission_event e
         WHERE e.submission_id = u.submission_id AND e.event = 'rejected'
         ORDER BY e.event_id DESC LIMIT 1) AS message_en
FROM unrouted u
ORDER BY u.received_at, u.submission_id
