-- A round's district metrics with the province name, optionally one province or one district.
-- Bound parameters: :r the round id, :p a province code (NULL for all), :d a district code (NULL for all).
SELECT p.name AS province_name, d.*
FROM metrics.district_round d JOIN ref.province p ON p.code = d.province_code
WHERE d.round_id = :r AND (CAST(:p AS text) IS NULL OR d.province_code = :p)
  AND (CAST(:d AS text) IS NULL OR d.kabkota_code = :d)
ORDER BY d.province_code, d.kabkota_code
