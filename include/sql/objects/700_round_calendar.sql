-- Each round's instants in Asia/Jakarta time (WIB), as the round rules use them.

-- The instants a round's rules use. A round closes at the end of its last
-- grace day (cut-off + grace_days), Asia/Jakarta time (WIB).
CREATE OR REPLACE VIEW audit.round_calendar AS
SELECT r.round_id, r.status, r.opens_on, r.cutoff_on, r.grace_days, r.on_time_grace_days, r.penetapan_on,
       r.cutoff_on + r.grace_days                                                AS last_grace_day,
       (r.opens_on::timestamp AT TIME ZONE 'Asia/Jakarta')                       AS opens_at,
       ((r.cutoff_on + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')                AS cutoff_at,
       ((r.cutoff_on + r.on_time_grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') AS on_time_until,
       ((r.cutoff_on + r.grace_days + 1)::timestamp AT TIME ZONE 'Asia/Jakarta') AS close_at
FROM audit.round r;
