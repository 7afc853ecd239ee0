"""Compute and read a round's metrics and its penetapan snapshot; the rules read from them (follow-up, league).

The SQL is in include/sql/: ``metrics_district_round.sql`` (district figures
and province / national rollups), ``penetapan_district_as_of.sql`` and
``penetapan_snapshot.sql`` (the registry as the round determined it). Trends
over rounds are views (``metrics.trend_national``, ``trend_province``,
``trend_district``, migration 004).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.display import INDEX_THRESHOLDS, by_place
from dtks.faults import failpoint
from dtks.warehouse import read_sql

DISTRICT_COLUMNS = (
    "round_id",
    "province_code",
    "province_name",
    "kabkota_code",
    "kabkota_name",
    "expected",
    "submitted",
    "accepted",
    "submissions_received",
    "first_accepted_at",
    "on_time",
    "days_late",
    "submission_lag_days",
    "active_records",
    "coverage_12m",
    "coverage_24m",
    "record_age_median_days",
    "record_age_p90_days",
    "rows_submitted",
    "rows_accepted",
    "acceptance_rate",
    "missed_rounds",
    "updated_since_baseline",
    "update_class",
    "on_time_rate_12r",
    "update_index",
    "index_ge_070",
    "index_ge_075",
)

PENETAPAN_COLUMNS = (
    "kabkota_code",
    "province_code",
    "active_individuals",
    "inactive_individuals",
    "households",
    "pkh",
    "bpnt",
    "pbi",
    "registry_hash",
)


def _lock(conn: sa.Connection, what: str, round_id: str) -> None:
    # One computation of a round at a time (two close runs of one round never interleave).
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:w || :r))"), {"w": what, "r": round_id})


def _require_round(conn: sa.Connection, round_id: str) -> None:
    if conn.execute(sa.text("SELECT 1 FROM audit.round WHERE round_id = :r"), {"r": round_id}).first() is None:
        raise LookupError(f"round {round_id} does not exist")


def compute_round_metrics(eng: Engine, round_id: str) -> int:
    """(Re)compute one round's metrics in one transaction; return the district row count."""
    # REPEATABLE READ: every statement of the metrics script sees one snapshot,
    # so a merge committing meanwhile cannot leave half its rows in the figures.
    with eng.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        _lock(conn, "dtks-metrics-", round_id)
        _require_round(conn, round_id)
        failpoint("metrics.after_snapshot")
        conn.execute(sa.text(read_sql("metrics_district_round.sql")), {"round_id": round_id})
        rows: int = conn.execute(
            sa.text("SELECT count(*) FROM metrics.district_round WHERE round_id = :r"), {"r": round_id}
        ).scalar_one()
        return rows


def district_table(eng: Engine, round_id: str, expected_only: bool = True) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT d.*, p.name AS province_name FROM metrics.district_round d"
                    " JOIN ref.province p ON p.code = d.province_code"
                    " WHERE d.round_id = :r AND (d.expected OR NOT :e) ORDER BY d.kabkota_code"
                ),
                {"r": round_id, "e": expected_only},
            )
            .mappings()
            .all()
        )
    return [{c: row[c] for c in DISTRICT_COLUMNS} for row in rows]


# Districts of a round that a newer Kemendagri edition created by splitting another one (pemekaran).


def new_districts(eng: Engine, round_id: str) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [
            dict(r) for r in conn.execute(sa.text(read_sql("metrics/new_districts.sql")), {"r": round_id}).mappings()
        ]


def province_table(eng: Engine, round_id: str) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text("SELECT * FROM metrics.province_round WHERE round_id = :r ORDER BY province_code"),
                {"r": round_id},
            )
            .mappings()
            .all()
        ]


def province_trend(eng: Engine, up_to_round: str) -> list[dict[str, Any]]:
    """Province figures of every computed round up to ``up_to_round``, by province, oldest round first."""
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(sa.text(read_sql("province_trend.sql")), {"round_id": up_to_round}).mappings().all()
        ]


def national_row(eng: Engine, round_id: str) -> dict[str, Any] | None:
    with eng.connect() as conn:
        row = (
            conn.execute(sa.text("SELECT * FROM metrics.national_round WHERE round_id = :r"), {"r": round_id})
            .mappings()
            .first()
        )
    return dict(row) if row else None


def national_trend(eng: Engine, up_to_round: str) -> list[dict[str, Any]]:
    """National figures of every computed round up to ``up_to_round``, oldest first (metrics.trend_national)."""
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT n.*, t.opens_on, t.reporting_rate_change, t.on_time_rate_change, t.coverage_24m_change,"
                    " t.update_index_mean_change FROM metrics.national_round n JOIN metrics.trend_national t USING (round_id)"
                    " WHERE t.opens_on <= (SELECT opens_on FROM audit.round WHERE round_id = :r) ORDER BY t.opens_on"
                ),
                {"r": up_to_round},
            )
            .mappings()
            .all()
        ]


def district_trend(eng: Engine, kabkota_code: str) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text("SELECT * FROM metrics.trend_district WHERE kabkota_code = :k ORDER BY opens_on"),
                {"k": kabkota_code},
            )
            .mappings()
            .all()
        ]


# ---------------------------------------------------------------- penetapan
def _as_of_sql() -> str:
    return read_sql("penetapan_district_as_of.sql").strip().rstrip(";")


