"""Every metric of three rounds against numbers worked out by hand (tests/rounds/multi_round.py tells the story).

Close days (last grace day, WIB): 17 Aug, 17 Sep, 17 Oct 2026. Coverage
windows end there: 12 months → verified after 2025-08-17 / 2025-09-17 /
2025-10-17; 24 months → after 2024-08-17 / 2024-09-17 / 2024-10-17.
Record age = close day − last visit; percentile_cont interpolates: p90 of n
sorted values sits at position 0.9·(n−1).
Update index = 0.50·coverage24m + 0.25·on-time rate (last 12 rounds the
district was expected) + 0.25·acceptance rate, from unrounded parts.

The rounds are closed as they happen: ingest 2026-08's files, close it;
ingest 2026-09's, close it; and so on.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dtks import metrics
from tests.rounds import multi_round as s

pytestmark = pytest.mark.postgres


@pytest.fixture
def closed(wh, dirs, tmp_path):
    s.prepare(wh, tmp_path)
    for batch, round_id in ((s.R1, s.R1), (s.R2, s.R2), (s.R3, s.R3), ("after", None)):
        s.land_batch(dirs["landing"], batch)
        s.ingest_landing(wh, dirs["landing"], dirs["archive"])
        if round_id:
            metrics.compute_round_metrics(wh, round_id)
    return {
        r: {row["kabkota_code"]: row for row in metrics.district_table(wh, r, expected_only=False)} for r in s.ROUNDS
    }


def pick(row, *keys):
    return tuple(row[k] for k in keys)


WHO = ("expected", "submitted", "accepted", "submissions_received", "on_time", "days_late", "submission_lag_days")
RECORDS = ("active_records", "coverage_12m", "coverage_24m", "record_age_median_days", "record_age_p90_days")
ROWS = ("rows_submitted", "rows_accepted", "acceptance_rate")
INDEX = (
    "missed_rounds",
    "updated_since_baseline",
    "update_class",
    "on_time_rate_12r",
    "update_index",
    "index_ge_070",
    "index_ge_075",
)


def test_policies_assigned_each_file_to_its_round(wh, closed):
    with wh.connect() as conn:
        subs = conn.execute(
            sa.text(
                "SELECT file_name, landed_round_id, round_id, round_rule, status, reject_reason, rows_in, rows_accepted"
                " FROM audit.submission WHERE kind = 'district' ORDER BY received_at"
            )
        ).all()
        superseded_events = conn.execute(
            sa.text(
                "SELECT s.file_name, e.detail->>'superseded_by' FROM audit.submission_event e"
                " JOIN audit.submission s USING (submission_id) WHERE e.event = 'superseded'"
            )
        ).all()
        v2 = conn.execute(
            sa.text("SELECT submission_id FROM audit.submission WHERE file_name = 'a_2026-09_v2.csv'")
        ).scalar()
    assert [tuple(x) for x in subs] == [
        ("a_2026-08.csv", s.R1, s.R1, "in_round", "merged", None, 2, 2),
        ("d_2026-08.csv", s.R1, s.R1, "in_round", "merged", None, 1, 1),
        ("b_2026-08.csv", s.R1, s.R1, "in_grace", "merged", None, 2, 2),
        ("a_2026-09_v1.csv", s.R2, s.R2, "in_round", "superseded", None, 2, 1),
        ("a_2026-09_v2.csv", s.R2, s.R2, "in_round", "merged", None, 3, 3),
        ("d_2026-09.csv", s.R2, s.R2, "in_grace", "merged", None, 2, 2),
        ("b_2026-09_late.csv", s.R2, s.R3, "after_grace", "merged", None, 2, 2),
        ("a_2026-10.csv", s.R3, s.R3, "in_round", "merged", None, 1, 1),
        ("d_2026-10.csv", s.R3, s.R3, "in_round", "merged", None, 1, 1),
        ("c_2026-10_late.csv", s.R3, None, "round_closed", "rejected", "round_closed", None, None),
    ]
    assert [tuple(e) for e in superseded_events] == [("a_2026-09_v1.csv", str(v2))]


def test_round_1(closed):
    a, b, c, d = (closed[s.R1][k] for k in (s.A, s.B, s.C, s.D))
    # A on time, 10 Aug; lag 17 − 10 = 7. a1, a2 visited 5 Aug (age 12); a3 2023-01-10 (age 1315, outside 24m).
    assert pick(a, *WHO) == (True, True, True, 1, True, 0, 7)
    assert pick(a, *RECORDS) == (3, D("0.6667"), D("0.6667"), D("12.0"), D("1054.4"))  # 12 + 0.8 × 1303
    assert pick(a, *ROWS) == (2, 2, D("1.0000"))
    assert pick(a, *INDEX) == (0, D("0.6667"), "50_plus", D("1.0000"), D("0.8333"), True, True)  # .5×2/3 + .25 + .25
    # B in grace: 16 Aug, 2 days after the cut-off: accepted for the round, late; lag 1; visits 12 Aug (age 5).
    assert pick(b, *WHO) == (True, True, True, 1, False, 2, 1)
    assert pick(b, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("5.0"), D("5.0"))
    assert pick(b, *ROWS) == (2, 2, D("1.0000"))
    assert pick(b, *INDEX) == (0, D("1.0000"), "50_plus", D("0.0000"), D("0.7500"), True, True)  # .5 + 0 + .25
    # C sends nothing: c1 visited 2025-01-01 (age 593): outside 12 months, inside 24.
    assert pick(c, *WHO) == (True, False, False, 0, False, None, None)
    assert pick(c, *RECORDS) == (1, D("0.0000"), D("1.0000"), D("593.0"), D("593.0"))
    assert pick(c, *ROWS) == (0, 0, None)
    assert pick(c, *INDEX) == (1, D("0.0000"), "never", D("0.0000"), D("0.5000"), False, False)
    # D on time 12 Aug, d1 only (visit 10 Aug, age 7); d2 2024-02-01 (age 928, outside 24m); lag 5.
    assert pick(d, *WHO) == (True, True, True, 1, True, 0, 5)
    assert pick(d, *RECORDS) == (2, D("0.5000"), D("0.5000"), D("467.5"), D("835.9"))  # 7 + 0.9 × 921
    assert pick(d, *ROWS) == (1, 1, D("1.0000"))
    assert pick(d, *INDEX) == (0, D("0.5000"), "50_plus", D("1.0000"), D("0.7500"), True, True)


def test_round_2_resubmission_and_after_grace(closed):
    a, b, c, d = (closed[s.R2][k] for k in (s.A, s.B, s.C, s.D))
    # A: v1 (5 Sep) is the first accepted → on time; v2 (9 Sep) stands → rows 3 of 3; lag 17 − 9 = 8.
    # a3 died (inactive); a1, a2 visited 8 Sep (age 9).
    assert pick(a, *WHO) == (True, True, True, 2, True, 0, 8)
    assert pick(a, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("9.0"), D("9.0"))
    assert pick(a, *ROWS) == (3, 3, D("1.0000"))
    assert pick(a, *INDEX) == (0, D("1.0000"), "50_plus", D("1.0000"), D("1.0000"), True, True)
    # B's September file came after the grace days: it counts for October, so B missed September.
    # Last accepted 16 Aug → lag 32; visits 12 Aug → age 36.
    assert pick(b, *WHO) == (True, False, False, 0, False, None, 32)
    assert pick(b, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("36.0"), D("36.0"))
    assert pick(b, *ROWS) == (0, 0, None)
    assert pick(b, *INDEX) == (1, D("1.0000"), "50_plus", D("0.0000"), D("0.5000"), False, False)
    assert pick(c, *WHO) == (True, False, False, 0, False, None, None)
    assert pick(c, *RECORDS) == (1, D("0.0000"), D("1.0000"), D("624.0"), D("624.0"))
    assert pick(c, *INDEX) == (2, D("0.0000"), "never", D("0.0000"), D("0.5000"), False, False)
    # D 15 Sep: one day late; visits 14 Sep (age 3); on time in 1 of its 2 rounds → .5 + .125 + .25.
    assert pick(d, *WHO) == (True, True, True, 1, False, 1, 2)
    assert pick(d, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("3.0"), D("3.0"))
    assert pick(d, *ROWS) == (2, 2, D("1.0000"))
    assert pick(d, *INDEX) == (0, D("1.0000"), "50_plus", D("0.5000"), D("0.8750"), True, True)


def test_round_3_district_left_the_expected_set(closed):
    assert set(closed[s.R3]) == {s.A, s.B, s.C, s.D}
    a, b, c, d = (closed[s.R3][k] for k in (s.A, s.B, s.C, s.D))
    # A 3 Oct, lag 14; a1 visited 1 Oct (age 16), a2 8 Sep (age 39): median 27.5, p90 16 + 0.9 × 23.
    assert pick(a, *WHO) == (True, True, True, 1, True, 0, 14)
    assert pick(a, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("27.5"), D("36.7"))
    assert pick(a, *INDEX) == (0, D("1.0000"), "50_plus", D("1.0000"), D("1.0000"), True, True)
    # B's file of 20 Sep counts here, on time (before 14 Oct); lag 17 Oct − 20 Sep = 27; visits 18 Sep (age 29).
    # On time in 1 of 3 rounds: .5 + .25/3 + .25 = 0.8333.
    assert pick(b, *WHO) == (True, True, True, 1, True, 0, 27)
    assert pick(b, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("29.0"), D("29.0"))
    assert pick(b, *ROWS) == (2, 2, D("1.0000"))
    assert pick(b, *INDEX) == (0, D("1.0000"), "50_plus", D("0.3333"), D("0.8333"), True, True)
    # C's file of 20 Oct was rejected (round closed, none open): still nothing, 3 rounds missed in a row.
    assert pick(c, *WHO) == (True, False, False, 0, False, None, None)
    assert pick(c, *RECORDS) == (1, D("0.0000"), D("1.0000"), D("654.0"), D("654.0"))
    assert pick(c, *INDEX) == (3, D("0.0000"), "never", D("0.0000"), D("0.5000"), False, False)
    # D is no longer expected but sent a file: shown, not expected. d1 4 Oct (age 13), d2 14 Sep (age 33).
    assert pick(d, *WHO) == (False, True, True, 1, True, 0, 12)
    assert pick(d, *RECORDS) == (2, D("1.0000"), D("1.0000"), D("23.0"), D("31.0"))
    assert pick(d, *INDEX) == (0, D("1.0000"), "50_plus", D("0.5000"), D("0.8750"), True, True)


NATIONAL = (
    "expected_districts",
    "submitted_districts",
    "accepted_districts",
    "on_time_districts",
    "late_districts",
    "reporting_rate",
    "on_time_rate",
    "active_records",
    "coverage_12m",
    "coverage_24m",
    "acceptance_rate",
    "rows_submitted",
    "rows_accepted",
    "districts_never",
    "districts_under_50",
    "districts_50_plus",
    "districts_index_070",
    "districts_index_075",
    "update_index_mean",
    "record_age_median_days",
    "record_age_p90_days",
)


def test_national_rollups(wh, closed):
    nat = {r: metrics.national_row(wh, r) for r in s.ROUNDS}
    # 2026-08: A, B, D accepted (B late); records 3+2+1+2, verified 12m 2+2+0+1, 24m 2+2+1+1;
    # index mean (.8333 + .75 + .5 + .75) / 4; ages 5 5 7 12 12 593 928 1315 → median 12, p90 928 + .3 × 387.
    assert pick(nat[s.R1], *NATIONAL) == (
        4,
        3,
        3,
        2,
        1,
        D("0.7500"),
        D("0.5000"),
        8,
        D("0.6250"),
        D("0.7500"),
        D("1.0000"),
        5,
        5,
        1,
        0,
        3,
        3,
        3,
        D("0.7083"),
        D("12.0"),
        D("1044.1"),
    )
    # 2026-09: A, D accepted (D late); records 2+2+1+2, 12m 2+2+0+2; index mean (1 + .5 + .5 + .875) / 4;
    # ages 3 3 9 9 36 36 624 → median 9, p90 36 + .4 × 588.
    assert pick(nat[s.R2], *NATIONAL) == (
        4,
        2,
        2,
        1,
        1,
        D("0.5000"),
        D("0.2500"),
        7,
        D("0.8571"),
        D("1.0000"),
        D("1.0000"),
        5,
        5,
        1,
        0,
        3,
        2,
        2,
        D("0.7188"),
        D("9.0"),
        D("271.2"),
    )
    # 2026-10: expected A, B, C only: D's file does not count, so no rate can pass 100%.
    # Records 2+2+1; ages 16 29 29 39 654 → median 29, p90 39 + .6 × 615; index mean (1 + .8333 + .5) / 3.
    assert pick(nat[s.R3], *NATIONAL) == (
        3,
        2,
        2,
        2,
        0,
        D("0.6667"),
        D("0.6667"),
        5,
        D("0.8000"),
        D("1.0000"),
        D("1.0000"),
        3,
        3,
        1,
        0,
        2,
        2,
        2,
        D("0.7778"),
        D("29.0"),
        D("408.0"),
    )


def test_province_rollups_never_exceed_100_percent(wh, closed):
    prov = {r: {p["province_code"]: p for p in metrics.province_table(wh, r)} for r in s.ROUNDS}
    assert pick(
        prov[s.R1]["35"], "expected_districts", "accepted_districts", "reporting_rate", "on_time_rate", "late_districts"
    ) == (3, 3, D("1.0000"), D("0.6667"), 1)
    assert pick(prov[s.R1]["31"], "expected_districts", "reporting_rate", "districts_never") == (1, D("0.0000"), 1)
    # 2026-10: Jawa Timur expects A and B only; D (Malang) sent a file too, but 2 of 2, not 3 of 2.
    assert pick(
        prov[s.R3]["35"],
        "expected_districts",
        "submitted_districts",
        "accepted_districts",
        "reporting_rate",
        "on_time_rate",
        "active_records",
    ) == (2, 2, 2, D("1.0000"), D("1.0000"), 4)
    with wh.connect() as conn:
        worst = conn.execute(
            sa.text("SELECT max(greatest(reporting_rate, on_time_rate)) FROM metrics.province_round")
        ).scalar()
    assert worst <= 1


def test_trends(wh, closed):
    with wh.connect() as conn:
        nat = conn.execute(
            sa.text(
                "SELECT round_id, reporting_rate_change, on_time_rate_change"
                " FROM metrics.trend_national ORDER BY opens_on"
            )
        ).all()
        b = conn.execute(
            sa.text(
                "SELECT round_id, update_index, update_index_change, previous_update_class"
                " FROM metrics.trend_district WHERE kabkota_code = :k ORDER BY opens_on"
            ),
            {"k": s.B},
        ).all()
    assert [tuple(r) for r in nat] == [
        (s.R1, None, None),
        (s.R2, D("-0.2500"), D("-0.2500")),
        (s.R3, D("0.1667"), D("0.4167")),
    ]
    assert [tuple(r) for r in b] == [
        (s.R1, D("0.7500"), None, None),
        (s.R2, D("0.5000"), D("-0.2500"), "50_plus"),
        (s.R3, D("0.8333"), D("0.3333"), "50_plus"),
    ]
    trend = metrics.national_trend(wh, s.R2)
    assert [t["round_id"] for t in trend] == [s.R1, s.R2]


def test_expected_set_is_a_snapshot(wh, closed):
    with wh.begin() as conn:  # Malang retired from the reference codes after the rounds were created
        conn.execute(sa.text("UPDATE ref.kabkota SET retired_in = 'test-edition' WHERE code = :k"), {"k": s.D})
    metrics.compute_round_metrics(wh, s.R1)
    assert metrics.national_row(wh, s.R1)["expected_districts"] == 4


def test_recomputing_any_round_later_gives_identical_figures(wh, closed):
    for r in (s.R2, s.R1, s.R3):  # any order, long after: as of each round's close
        metrics.compute_round_metrics(wh, r)
    again = {
        r: {row["kabkota_code"]: row for row in metrics.district_table(wh, r, expected_only=False)} for r in s.ROUNDS
    }
    assert again == closed


OLD_DEFINITION = """
    -- the registry at :t from its full history: versions valid then, events received before
    WITH verification AS (
        SELECT ev.nik, max(ev.verified_on) AS last_verified_on, bool_or(s.kind = 'district') AS by_district
        FROM registry.individual_event ev JOIN audit.submission s ON s.submission_id = ev.submission_id
        WHERE ev.received_at < :t GROUP BY ev.nik)
    SELECT v.kabkota_code, ver.last_verified_on, coalesce(ver.by_district, false), count(*)
    FROM registry.individual_as_of(:t) v LEFT JOIN verification ver ON ver.nik = v.nik
    WHERE v.active GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""

