-- A district split by a reference edition is expected in the open rounds its
-- parent is expected in, from the edition's effective date on
-- (dtks.recoding.apply_edition). Returns the round of each expectation added.
-- Bound parameters: :new the codes of the new districts (text[]), :on the
-- edition's effective date.
INSERT INTO audit.round_expected_district (round_id, kabkota_code)
SELECT e.round_id, k.code
FROM ref.kabkota k
JOIN audit.round_expected_district e ON e.kabkota_code = k.split_from
JOIN audit.round r ON r.round_id = e.round_id
WHERE k.code = ANY(:new) AND r.status = 'open' AND r.opens_on >= :on
ON CONFLICT DO NOTHING
RETURNING round_id
