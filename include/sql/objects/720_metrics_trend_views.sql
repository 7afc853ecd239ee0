-- Trend views: each computed round next to the previous computed round (by opening date).

CREATE OR REPLACE VIEW metrics.trend_national AS
SELECT n.round_id, r.opens_on, n.expected_districts, n.accepted_districts, n.on_time_districts,
       n.reporting_rate, n.on_time_rate, n.coverage_12m, n.coverage_24m, n.acceptance_rate,
       n.update_index_mean, n.districts_index_070, n.districts_index_075, n.record_age_median_days,
       n.reporting_rate - lag(n.reporting_rate) OVER w   AS reporting_rate_change,
       n.on_time_rate   - lag(n.on_time_rate)   OVER w   AS on_time_rate_change,
       n.coverage_24m   - lag(n.coverage_24m)   OVER w   AS coverage_24m_change,
       n.update_index_mean - lag(n.update_index_mean) OVER w AS update_index_mean_change
FROM metrics.national_round n
JOIN audit.round r USING (round_id)
WINDOW w AS (ORDER BY r.opens_on);

CREATE OR REPLACE VIEW metrics.trend_province AS
SELECT p.round_id, r.opens_on, p.province_code, p.province_name, p.expected_districts, p.accepted_districts,
       p.reporting_rate, p.on_time_rate, p.coverage_24m, p.acceptance_rate, p.update_index_mean,
       p.reporting_rate - lag(p.reporting_rate) OVER w   AS reporting_rate_change,
       p.coverage_24m   - lag(p.coverage_24m)   OVER w   AS coverage_24m_change,
       p.update_index_mean - lag(p.update_index_mean) OVER w AS update_index_mean_change
FROM metrics.province_round p
JOIN audit.round r USING (round_id)
WINDOW w AS (PARTITION BY p.province_code ORDER BY r.opens_on);

CREATE OR REPLACE VIEW metrics.trend_district AS
SELECT d.round_id, r.opens_on, d.kabkota_code, d.kabkota_name, d.province_code, d.expected, d.accepted,
       d.on_time, d.days_late, d.coverage_24m, d.acceptance_rate, d.missed_rounds, d.update_class, d.update_index,
       d.coverage_24m - lag(d.coverage_24m) OVER w AS coverage_24m_change,
       d.update_index - lag(d.update_index) OVER w AS update_index_change,
       lag(d.update_class) OVER w                  AS previous_update_class
FROM metrics.district_round d
JOIN audit.round r USING (round_id)
WINDOW w AS (PARTITION BY d.kabkota_code ORDER BY r.opens_on);