LEDGER = """
    SELECT kabkota_code, last_verified_on, by_district, sum(persons)
    FROM metrics.coverage_change WHERE changed_at < :t
    GROUP BY 1, 2, 3 HAVING sum(persons) <> 0 ORDER BY 1, 2, 3"""


def test_coverage_changes_add_up_to_the_registry_as_of_every_instant(wh, closed):
    """The merge-time ledger (migration 007) equals the state recomputed from history, at every instant that matters."""
    with wh.connect() as conn:
        instants = (
            conn.execute(
                sa.text(
                    "SELECT close_at FROM audit.round_calendar UNION SELECT received_at FROM audit.submission"
                    " UNION SELECT received_at + interval '1 microsecond' FROM audit.submission ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        assert len(instants) > 10
        compared = 0
        for t in instants:
            old = [tuple(r) for r in conn.execute(sa.text(OLD_DEFINITION), {"t": t})]
            new = [tuple(r) for r in conn.execute(sa.text(LEDGER), {"t": t})]
            assert new == old, t
            compared += bool(old)
        assert compared > 5


def test_the_migration_replays_history_into_the_same_coverage_changes(wh, closed):
    """What migration 007 derives from an existing history is what the merges recorded as they ran."""
    from dtks.config import PROJECT_ROOT

    body = (PROJECT_ROOT / "include/sql/migrations/007_coverage_changes.sql").read_text()
    replay = body[body.index("INSERT INTO metrics.coverage_change") : body.index("HAVING sum(persons) <> 0;")]
    replay = replay.split("\n", 1)[1] + "HAVING sum(persons) <> 0"  # the SELECT without its INSERT line
    with wh.connect() as conn:
        recorded = sorted(
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT submission_id, changed_at, kabkota_code, last_verified_on, by_district, sum(persons)"
                    " FROM metrics.coverage_change GROUP BY 1, 2, 3, 4, 5"
                )
            )
        )
        replayed = sorted(tuple(r) for r in conn.execute(sa.text(replay)))
    assert recorded and replayed == recorded
