"""Three monthly rounds, four districts, every submission policy: the figures are worked out by hand.

Default monthly calendar: opens the 1st, cut-off the 14th, 3 grace days →
each round closes at the end of the 17th (WIB); on time = by the end of the
14th; penetapan the 25th.

Districts: A Kota Surabaya (3578), B Kabupaten Pacitan (3501), C Kota Jakarta
Pusat (3171), D Kota Malang (3573). Expected: A, B, C, D in 2026-08 and
2026-09; A, B, C in 2026-10 (D leaves the expected set, but still sends a file).

Baseline (31 Jul 2026, 09:00 WIB):
  A  KK A1: a1 head, a2 spouse (verified 2026-06-01); KK A2: a3 head (2023-01-10)
  B  KK B1: b1 head, b2 spouse (2015-05-05)
  C  KK C1: c1 head (2025-01-01)
  D  KK D1: d1 head, d2 spouse (2024-02-01)

2026-08:
  A on time        10 Aug 10:00  a1, a2 confirmed (visit 5 Aug)
  B late in grace  16 Aug 09:00  b1, b2 confirmed (visit 12 Aug)            → 2 days late
  C nothing (C never sends anything accepted)
  D on time        12 Aug 08:00  d1 confirmed (visit 10 Aug)
2026-09:
  A resubmits      v1  5 Sep 10:00  a1 confirmed (visit 1 Sep), a2 with a blank name (quarantined)
                   v2  9 Sep 10:00  a1 confirmed, a2 now PBI (changed), a3 deceased (deactivated);
                                    visits 8 Sep → v1 superseded; v1 decides on time, v2 gives the rows
  B after grace    20 Sep 10:00  in folder 2026-09, after it closed → counts for 2026-10 (on time there)
                                 b1, b2 confirmed (visit 18 Sep)
  D late in grace  15 Sep 14:00  d1, d2 confirmed (visit 14 Sep)              → 1 day late
2026-10:
  A on time         3 Oct 10:00  a1 confirmed (visit 1 Oct)
  D not expected    5 Oct 10:00  d1 confirmed (visit 4 Oct): shown, outside every rate
  C too late       20 Oct 10:00  in folder 2026-10 after it closed, no later round open → rejected

The expected figures are in tests/rounds/test_multi_round_metrics.py.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from dtks import ingest, merging, rounds
from tests.builders import JAKPUS, MALANG, MALANG_KEC, MALANG_VILLAGE, PACITAN, SURABAYA, WIB, land, person, write_csv
from tests.scenario import a1, a2, a3, b1, b2, c1  # the people of the one-round scenario, same baseline

A, B, C, D = SURABAYA, PACITAN, JAKPUS, MALANG
R1, R2, R3 = "2026-08", "2026-09", "2026-10"
ROUNDS = (R1, R2, R3)
BASELINE_AT = datetime(2026, 7, 31, 9, 0, tzinfo=WIB)

d1 = person(MALANG_KEC, MALANG_VILLAGE, 1, 1, "DARMAN", "L", date(1975, 7, 7), "1", "2024-02-01")
d2 = person(MALANG_KEC, MALANG_VILLAGE, 1, 2, "DEWI", "P", date(1978, 8, 8), "2", "2024-02-01")
BASELINE = [a1, a2, a3, b1, b2, c1, d1, d2]


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=WIB)


# (landing round folder, district, file name, people, arrival), grouped by when the files land
DELIVERIES = {
    R1: [
        (
            R1,
            A,
            "a_2026-08.csv",
            [a1.but(tanggal_verifikasi="2026-08-05"), a2.but(tanggal_verifikasi="2026-08-05")],
            at(8, 10, 10),
        ),
        (
            R1,
            B,
            "b_2026-08.csv",
            [b1.but(tanggal_verifikasi="2026-08-12"), b2.but(tanggal_verifikasi="2026-08-12")],
            at(8, 16, 9),
        ),
        (R1, D, "d_2026-08.csv", [d1.but(tanggal_verifikasi="2026-08-10")], at(8, 12, 8)),
    ],
    R2: [
        (
            R2,
            A,
            "a_2026-09_v1.csv",
            [a1.but(tanggal_verifikasi="2026-09-01"), a2.but(tanggal_verifikasi="2026-09-01", nama="")],
            at(9, 5, 10),
        ),
        (
            R2,
            A,
            "a_2026-09_v2.csv",
            [
                a1.but(tanggal_verifikasi="2026-09-08"),
                a2.but(tanggal_verifikasi="2026-09-08", pbi="1"),
                a3.but(tanggal_verifikasi="2026-09-08", status_keberadaan="3"),
            ],
            at(9, 9, 10),
        ),
        (
            R2,
            D,
            "d_2026-09.csv",
            [d1.but(tanggal_verifikasi="2026-09-14"), d2.but(tanggal_verifikasi="2026-09-14")],
            at(9, 15, 14),
        ),
    ],
    R3: [
        (
            R2,
            B,
            "b_2026-09_late.csv",
            [b1.but(tanggal_verifikasi="2026-09-18"), b2.but(tanggal_verifikasi="2026-09-18")],
            at(9, 20, 10),
        ),
        (R3, A, "a_2026-10.csv", [a1.but(tanggal_verifikasi="2026-10-01")], at(10, 3, 10)),
        (R3, D, "d_2026-10.csv", [d1.but(tanggal_verifikasi="2026-10-04")], at(10, 5, 10)),
    ],
    "after": [
        (R3, C, "c_2026-10_late.csv", [c1.but(tanggal_verifikasi="2026-10-19")], at(10, 20, 10)),
    ],
}


def create_rounds(eng) -> None:
    rounds.create_round(eng, rounds.default_round(R1), districts=[A, B, C, D])
    rounds.create_round(eng, rounds.default_round(R2), districts=[A, B, C, D])
    rounds.create_round(eng, rounds.default_round(R3), districts=[A, B, C])


def prepare(eng, tmp: Path) -> None:
    """Rounds created, baseline loaded; nothing landed yet."""
    create_rounds(eng)
    merging.load_baseline(
        eng, write_csv(tmp / "baseline.csv", [p.row() for p in BASELINE]), "test-baseline", BASELINE_AT
    )


def land_batch(landing: Path, batch: str) -> None:
    for folder, district, name, people, arrival in DELIVERIES[batch]:
        land(landing, folder, district, name, people, arrival)


def ingest_landing(eng, landing: Path, archive: Path, run_id: str = "test-run") -> list[int]:
    """Register, stage, validate and merge whatever is in landing (the dtks_ingest steps, in order)."""
    return [r.submission_id for r in ingest.process_landed(eng, landing, run_id, archive_dir=archive).registered]
