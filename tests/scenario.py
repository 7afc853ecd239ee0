"""A small hand-computed round: three districts, seven people, one defect.

Round 2026-08 (opens 1 Aug, cut-off 14 Aug, grace 3 days → closes end of
17 Aug WIB). Expected districts: Surabaya (A), Pacitan (B), Jakarta Pusat (C).

Baseline (received 31 Jul 2026):
  A  KK A1: a1 head (verified 2026-06-01), a2 spouse (2026-06-01)
     KK A2: a3 head (2023-01-10), a4 child (2023-01-10)
  B  KK B1: b1 head (2015-05-05), b2 spouse (2015-05-05)
  C  KK C1: c1 head (2025-01-01)

Round 2026-08:
  A on time (10 Aug, 10:00 WIB): household A1 moved to RT 009 (a new household version; a1
    itself unchanged: confirmed, visit 5 Aug), a2 now receives PBI (changed),
    a3 deceased (deactivated), a5 newborn in KK A1 (inserted), a4 with a blank name (quarantined).
  B late within grace (16 Aug, 09:00 WIB): b1 and b2 unchanged (confirmed, visit 12 Aug).
  C sends nothing.

The expected figures are worked out by hand in tests/warehouse/test_round_metrics.py.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from tests.builders import (
    JAKPUS,
    JAKPUS_KEC,
    JAKPUS_VILLAGE,
    PACITAN,
    PACITAN_KEC,
    PACITAN_VILLAGE,
    SURABAYA,
    SURABAYA_KEC,
    SURABAYA_VILLAGE,
    WIB,
    land,
    person,
    write_csv,
)

ROUND = "2026-08"
BASELINE_AT = datetime(2026, 7, 31, 9, 0, tzinfo=WIB)

a1 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 1, 1, "ADI", "L", date(1980, 3, 4), "1", "2026-06-01")
a2 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 1, 2, "BUDI ASTUTI", "P", date(1982, 5, 6), "2", "2026-06-01")
a3 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 2, 3, "CAHYO", "L", date(1950, 1, 1), "1", "2023-01-10")
a4 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 2, 4, "DEWI", "P", date(2010, 7, 8), "3", "2023-01-10")
b1 = person(PACITAN_KEC, PACITAN_VILLAGE, 1, 1, "EKO", "L", date(1970, 2, 2), "1", "2015-05-05")
b2 = person(PACITAN_KEC, PACITAN_VILLAGE, 1, 2, "FITRI", "P", date(1972, 9, 9), "2", "2015-05-05")
c1 = person(JAKPUS_KEC, JAKPUS_VILLAGE, 1, 1, "GUNAWAN", "L", date(1990, 12, 12), "1", "2025-01-01")
a5 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 1, 5, "HANA", "P", date(2026, 3, 2), "3", "2026-08-05")

BASELINE = [a1, a2, a3, a4, b1, b2, c1]
A_SUBMISSION = [
    a1.but(tanggal_verifikasi="2026-08-05", rt="009"),
    a2.but(tanggal_verifikasi="2026-08-05", rt="009", pbi="1"),
    a3.but(tanggal_verifikasi="2026-08-05", status_keberadaan="3"),
    a4.but(tanggal_verifikasi="2026-08-05", nama=""),
    a5,
]
B_SUBMISSION = [b1.but(tanggal_verifikasi="2026-08-12"), b2.but(tanggal_verifikasi="2026-08-12")]
A_RECEIVED = datetime(2026, 8, 10, 10, 0, tzinfo=WIB)
B_RECEIVED = datetime(2026, 8, 16, 9, 0, tzinfo=WIB)
EXPECTED = [SURABAYA, PACITAN, JAKPUS]


def write_baseline(folder: Path) -> Path:
    return write_csv(folder / "baseline.csv", [p.row() for p in BASELINE])


def land_round(landing: Path) -> None:
    land(landing, ROUND, SURABAYA, "dtks_3578_2026-08.csv", A_SUBMISSION, A_RECEIVED)
    land(landing, ROUND, PACITAN, "dtks_3501_2026-08.csv", B_SUBMISSION, B_RECEIVED)


def prepare(eng, tmp: Path) -> None:
    """Round created, baseline loaded; submissions not yet landed."""
    from dtks import merging, rounds

    rounds.create_round(eng, rounds.default_round(ROUND), districts=EXPECTED)
    merging.load_baseline(eng, write_baseline(tmp), "test-baseline", BASELINE_AT)