def freeze_penetapan(eng: Engine, round_id: str, run_id: str) -> int:
    """Freeze the round's penetapan snapshot (as of its close); return the snapshot number that stands.

    Idempotent: the same registry history as of the close gives the same
    hash, and nothing new is written.
    """
    with eng.begin() as conn:
        _lock(conn, "dtks-penetapan-", round_id)
        _require_round(conn, round_id)
        conn.execute(sa.text("CREATE TEMP TABLE p_district ON COMMIT DROP AS " + _as_of_sql()), {"round_id": round_id})
        snapshot_no: int = conn.execute(
            sa.text(read_sql("penetapan_snapshot.sql")), {"round_id": round_id, "run_id": run_id}
        ).scalar_one()
        return snapshot_no


def penetapan(eng: Engine, round_id: str, snapshot_no: int | None = None) -> dict[str, Any] | None:
    """A frozen snapshot (the latest, or ``snapshot_no``) with its per-district rows."""
    with eng.connect() as conn:
        head = (
            conn.execute(
                sa.text(
                    "SELECT * FROM metrics.penetapan WHERE round_id = :r"
                    " AND (CAST(:n AS integer) IS NULL OR snapshot_no = :n) ORDER BY snapshot_no DESC LIMIT 1"
                ),
                {"r": round_id, "n": snapshot_no},
            )
            .mappings()
            .first()
        )
        if head is None:
            return None
        districts = (
            conn.execute(
                sa.text(
                    "SELECT " + ", ".join(PENETAPAN_COLUMNS) + " FROM metrics.penetapan_district"  # noqa: S608 - our columns
                    " WHERE round_id = :r AND snapshot_no = :n ORDER BY kabkota_code"
                ),
                {"r": round_id, "n": head["snapshot_no"]},
            )
            .mappings()
            .all()
        )
    return {**dict(head), "districts": [dict(d) for d in districts]}


def penetapan_as_of(eng: Engine, round_id: str) -> list[dict[str, Any]]:
    """The per-district counts recomputed now from history, as of the round's close."""
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(_as_of_sql()), {"round_id": round_id}).mappings()]


def verify_penetapan(eng: Engine, round_id: str) -> list[str]:
    """Differences between the frozen snapshot and the registry history as of the close ([] = reproduced exactly)."""
    frozen = penetapan(eng, round_id)
    if frozen is None:
        return [f"round {round_id} has no penetapan snapshot"]
    now = {d["kabkota_code"]: d for d in penetapan_as_of(eng, round_id)}
    then = {d["kabkota_code"]: d for d in frozen["districts"]}
    problems = []
    for code in sorted(set(now) | set(then)):
        a, b = then.get(code), now.get(code)
        if a != b:
            fields = sorted(k for k in PENETAPAN_COLUMNS if (a or {}).get(k) != (b or {}).get(k))
            problems.append(f"{code}: {', '.join(fields)} differ (snapshot {frozen['snapshot_no']} vs history)")
    return problems


def registry_as_determined(eng: Engine, round_id: str, kabkota_code: str | None = None) -> list[dict[str, Any]]:
    """The registry exactly as round ``round_id`` determined it: each person's version valid at its close.

    Contains personal data: for the ministry's penetapan list, never for logs.
    """
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(read_sql("metrics/registry_as_determined.sql")), {"r": round_id, "k": kabkota_code}
            ).mappings()
        ]


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


# ---------------------------------------------------------------- follow-up and league
def follow_up(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expected districts needing follow-up, each with reasons as (Indonesian, English) pairs."""
    out = []
    for d in by_place(districts):
        if not d.get("expected"):
            continue
        reasons = []
        if not d.get("submitted"):
            reasons.append(("Tidak mengirim data", "Did not submit"))
        if (d.get("days_late") or 0) > 0:
            n = int(d["days_late"])
            reasons.append((f"Terlambat {n} hari", f"Submitted {n} day{'s' if n != 1 else ''} late"))
        if d.get("submitted") and not d.get("accepted"):
            reasons.append(("Kiriman ada, tetapi tidak ada yang diterima", "Submitted, but nothing accepted"))
        missed = int(d.get("missed_rounds") or 0)
        if missed >= 2:
            reasons.append(
                (
                    f"{missed} putaran berturut-turut tanpa kiriman diterima",
                    f"{missed} rounds in a row without an accepted submission",
                )
            )
        idx = _f(d.get("update_index"))
        below = [t for t in INDEX_THRESHOLDS if idx is not None and idx < t]
        if below:
            reasons.append(
                (f"Indeks pemutakhiran di bawah {below[0]:.2f}".replace(".", ","), f"Update index below {below[0]:.2f}")
            )
        if reasons:
            out.append({**d, "reasons": reasons})
    return out


def league(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Districts by update_index descending (None last; ties by code)."""
    ranked = sorted(
        districts,
        key=lambda d: (
            d.get("update_index") is None,
            -(_f(d.get("update_index")) or 0.0),
            str(d.get("kabkota_code") or ""),
        ),
    )
    return [
        {
            **d,
            "rank": i,
            "meets": [d.get("update_index") is not None and float(d["update_index"]) >= t for t in INDEX_THRESHOLDS],
        }
        for i, d in enumerate(ranked, start=1)
    ]
