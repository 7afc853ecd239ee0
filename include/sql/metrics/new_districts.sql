-- Districts of a round that a newer reference edition created by a split: when, and from which
-- parent (the report's and the auditor page's note on new districts).
-- Bound parameters: :r the round id.
SELECT d.kabkota_code, d.kabkota_name, k.split_on, k.split_from, pk.name AS split_from_name
FROM metrics.district_round d
JOIN ref.kabkota k ON k.code = d.kabkota_code
JOIN ref.kabkota pk ON pk.code = k.split_from
WHERE d.round_id = :r
ORDER BY d.kabkota_code
