"""Round metrics against numbers worked out by hand (tests/scenario.py describes the round).

The round closes at the end of 17 Aug 2026 (cut-off 14 Aug + 3 grace days);
coverage windows end there: 12 months → verified after 2025-08-17, 24 months
→ after 2024-08-17. On time = first accepted file by the end of the cut-off
day (14 Aug); a file in the grace days counts for the round, late.
Several rounds, resubmissions, files after grace and the expected-set
snapshot: tests/rounds/test_multi_round_metrics.py.
"""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from dtks import metrics
from tests import scenario
from tests.builders import JAKPUS, PACITAN, SURABAYA

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["one batch", "a batch per file"])
def closed_round(wh, dirs, tmp_path, monkeypatch, request, process_landed):
    # The row suite checks whole files in batches (DTKS_VALIDATION_BATCH_ROWS): however the
    # files are grouped, the hand-computed figures must come out.
    if request.param == "a batch per file":
        monkeypatch.setenv("DTKS_VALIDATION_BATCH_ROWS", "1")
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    process_landed("run")
    assert metrics.compute_round_metrics(wh, scenario.ROUND) == 3
    return {row["kabkota_code"]: row for row in metrics.district_table(wh, scenario.ROUND)}


def test_district_on_time_with_changes_and_a_defect(closed_round):
    a = closed_round[SURABAYA]
    # Active at close: a1, a2, a4, a5 (a3 died). Verified: a1, a2, a5 on 5 Aug 2026; a4 on 2023-01-10.
    assert (a["expected"], a["submitted"], a["accepted"], a["submissions_received"]) == (True, True, True, 1)
    assert (a["on_time"], a["days_late"]) == (True, 0)
    assert a["submission_lag_days"] == 7  # 17 Aug - 10 Aug
    assert a["active_records"] == 4
    assert a["coverage_12m"] == Decimal("0.7500")  # 3 of 4
    assert a["coverage_24m"] == Decimal("0.7500")
    # ages at 17 Aug: 12, 12, 12 and 1315 days (2023-01-10 → 2026-08-17)
    assert a["record_age_median_days"] == Decimal("12.0")
    assert a["record_age_p90_days"] == Decimal("924.1")  # 12 + 0.7 × (1315 - 12)
    assert (a["rows_submitted"], a["rows_accepted"]) == (5, 4)
    assert a["acceptance_rate"] == Decimal("0.8000")
    assert a["missed_rounds"] == 0
    assert a["updated_since_baseline"] == Decimal("0.7500")  # a1, a2, a5 touched by a district file
    assert a["update_class"] == "50_plus"
    assert a["on_time_rate_12r"] == Decimal("1.0000")
    assert a["update_index"] == Decimal("0.8250")  # .5×.75 + .25×1 + .25×.8
    assert (a["index_ge_070"], a["index_ge_075"]) == (True, True)


def test_district_late_within_grace(closed_round):
    b = closed_round[PACITAN]
    assert (b["accepted"], b["on_time"], b["days_late"]) == (True, False, 2)  # 16 Aug: 2 days after cut-off, in grace
    assert b["submission_lag_days"] == 1
    assert b["active_records"] == 2
    assert (b["coverage_12m"], b["coverage_24m"]) == (Decimal("1.0000"), Decimal("1.0000"))
    assert (b["record_age_median_days"], b["record_age_p90_days"]) == (Decimal("5.0"), Decimal("5.0"))
    assert b["acceptance_rate"] == Decimal("1.0000")
    assert b["update_class"] == "50_plus"
    assert b["on_time_rate_12r"] == Decimal("0.0000")
    assert b["update_index"] == Decimal("0.7500")  # .5×1 + .25×0 + .25×1
    assert (b["index_ge_070"], b["index_ge_075"]) == (True, True)


def test_district_that_sent_nothing(closed_round):
    c = closed_round[JAKPUS]
    assert (c["expected"], c["submitted"], c["accepted"], c["on_time"]) == (True, False, False, False)
    assert c["days_late"] is None and c["submission_lag_days"] is None and c["acceptance_rate"] is None
    assert c["active_records"] == 1
    # verified 2025-01-01: outside 12 months, inside 24
    assert (c["coverage_12m"], c["coverage_24m"]) == (Decimal("0.0000"), Decimal("1.0000"))
    assert c["record_age_median_days"] == Decimal("593.0")  # 2025-01-01 → 2026-08-17
    assert c["missed_rounds"] == 1
    assert c["update_class"] == "never"
    assert c["on_time_rate_12r"] == Decimal("0.0000")
    assert c["update_index"] == Decimal("0.5000")  # .5 × 1.0 coverage only
    assert (c["index_ge_070"], c["index_ge_075"]) == (False, False)


def test_rollups(wh, closed_round):
    with wh.connect() as conn:
        nat = (
            conn.execute(sa.text("SELECT * FROM metrics.national_round WHERE round_id = :r"), {"r": scenario.ROUND})
            .mappings()
            .one()
        )
        prov = {
            r["province_code"]: r
            for r in conn.execute(
                sa.text("SELECT * FROM metrics.province_round WHERE round_id = :r"), {"r": scenario.ROUND}
            ).mappings()
        }
    assert (
        nat["expected_districts"],
        nat["submitted_districts"],
        nat["accepted_districts"],
        nat["on_time_districts"],
        nat["late_districts"],
    ) == (3, 2, 2, 1, 1)
    assert nat["reporting_rate"] == Decimal("0.6667") and nat["on_time_rate"] == Decimal("0.3333")
    assert nat["active_records"] == 7
    assert nat["coverage_12m"] == Decimal("0.7143")  # (3 + 2 + 0) / 7
    assert nat["coverage_24m"] == Decimal("0.8571")  # (3 + 2 + 1) / 7
    assert nat["acceptance_rate"] == Decimal("0.8571")  # (4 + 2) / (5 + 2)
    assert (nat["districts_never"], nat["districts_under_50"], nat["districts_50_plus"]) == (1, 0, 2)
    assert (nat["districts_index_070"], nat["districts_index_075"]) == (2, 2)
    assert nat["update_index_mean"] == Decimal("0.6917")  # (.825 + .75 + .5) / 3
    # ages at 17 Aug: 5 5 12 12 12 593 1315 → median 12, p90 593 + .4 × 722
    assert (nat["record_age_median_days"], nat["record_age_p90_days"]) == (Decimal("12.0"), Decimal("881.8"))
    assert set(prov) == {"31", "35"}
    assert (prov["35"]["expected_districts"], prov["35"]["reporting_rate"]) == (2, Decimal("1.0000"))
    assert (prov["31"]["expected_districts"], prov["31"]["reporting_rate"]) == (1, Decimal("0.0000"))


def test_recomputing_gives_identical_figures(wh, closed_round):
    again = {
        r["kabkota_code"]: r
        for r in (metrics.compute_round_metrics(wh, scenario.ROUND) and metrics.district_table(wh, scenario.ROUND))
    }
    assert again == closed_round
