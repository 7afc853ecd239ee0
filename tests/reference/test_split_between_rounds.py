"""Kabupaten Pacitan is split between two rounds: the real DAGs, real PostgreSQL, figures worked out by hand.

The edition (tests/reference/split_edition.py) creates 3530 Kabupaten
Pacitan Barat from 3501 Kabupaten Pacitan on 1 Sep 2026: kecamatan Donorojo
(35.01.01) and Pringkuku (35.01.02) move with their villages
(3501012001 Widoro → 3530012001, 3501022001 Dersono → 3530022001, ...).

Rounds (default monthly calendar): 2026-08 closes at the end of 17 Aug,
2026-09 at the end of 17 Sep (WIB); both put in the calendar before the
edition, expecting P = Pacitan 3501 and S = Surabaya 3578.

Baseline (31 Jul 2026):
  P  KK1 p1 head, p2 spouse  Widoro 3501012001 (moves)    verified 2026-06-01
     KK2 p3 head             Dersono 3501022001 (moves)   verified 2023-01-10
     KK3 p4 head, p5 spouse  Bomo 3501032001 (stays)      verified 2025-01-01
  S  s1                      Surabaya                     verified 2026-06-01
2026-08:  P 10 Aug: p1, p2, p4 confirmed (visit 5 Aug).  S 11 Aug: s1 confirmed (visit 6 Aug).
          Closed by dtks_close_round. Then the edition is loaded (effective 1 Sep).
2026-09:  N (3530) 5 Sep: p1, p2 with their new codes, confirmed (visit 3 Sep); n1 new (Sawahan
          3530012002, visit 3 Sep); n2 new, village given by names under the new district.
          P 8 Sep: p4 confirmed (visit 7 Sep); p5 given by names (Pacitan / Punung / Bomo) confirmed
          (visit 7 Sep); p3 with his old code 3501022001 (row error naming 3530022001); p6 new,
          names Pacitan / Donorojo / Sawahan: ambiguous between the parent and the new district.
          S sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dtks import airflow_env, closing, merging, reference, rounds
from dtks.schema import STAGED_COLUMNS
from tests.builders import SURABAYA, SURABAYA_KEC, SURABAYA_VILLAGE, WIB, person, write_csv
from tests.conftest import module_warehouse
from tests.reference import split_edition as split

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

P, N, S = split.PARENT, split.NEW, SURABAYA
R1, R2 = "2026-08", "2026-09"
BASELINE_AT = datetime(2026, 7, 31, 9, 0, tzinfo=WIB)
EFFECTIVE_AT = datetime(2026, 9, 1, 0, 0, tzinfo=WIB)

p1 = person("350101", "3501012001", 1, 1, "PRIYO", "L", date(1980, 3, 4), "1", "2026-06-01")
p2 = person("350101", "3501012001", 1, 2, "PURWATI", "P", date(1982, 5, 6), "2", "2026-06-01")
p3 = person("350102", "3501022001", 2, 3, "PARJO", "L", date(1950, 1, 1), "1", "2023-01-10")
p4 = person("350103", "3501032001", 3, 4, "PAIMAN", "L", date(1970, 2, 2), "1", "2025-01-01")
p5 = person("350103", "3501032001", 3, 5, "PAINAH", "P", date(1972, 9, 9), "2", "2025-01-01")
s1 = person(SURABAYA_KEC, SURABAYA_VILLAGE, 1, 1, "SARI", "P", date(1990, 12, 12), "1", "2026-06-01")
n1 = person("353001", "3530012002", 1, 1, "NARTO", "L", date(1985, 4, 4), "1", "2026-09-03")
n2 = person("353001", "", 2, 2, "NANIK", "P", date(1988, 6, 6), "1", "2026-09-03")
p6 = person("350101", "", 4, 6, "PONIMIN", "L", date(1960, 7, 7), "1", "2026-09-07")


def names(prov, kab, kec, desa) -> dict:
    return {
        "extra": {"kode_desa": "", "nama_provinsi": prov, "nama_kabkota": kab, "nama_kecamatan": kec, "nama_desa": desa}
    }


def land(landing, round_id, district, name, people, at):
    return write_csv(landing / round_id / district / name, [p.row() for p in people], at, columns=STAGED_COLUMNS)


FIGURES = (
    "expected",
    "accepted",
    "on_time",
    "active_records",
    "verified_12m",
    "verified_24m",
    "coverage_12m",
    "coverage_24m",
    "rows_submitted",
    "rows_accepted",
    "updated_since_baseline",
)


def figures(eng, round_id):
    with eng.connect() as conn:
        district = {
            r["kabkota_code"]: r
            for r in conn.execute(
                sa.text("SELECT * FROM metrics.district_round WHERE round_id = :r"), {"r": round_id}
            ).mappings()
        }
        province = dict(
            conn.execute(
                sa.text("SELECT * FROM metrics.province_round WHERE round_id = :r AND province_code = '35'"),
                {"r": round_id},
            )
            .mappings()
            .one()
        )
        national = dict(
            conn.execute(sa.text("SELECT * FROM metrics.national_round WHERE round_id = :r"), {"r": round_id})
            .mappings()
            .one()
        )
        penetapan = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT snapshot_no, kabkota_code, active_individuals, households, registry_hash"
                    " FROM metrics.penetapan_district WHERE round_id = :r ORDER BY snapshot_no, kabkota_code"
                ),
                {"r": round_id},
            )
        ]
    strip = lambda row: {k: v for k, v in row.items() if k != "computed_at"}  # noqa: E731
    return ({k: strip(v) for k, v in district.items()}, strip(province), strip(national), penetapan)


def pick(row, keys=FIGURES):
    return tuple(row[k] for k in keys)


@pytest.fixture(scope="module")
def story(server_url, template_url, split_folder, tmp_path_factory):
    """The whole story run once: (engine, folders, R1 figures as first published, load result)."""
    from dtks import warehouse

    tmp = tmp_path_factory.mktemp("split_rounds")
    with module_warehouse(server_url, template_url, tmp) as (url, dirs):
        airflow_env.ensure_metadata_db()
        eng = warehouse.engine(url)
        for r in (R1, R2):
            rounds.create_round(eng, rounds.default_round(r), districts=[P, S])
        merging.load_baseline(
            eng,
            write_csv(tmp / "baseline.csv", [p.row() for p in (p1, p2, p3, p4, p5, s1)]),
            "test-baseline",
            BASELINE_AT,
        )

        land(
            dirs["landing"],
            R1,
            P,
            "p_2026-08.csv",
            [x.but(tanggal_verifikasi="2026-08-05") for x in (p1, p2, p4)],
            datetime(2026, 8, 10, 10, tzinfo=WIB),
        )
        land(
            dirs["landing"],
            R1,
            S,
            "s_2026-08.csv",
            [s1.but(tanggal_verifikasi="2026-08-06")],
            datetime(2026, 8, 11, 10, tzinfo=WIB),
        )
        airflow_env.run_dag("dtks_ingest", {"landing_dir": str(dirs["landing"])})
        airflow_env.run_dag("dtks_close_round", {"round_id": R1})
        r1_first = figures(eng, R1)
        r1_report = (dirs["out"] / R1 / "report.html").read_text(encoding="utf-8")

        loaded = reference.load_reference(eng, split_folder, loaded_by="ops:test")
        with eng.connect() as conn:
            between = {
                r.nik: tuple(r[1:])
                for r in conn.execute(
                    sa.text(
                        "SELECT nik, kode_desa, kabkota_code, last_verified_on, version_no FROM registry.individual"
                    )
                )
            }

        land(
            dirs["landing"],
            R2,
            N,
            "n_2026-09.csv",
            [
                p1.but(kode_desa="3530012001", tanggal_verifikasi="2026-09-03"),
                p2.but(kode_desa="3530012001", tanggal_verifikasi="2026-09-03"),
                n1,
                n2.but(**names("Jawa Timur", "Kabupaten Pacitan Barat", "Donorojo", "Sawahan")),
            ],
            datetime(2026, 9, 5, 10, tzinfo=WIB),
        )
        land(
            dirs["landing"],
            R2,
            P,
            "p_2026-09.csv",
            [
                p4.but(tanggal_verifikasi="2026-09-07"),
                p5.but(tanggal_verifikasi="2026-09-07", **names("", "Pacitan", "Punung", "Bomo")),
                p3.but(tanggal_verifikasi="2026-09-07"),
                p6.but(**names("Jawa Timur", "Kabupaten Pacitan", "Donorojo", "Sawahan")),
            ],
            datetime(2026, 9, 8, 10, tzinfo=WIB),
        )
        airflow_env.run_dag("dtks_ingest", {"landing_dir": str(dirs["landing"])})
        airflow_env.run_dag("dtks_close_round", {"round_id": R2})
        yield {
            "eng": eng,
            "dirs": dirs,
            "url": url,
            "r1_first": r1_first,
            "r1_report": r1_report,
            "loaded": loaded,
            "between": between,
        }


def test_the_load_recodes_the_registry_and_extends_the_next_round_only(story):
    eng, loaded = story["eng"], story["loaded"]
    assert (loaded.previous_edition, loaded.persons_recoded, loaded.rounds_extended) == (
        "idn-area-data-4.0.1",
        3,
        (R2,),
    )
    with eng.connect() as conn:
        expected = {
            r: sorted(
                conn.execute(
                    sa.text("SELECT kabkota_code FROM audit.round_expected_district WHERE round_id = :r"), {"r": r}
                ).scalars()
            )
            for r in (R1, R2)
        }
        retired = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT code, retired_in, successor_code FROM ref.village WHERE code IN ('3501012001', '3501022001',"
                    " '3501032001') ORDER BY code"
                )
            )
        ]
        log = conn.execute(sa.text("SELECT * FROM ref.edition_load ORDER BY load_id DESC LIMIT 1")).mappings().one()
    assert expected == {R1: [P, S], R2: [P, N, S]}  # 2026-08 keeps its snapshot
    assert retired == [
        ("3501012001", split.NAME, "3530012001"),
        ("3501022001", split.NAME, "3530022001"),
        ("3501032001", None, None),
    ]
    assert (log["persons_recoded"], log["households_recoded"], log["rounds_extended"], log["loaded_by"]) == (
        3,
        2,
        [R2],
        "ops:test",
    )
    # between the load and the next round: moved persons re-attributed, verification dates untouched
    b = story["between"]
    assert b[p1.nik] == ("3530012001", N, date(2026, 8, 5), 2)
    assert b[p2.nik] == ("3530012001", N, date(2026, 8, 5), 2)
    assert b[p3.nik] == ("3530022001", N, date(2023, 1, 10), 2)
    assert b[p4.nik] == ("3501032001", P, date(2026, 8, 5), 1)


def test_moved_persons_get_a_version_with_lineage_to_the_edition_load(story):
    eng = story["eng"]
    with eng.connect() as conn:
        versions = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT v.version_no, v.change_kind, v.kode_desa, v.kabkota_code, v.verified_on, v.valid_from,"
                    " v.valid_to, s.kind, s.file_name, v.file_row, v.run_id"
                    " FROM registry.individual_version v JOIN audit.submission s USING (submission_id)"
                    " WHERE v.nik = :n ORDER BY v.version_no"
                ),
                {"n": p3.nik},
            )
        ]
        lineage_sid = conn.execute(
            sa.text("SELECT submission_id FROM ref.edition_load ORDER BY load_id DESC LIMIT 1")
        ).scalar()
        edition_sub = conn.execute(
            sa.text(
                "SELECT kind, status, rows_in, rows_accepted, kabkota_code, round_id FROM audit.submission"
                " WHERE submission_id = :s"
            ),
            {"s": lineage_sid},
        ).one()
        events = sorted(
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT nik, event, version_no, verified_on FROM registry.individual_event WHERE submission_id = :s"
                ),
                {"s": lineage_sid},
            )
        )
        households = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT version_no, kode_desa, kabkota_code, submission_id = :s FROM registry.household_version"
                    " WHERE no_kk = :kk ORDER BY version_no"
                ),
                {"kk": p1.no_kk, "s": lineage_sid},
            )
        ]
    # p3: baseline version, then the edition's (successors.csv row 15: after 2 kecamatan and 12 Donorojo villages)
    assert versions == [
        (
            1,
            "inserted",
            "3501022001",
            P,
            date(2023, 1, 10),
            BASELINE_AT,
            EFFECTIVE_AT,
            "baseline",
            "baseline.csv",
            3,
            "test-baseline",
        ),
        (
            2,
            "recoded",
            "3530022001",
            N,
            date(2023, 1, 10),
            EFFECTIVE_AT,
            None,
            "edition",
            f"{split.NAME}/successors.csv",
            15,
            f"reference-load:{split.NAME}",
        ),
    ]
    assert tuple(edition_sub) == ("edition", "merged", 27, 3, None, None)
    # an event each, for record lineage; its verification date is the person's last one, unchanged
    assert events == sorted(
        [
            (p1.nik, "recoded", 2, date(2026, 8, 5)),
            (p2.nik, "recoded", 2, date(2026, 8, 5)),
            (p3.nik, "recoded", 2, date(2023, 1, 10)),
        ]
    )
    from dtks import audit

    recoded = [r for r in audit.lineage(eng, p3.nik) if r["event"] == "recoded"]
    assert [
        (r["submission_kind"], r["file_name"], r["file_row"], r["changed_columns"], r["kode_desa"]) for r in recoded
    ] == [("edition", f"{split.NAME}/successors.csv", 15, ["kabkota_code", "kode_desa"], "3530022001")]
    assert households == [(1, "3501012001", P, False), (2, "3530012001", N, True)]


def test_files_after_the_split(story):
    eng = story["eng"]
    with eng.connect() as conn:
        subs = {
            r.kabkota_code: r
            for r in conn.execute(
                sa.text(
                    "SELECT kabkota_code, status, rows_in, rows_accepted, rows_quarantined FROM audit.submission"
                    " WHERE round_id = :r AND kind = 'district'"
                ),
                {"r": R2},
            )
        }
        issues = {}
        for r in conn.execute(
            sa.text(
                "SELECT s.kabkota_code, q.file_row, q.reason_code, q.severity, q.detail FROM quarantine.row_issue q"
                " JOIN audit.submission s USING (submission_id) WHERE s.round_id = :r"
            ),
            {"r": R2},
        ):
            issues.setdefault((r.kabkota_code, r.file_row), {})[r.reason_code] = (r.severity, r.detail)
        events = {
            r.nik: r.event
            for r in conn.execute(
                sa.text(
                    "SELECT e.nik, e.event FROM registry.individual_event e JOIN audit.submission s USING (submission_id)"
                    " WHERE s.round_id = :r"
                ),
                {"r": R2},
            )
        }
        n2_code = conn.execute(
            sa.text("SELECT kode_desa FROM registry.individual WHERE nik = :n"), {"n": n2.nik}
        ).scalar()
    # the new district's file is accepted whole, its villages known; p1 and p2 are confirmations
    # (same record under the new code), not changes; n2's village found by its names under the new district
    assert tuple(subs[N])[1:] == ("merged", 4, 4, 0)
    assert (events[p1.nik], events[p2.nik], events[n1.nik], events[n2.nik]) == (
        "confirmed",
        "confirmed",
        "inserted",
        "inserted",
    )
    assert n2_code == "3530012002"
    errors = {k: {c for c, (sev, _) in v.items() if sev == "error"} for k, v in issues.items()}
    assert {k for k, v in errors.items() if v} == {(P, 3), (P, 4)}
    # the parent's row with a moved village's old code: an error naming the new code, not village_unknown
    assert errors[(P, 3)] >= {"village_recoded"} and "village_unknown" not in errors[(P, 3)]
    assert issues[(P, 3)]["village_recoded"][1] == "3530022001 (Kabupaten Pacitan Barat)"
    # names of the parent for a village now in the new district: ambiguous, never guessed
    assert errors[(P, 4)] == {"village_name_ambiguous"}
    # the parent's names of a village that stayed resolve to its current code: p5 confirmed
    assert tuple(subs[P])[1:] == ("merged", 4, 2, 2)
    assert (events[p4.nik], events[p5.nik]) == ("confirmed", "confirmed")
    assert p3.nik not in events and p6.nik not in events
    # the district feedback names the new code too
    feedback = next((story["dirs"]["outbox"] / R2 / P).glob("feedback_*[0-9].csv")).read_text(encoding="utf-8")
    assert "3530022001 (Kabupaten Pacitan Barat)" in feedback


def test_round_after_the_split(story):
    """2026-09 closes at the end of 17 Sep: 12 months → verified after 2025-09-17; 24 → after 2024-09-17."""
    district, province, national, penetapan = figures(story["eng"], R2)
    # P: p4, p5 only (p1-p3 left on 1 Sep): visits 7 Sep → 2 of 2. Its file: 4 rows, 2 accepted.
    assert pick(district[P]) == (True, True, True, 2, 2, 2, D("1.0000"), D("1.0000"), 4, 2, D("1.0000"))
    # N: p1, p2 (3 Sep), n1, n2 (3 Sep), p3 (2023-01-10: outside both windows) → 4 of 5; p3 never
    # verified by a district file → updated since baseline 4/5.
    assert pick(district[N]) == (True, True, True, 5, 4, 4, D("0.8000"), D("0.8000"), 4, 4, D("0.8000"))
    # S sends nothing: s1 (6 Aug) still within both windows.
    assert pick(district[S]) == (True, False, False, 1, 1, 1, D("1.0000"), D("1.0000"), 0, 0, D("1.0000"))
    # Jawa Timur: 3 expected, 2 accepted; 8 active, 7 verified; rows 6 of 8. Nothing above 100 %.
    assert (
        province["expected_districts"],
        province["accepted_districts"],
        province["reporting_rate"],
        province["on_time_rate"],
        province["active_records"],
        province["coverage_12m"],
        province["coverage_24m"],
        province["acceptance_rate"],
    ) == (3, 2, D("0.6667"), D("0.6667"), 8, D("0.8750"), D("0.8750"), D("0.7500"))
    assert (national["expected_districts"], national["reporting_rate"], national["active_records"]) == (
        3,
        D("0.6667"),
        8,
    )
    for row in (*district.values(), province, national):
        for key in ("reporting_rate", "on_time_rate", "coverage_12m", "coverage_24m", "acceptance_rate"):
            assert row.get(key) is None or row[key] <= 1, key
    # the registry as 2026-09 determined it: the new district with the moved persons and its new ones
    assert [(k, a, h) for _, k, a, h, _ in penetapan] == [(P, 2, 1), (N, 5, 4), (S, 1, 1)]


def test_round_before_the_split_and_its_backfill(story):
    """2026-08 (close 17 Aug; 12 months → after 2025-08-17, 24 → after 2024-08-17), first and re-run."""
    district, province, _national, _penetapan = story["r1_first"]
    # P before the split: p1, p2, p4 (5 Aug), p5 (2025-01-01: 24m only), p3 (2023: neither) → 3/5 and 4/5.
    assert pick(district[P]) == (True, True, True, 5, 3, 4, D("0.6000"), D("0.8000"), 3, 3, D("0.6000"))
    assert pick(district[S]) == (True, True, True, 1, 1, 1, D("1.0000"), D("1.0000"), 1, 1, D("1.0000"))
    assert N not in district
    assert (province["expected_districts"], province["active_records"], province["coverage_24m"]) == (2, 6, D("0.8333"))
    closing.backfill(story["eng"], R1, R1)  # the past round re-run through the DAG after the split
    assert figures(story["eng"], R1) == story["r1_first"]


def test_report_and_auditor_page_show_the_new_district(story, tmp_path):
    from dtks import audit
    from tests.audit.conftest import load_plugin_module

    html = (story["dirs"]["out"] / R2 / "report.html").read_text(encoding="utf-8")
    assert 'id="new-districts"' in html and 'href="#new-districts"' in html
    assert "3530 Kabupaten Pacitan Barat: baru sejak\n2026-09-01, dimekarkan dari 3501 Kabupaten Pacitan" in html
    assert "new since 2026-09-01, split from 3501 Kabupaten Pacitan" in html
    assert "new-districts" not in story["r1_report"]
    from fastapi.testclient import TestClient

    app = load_plugin_module().create_app(engine=audit.auditor_engine(story["url"]), require_login=False)
    with TestClient(app, root_path="/dtks-auditor") as client:
        page = client.get(f"/rounds/{R2}")
        before = client.get(f"/rounds/{R1}")
    assert page.status_code == 200 and before.status_code == 200
    assert "new since 2026-09-01, split from 3501 Kabupaten Pacitan" in page.text
    assert 'id="new-districts"' not in before.text
