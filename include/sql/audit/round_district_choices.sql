-- A round's expected districts with their provinces (the auditor page's filters).
-- Bound parameters: :r the round id.
SELECT k.code AS kabkota_code, k.name AS kabkota_name, p.code AS province_code, p.name AS province_name
FROM audit.round_expected_district e
JOIN ref.kabkota k ON k.code = e.kabkota_code JOIN ref.province p ON p.code = k.province_code
WHERE e.round_id = :r ORDER BY k.code
