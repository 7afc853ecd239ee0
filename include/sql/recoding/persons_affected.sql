-- Who a reference edition re-codes (dtks.recoding.apply_edition, before it
-- re-attributes anyone): the persons living in a village of load_successor,
-- and the latest thing that happened to any of them, a version or a
-- confirmation (an event without a version, which moved their coverage state
-- at its own time). The edition must take effect after that.
-- Reads the session's temporary table load_successor (dtks.reference); no
-- bound parameters.
WITH recoded AS (
    SELECT i.nik, i.valid_from
    FROM registry.individual i
    JOIN load_successor s ON s.code = i.kode_desa::text
), last_event AS (
    SELECT r.nik, greatest(r.valid_from, e.latest) AS latest
    FROM recoded r
    LEFT JOIN LATERAL (SELECT max(received_at) AS latest FROM registry.individual_event e
                       WHERE e.nik = r.nik) e ON true
)
SELECT count(*) AS persons, max(latest) AS latest
FROM last_event
