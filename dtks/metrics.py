"""Compute and read a round's metrics (the SQL is include/sql/metrics_district_round.sql)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.warehouse import read_sql

DISTRICT_COLUMNS = (
    "round_id", "province_code", "province_name", "kabkota_code", "kabkota_name", "expected", "submitted",
    "accepted", "submissions_received", "first_accepted_at", "on_time", "days_late", "submission_lag_days",
    "active_records", "coverage_12m", "coverage_24m", "record_age_median_days", "record_age_p90_days",
    "rows_submitted", "rows_accepted", "acceptance_rate", "missed_rounds", "updated_since_baseline",
    "update_class", "on_time_rate_12r", "update_index",
)


def compute_round_metrics(eng: Engine, round_id: str) -> int:
    """(Re)compute one round's metrics in one transaction; return the district row count."""
    with eng.begin() as conn:
        # Serialise with merges' reads of a consistent snapshot: metrics of a
        # round are computed by one transaction at a time.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('dtks-metrics-' || :r))"), {"r": round_id})
        conn.execute(sa.text(read_sql("metrics_district_round.sql")), {"round_id": round_id})
        return conn.execute(sa.text("SELECT count(*) FROM metrics.district_round WHERE round_id = :r"),
                            {"r": round_id}).scalar_one()


def district_table(eng: Engine, round_id: str, expected_only: bool = True) -> list[dict]:
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT d.*, p.name AS province_name FROM metrics.district_round d"
            " JOIN ref.province p ON p.code = d.province_code"
            " WHERE d.round_id = :r AND (d.expected OR NOT :e) ORDER BY d.kabkota_code"),
            {"r": round_id, "e": expected_only}).mappings().all()
    return [{c: row[c] for c in DISTRICT_COLUMNS} for row in rows]


def province_table(eng: Engine, round_id: str) -> list[dict]:
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT * FROM metrics.province_round WHERE round_id = :r ORDER BY province_code"),
            {"r": round_id}).mappings().all()]


def national_trend(eng: Engine, up_to_round: str) -> list[dict]:
    """National figures of every round up to ``up_to_round``, oldest first."""
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT n.* FROM metrics.national_round n JOIN audit.round r USING (round_id)"
            " WHERE r.opens_on <= (SELECT opens_on FROM audit.round WHERE round_id = :r) ORDER BY r.opens_on"),
            {"r": up_to_round}).mappings().all()]
