"""On time and days late at the edges: the on-time instant to the microsecond, and arrivals in the small hours WIB.

Round 2026-08 (default calendar): cut-off 14 Aug, 3 grace days. On time means
received before the end of the cut-off day, 15 Aug 00:00 WIB (= 14 Aug 17:00
UTC); the round closes at the end of 17 Aug WIB. Days late = the arrival's
calendar date in Asia/Jakarta − the cut-off day; submission lag = the last
grace day (17 Aug) − the arrival's date in WIB. One district per arrival,
each sending one accepted household:

  district      arrival (WIB)                 (UTC date)  on time  days late  lag  on-time rate
  Surabaya      14 Aug 23:59:59.999999        14 Aug      yes      0          3    1
  Pacitan       15 Aug 00:00:00 exactly       14 Aug      no       1          2    0
  Jakpus        15 Aug 00:00:00.000001        14 Aug      no       1          2    0
  Malang        15 Aug 00:30                  14 Aug      no       1          2    0
  Mojokerto     17 Aug 06:59                  16 Aug      no       3          0    0

Counted in UTC, the last three would be a day early (0, 0 and 2 days late).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from dtks import metrics, rounds
from tests.builders import JAKPUS, PACITAN, SURABAYA, WIB, land
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

ROUND = "2026-08"
MALANG, MOJOKERTO = "3573", "3516"
ON_TIME_UNTIL = datetime(2026, 8, 15, 0, 0, tzinfo=WIB)
MICROSECOND = timedelta(microseconds=1)
ARRIVALS = {
    SURABAYA: ON_TIME_UNTIL - MICROSECOND,
    PACITAN: ON_TIME_UNTIL,
    JAKPUS: ON_TIME_UNTIL + MICROSECOND,
    MALANG: datetime(2026, 8, 15, 0, 30, tzinfo=WIB),
    MOJOKERTO: datetime(2026, 8, 17, 6, 59, tzinfo=WIB),
}


@pytest.fixture
def closed(wh, dirs):
    rnd = rounds.default_round(ROUND)
    assert rnd.on_time_until == ON_TIME_UNTIL
    rounds.create_round(wh, rnd, districts=list(ARRIVALS))
    for serial, (district, arrival) in enumerate(ARRIVALS.items(), start=1):
        village = h.villages(wh, district, 1)[0]
        land(
            dirs["landing"],
            ROUND,
            district,
            f"dtks_{district}_{ROUND}.csv",
            h.family(village, serial, 10 * serial, verified="2026-08-13"),
            arrival,
        )
    ids = h.run_pipeline(wh, dirs)
    assert metrics.compute_round_metrics(wh, ROUND) == len(ARRIVALS)
    with wh.connect() as conn:
        received = dict(
            conn.execute(
                sa.text(
                    "SELECT kabkota_code, received_at FROM audit.submission WHERE submission_id = ANY(:ids)"
                    " AND status = 'merged' AND rows_accepted = 2"
                ),
                {"ids": ids},
            ).all()
        )
    assert received == ARRIVALS  # every file arrived, to the microsecond, and was accepted whole
    return {row["kabkota_code"]: row for row in metrics.district_table(wh, ROUND)}


def _timing(row) -> tuple:
    return (row["on_time"], row["days_late"], row["submission_lag_days"], row["on_time_rate_12r"])


def test_on_time_until_the_instant_the_cut_off_day_ends(wh, closed):
    assert _timing(closed[SURABAYA]) == (True, 0, 3, 1)  # a microsecond before 00:00 WIB on 15 Aug
    assert _timing(closed[PACITAN]) == (False, 1, 2, 0)  # exactly 00:00: already late
    assert _timing(closed[JAKPUS]) == (False, 1, 2, 0)  # a microsecond after
    national = metrics.national_row(wh, ROUND)
    assert (
        national["expected_districts"],
        national["accepted_districts"],
        national["on_time_districts"],
        national["late_districts"],
    ) == (5, 5, 1, 4)


def test_days_late_and_lag_count_calendar_days_in_jakarta(closed):
    assert _timing(closed[MALANG]) == (False, 1, 2, 0)  # 00:30 WIB, still 14 Aug in UTC
    assert _timing(closed[MOJOKERTO]) == (False, 3, 0, 0)  # 06:59 WIB on the last grace day, 16 Aug in UTC
