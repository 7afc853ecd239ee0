"""Every rule of the suites, through the real path: one small file per rule, each in its own district.

Each file holds a clean family (accepted) and the defective row(s); the test
checks that exactly the expected reasons are recorded for exactly those
rows, that error rows are quarantined and warning rows accepted, and that
the critical rule rejects its file whole. The pipeline runs once over all
files (one GX run per suite for the whole batch).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from dtks import merging
from dtks.identifiers import build_kk, build_nik
from dtks.validation import FILE_SUITE_FILE, ROW_SUITE_FILE, load_suite_spec
from tests.builders import WIB, write_csv
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

ACTIVE_ELSEWHERE_DISTRICT = "3578"  # Kota Surabaya: where the baseline person is active
BIG_FAMILY_DISTRICT = "3516"  # Kabupaten Mojokerto: a baseline family of six
UNREADABLE_STATUS_DISTRICT = "3517"  # Kabupaten Jombang: two baseline families of six
OTHER_DISTRICT = "3501"  # Kabupaten Pacitan: villages "of another district"
RULE_CASES: dict[str, object] = {}


def rule(name: str):
    def register(fn):
        RULE_CASES[name] = fn
        return fn

    return register


def _one(v, serial=50, **changes) -> dict:
    """A one-person household (its own head) with changes applied to the row."""
    row = h.family(v[1], serial, serial, 1)[0].row()
    row.update(changes)
    return row


def _nik(village: str, born: date, female: bool, serial: int) -> str:
    return build_nik(village[:6], born, female, serial)


# Each builder: (own villages, context) -> (extra rows after a clean family of 2, {row: errors}, {row: warnings})
@rule("nik_missing")
def _(v, ctx):
    return [_one(v, nik="")], {3: {"nik_missing"}}, {}


@rule("nik_excel_corrupted")
def _(v, ctx):
    return (
        [_one(v, nik="3.57801E+15"), _one(v, 51, nik=_one(v, 51)["nik"] + ".0")],
        {3: {"nik_excel_corrupted"}, 4: {"nik_excel_corrupted"}},
        {},
    )


@rule("nik_not_16_digits")
def _(v, ctx):
    nik = _one(v)["nik"]
    return (
        [_one(v, nik=nik[1:]), _one(v, 51, nik=nik + "7"), _one(v, 52, nik="35ABC")],
        {3: {"nik_not_16_digits"}, 4: {"nik_not_16_digits"}, 5: {"nik_not_16_digits"}},
        {},
    )


@rule("nik_region_unknown")
def _(v, ctx):
    nik = "999901" + _one(v)["nik"][6:]
    return [_one(v, nik=nik)], {3: {"nik_region_unknown"}}, {3: {"nik_region_differs_from_address"}}


@rule("nik_birth_date_invalid")
def _(v, ctx):
    nik = _one(v)["nik"]
    return (
        [_one(v, nik=nik[:6] + "32" + nik[8:]), _one(v, 51, nik=nik[:8] + "13" + nik[10:])],
        {3: {"nik_birth_date_invalid"}, 4: {"nik_birth_date_invalid"}},
        {},
    )


@rule("nik_serial_zero")
def _(v, ctx):
    nik = _one(v)["nik"]
    return [_one(v, nik=nik[:12] + "0000")], {3: {"nik_serial_zero"}}, {}


@rule("nik_birth_mismatch")
def _(v, ctx):
    female = _one(v, 51, jenis_kelamin="P")  # the NIK says male (day < 41)
    return [_one(v, tanggal_lahir="1979-03-04"), female], {3: {"nik_birth_mismatch"}, 4: {"nik_birth_mismatch"}}, {}


@rule("nik_duplicate_in_file")
def _(v, ctx):
    a = _one(v, 60)
    b = _one(v, 61, nik=a["nik"])
    return [a, b], {3: {"nik_duplicate_in_file"}, 4: {"nik_duplicate_in_file"}}, {}


@rule("nik_active_in_other_district")
def _(v, ctx):
    mover = ctx["mover"]
    row = mover.row()
    row.update(kode_desa=v[1], no_kk=build_kk(v[1][:6], date(2015, 1, 2), 70), tanggal_verifikasi="2026-08-05")
    # the person's NIK region (Surabaya) differs from the new address: the warning applies too
    return [row], {3: {"nik_active_in_other_district"}}, {3: {"nik_region_differs_from_address"}}


@rule("kk_missing")
def _(v, ctx):
    return [_one(v, no_kk="")], {3: {"kk_missing"}}, {}


@rule("kk_excel_corrupted")
def _(v, ctx):
    return [_one(v, no_kk="3.50101E+15")], {3: {"kk_excel_corrupted"}}, {}


@rule("kk_not_16_digits")
def _(v, ctx):
    return [_one(v, no_kk=_one(v)["no_kk"][:-1])], {3: {"kk_not_16_digits"}}, {}


@rule("kk_region_unknown")
def _(v, ctx):
    return [_one(v, no_kk="999999" + _one(v)["no_kk"][6:])], {3: {"kk_region_unknown"}}, {}


@rule("kk_issue_date_invalid")
def _(v, ctx):
    kk = _one(v)["no_kk"]
    return (
        [_one(v, no_kk=kk[:6] + "00" + kk[8:]), _one(v, 51, no_kk=kk[:8] + "13" + kk[10:14] + "51")],
        {3: {"kk_issue_date_invalid"}, 4: {"kk_issue_date_invalid"}},
        {},
    )


@rule("kk_serial_zero")
def _(v, ctx):
    return [_one(v, no_kk=_one(v)["no_kk"][:12] + "0000")], {3: {"kk_serial_zero"}}, {}


@rule("kk_head_count")
def _(v, ctx):
    two_heads = [p.row() for p in h.family(v[1], 80, 80, 2)]
    two_heads[1]["hubungan_keluarga"] = "1"
    no_head = [p.row() for p in h.family(v[1], 81, 82, 2)]
    no_head[0]["hubungan_keluarga"] = "2"
    rows = two_heads + no_head
    return rows, {3: {"kk_head_count"}, 4: {"kk_head_count"}, 5: {"kk_head_count"}, 6: {"kk_head_count"}}, {}


@rule("nama_blank")
def _(v, ctx):
    return [_one(v, nama="   ")], {3: {"nama_blank"}}, {}


@rule("nama_invalid")
def _(v, ctx):
    return [_one(v, nama="-"), _one(v, 51, nama="0")], {3: {"nama_invalid"}, 4: {"nama_invalid"}}, {}


@rule("one_wrong_value_reported_once")
def _(v, ctx):
    misspelt_head = [p.row() for p in h.family(v[1], 60, 60, 3)]
    misspelt_head[0]["hubungan_keluarga"] = "KEPALA KELUARGGA"  # the only report: its own row
    two_heads = [p.row() for p in h.family(v[1], 61, 70, 3)]
    two_heads[1]["hubungan_keluarga"] = "Kepala Keluarga"  # two heads whatever the third row means
    two_heads[2]["hubungan_keluarga"] = "SEPUPU"
    no_head = [p.row() for p in h.family(v[1], 62, 80, 2)]
    no_head[0]["hubungan_keluarga"] = "ISTRI"  # words that are read: no head at all
    no_head[1]["hubungan_keluarga"] = "ANAK"
    return (
        misspelt_head + two_heads + no_head,
        {
            3: {"relationship_code_unknown"},
            6: {"kk_head_count"},
            7: {"kk_head_count"},
            8: {"kk_head_count", "relationship_code_unknown"},
            9: {"kk_head_count"},
            10: {"kk_head_count"},
        },
        {},
    )


@rule("enumerated_codes")
def _(v, ctx):
    member = h.family(v[1], 90, 90, 2)
    rows = [member[0].row(), member[1].row()]
    rows[1]["hubungan_keluarga"] = "10"
    return (
        [
            *rows,
            _one(v, 51, jenis_kelamin="X"),
            _one(v, 52, status_keberadaan="9"),
            _one(v, 53, pkh="2"),
            # (YA/Y are declared words for 1: include/mapping/value_aliases.json)
            _one(v, 54, bpnt="B"),
            _one(v, 55, pbi="mungkin"),
        ],
        {
            4: {"relationship_code_unknown"},
            5: {"sex_code_unknown"},
            6: {"status_code_unknown"},
            7: {"pkh_flag_unknown"},
            8: {"bpnt_flag_unknown"},
            9: {"pbi_flag_unknown"},
        },
        {},
    )


@rule("birth_date_invalid")
def _(v, ctx):
    return (
        [_one(v, tanggal_lahir="31-02-1980"), _one(v, 51, tanggal_lahir=""), _one(v, 52, tanggal_lahir="1850-01-01")],
        {3: {"birth_date_invalid"}, 4: {"birth_date_invalid"}, 5: {"birth_date_invalid"}},
        {},
    )


@rule("birth_date_future")
def _(v, ctx):
    born = date(2027, 1, 5)
    row = _one(v, nik=_nik(v[1], born, False, 77), tanggal_lahir=born.isoformat())
    return [row], {3: {"birth_date_future", "verification_before_birth"}}, {}


@rule("verification_date_invalid")
def _(v, ctx):
    return [_one(v, tanggal_verifikasi="kemarin")], {3: {"verification_date_invalid"}}, {}


@rule("verification_date_future")
def _(v, ctx):
    return [_one(v, tanggal_verifikasi="2026-09-01")], {3: {"verification_date_future"}}, {}


@rule("verification_before_birth")
def _(v, ctx):
    born = date(2026, 8, 7)  # a baby born after the visit date written
    return (
        [_one(v, nik=_nik(v[1], born, True, 78), jenis_kelamin="P", tanggal_lahir=born.isoformat())],
        {3: {"verification_before_birth"}},
        {},
    )


@rule("village_unknown")
def _(v, ctx):
    return (
        [_one(v, kode_desa=v[1][:6] + "9999"), _one(v, 51, kode_desa="")],
        {3: {"village_unknown"}, 4: {"village_unknown"}},
        {},
    )


@rule("village_other_district")
def _(v, ctx):
    other = ctx["other_village"]
    return [_one(v, kode_desa=other)], {3: {"village_other_district"}}, {3: {"nik_region_differs_from_address"}}


@rule("nik_region_differs_from_address")
def _(v, ctx):
    born = date(1970, 1, 1)
    migrant = _one(v, nik=_nik(ctx["other_village"], born, False, 79), tanggal_lahir=born.isoformat())
    return [migrant], {}, {3: {"nik_region_differs_from_address"}}


# ---------------------------------------------------------------- the run
@pytest.fixture(scope="module")
def ctx(module_wh, module_dirs, tmp_path_factory):
    eng = module_wh
    h.create_round(eng)
    with eng.connect() as conn:
        codes = [
            c
            for c in conn.execute(
                sa.text("SELECT code FROM ref.kabkota WHERE province_code IN ('35', '73') ORDER BY code")
            ).scalars()
            if c not in (ACTIVE_ELSEWHERE_DISTRICT, BIG_FAMILY_DISTRICT, OTHER_DISTRICT, UNREADABLE_STATUS_DISTRICT)
        ]
    mover = h.family(h.villages(eng, ACTIVE_ELSEWHERE_DISTRICT, 1)[0], 1, 1, 1, verified="2025-01-01")[0]
    big = h.family(h.villages(eng, BIG_FAMILY_DISTRICT, 1)[0], 1, 1, 6, verified="2025-01-01")
    jombang = h.villages(eng, UNREADABLE_STATUS_DISTRICT, 1)[0]
    shrinking = h.family(jombang, 1, 1, 6, verified="2025-01-01")
    maybe_shrinking = h.family(jombang, 2, 21, 6, verified="2025-01-01")
    baseline = write_csv(
        tmp_path_factory.mktemp("baseline") / "baseline.csv",
        [p.row() for p in [mover, *big, *shrinking, *maybe_shrinking]],
    )
    merging.load_baseline(eng, baseline, "test-baseline", datetime(2026, 7, 31, 9, 0, tzinfo=WIB))
    context = {
        "mover": mover,
        "big": big,
        "shrinking": shrinking,
        "other_village": h.villages(eng, OTHER_DISTRICT, 1)[0],
        "files": {},
    }

    for district, (name, build) in zip(codes, RULE_CASES.items()):
        v = h.villages(eng, district, 2)
        clean = [p.row() for p in h.family(v[0], 1, 1, 2)]
        extra, errors, warnings = build(v, context)
        h.land_bytes(module_dirs["landing"], district, f"{name}.csv", h.csv_bytes(clean + extra))
        context["files"][name] = (f"{name}.csv", len(clean) + len(extra), errors, warnings)

    # warning: the family of six shrinks to two (four moved away)
    rows = [p.row() for p in big]
    for r in rows:
        r["tanggal_verifikasi"] = "2026-08-05"
    for r in rows[2:]:
        r["status_keberadaan"] = "2"
    h.land_bytes(module_dirs["landing"], BIG_FAMILY_DISTRICT, "household_size_jump.csv", h.csv_bytes(rows))
    context["files"]["household_size_jump"] = ("household_size_jump.csv", 6, {}, {1: {"household_size_jump"}})

    # an unreadable status: its own error; the size jump only where it holds whatever the status means
    # (6 → 2 or 3: reported; 6 → 3 or 4: not)
    rows = [p.row() for p in shrinking + maybe_shrinking]
    for r in rows:
        r["tanggal_verifikasi"] = "2026-08-05"
    for r in rows[2:5] + rows[9:11]:
        r["status_keberadaan"] = "Pindah"
    rows[5]["status_keberadaan"] = rows[11]["status_keberadaan"] = "HILANG"
    h.land_bytes(
        module_dirs["landing"], UNREADABLE_STATUS_DISTRICT, "size_jump_unreadable_status.csv", h.csv_bytes(rows)
    )
    context["files"]["size_jump_unreadable_status"] = (
        "size_jump_unreadable_status.csv",
        12,
        {6: {"status_code_unknown"}, 12: {"status_code_unknown"}},
        {1: {"household_size_jump"}},
    )

    # critical: a file sent to the wrong district folder (its rows are all another district's)
    wrong = [p.row() for p in h.family(context["other_village"], 95, 95, 3)]
    h.land_bytes(module_dirs["landing"], codes[-1], "wrong_district.csv", h.csv_bytes(wrong))

    h.run_pipeline(eng, module_dirs)
    context["outcomes"] = h.outcomes(eng)
    return context


@pytest.mark.parametrize("name", [*RULE_CASES, "household_size_jump", "size_jump_unreadable_status"])
def test_rule_reports_exactly_its_rows(ctx, name):
    file_name, n_rows, errors, warnings = ctx["files"][name]
    outcome = ctx["outcomes"][file_name]
    assert outcome.status == "merged", outcome.reject_reason
    assert outcome.errors == errors
    warned = {row: codes - outcome.errors.get(row, set()) for row, codes in outcome.issues.items()}
    warned = {row: codes for row, codes in warned.items() if codes}
    assert warned == warnings
    assert outcome.rows_in == n_rows
    assert outcome.rows_quarantined == len(errors)
    assert outcome.rows_accepted == n_rows - len(errors)  # warnings are accepted


def test_error_rows_kept_whole_in_quarantine_and_not_in_registry(ctx, module_wh):
    file_name, _, _errors, _ = ctx["files"]["nik_active_in_other_district"]
    outcome = ctx["outcomes"][file_name]
    with module_wh.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT file_row, row_data->>'kode_desa' FROM quarantine.rejected_row WHERE submission_id = :s"),
            {"s": outcome.submission_id},
        ).all()
        detail = conn.execute(
            sa.text(
                "SELECT detail FROM quarantine.row_issue WHERE submission_id = :s"
                " AND reason_code = 'nik_active_in_other_district'"
            ),
            {"s": outcome.submission_id},
        ).scalar()
    assert [r[0] for r in kept] == [3]
    assert detail == ACTIVE_ELSEWHERE_DISTRICT  # "active in district X"
    stored = h.registry(module_wh, ctx["mover"].nik)
    assert stored["kabkota_code"] == ACTIVE_ELSEWHERE_DISTRICT and stored["active"]  # not silently moved


def test_household_size_jump_is_a_warning_and_the_moves_deactivate(ctx, module_wh):
    outcome = ctx["outcomes"]["household_size_jump.csv"]
    assert outcome.values[(1, "household_size_jump")] == ctx["big"][0].no_kk
    with module_wh.connect() as conn:
        detail = conn.execute(
            sa.text("SELECT detail FROM quarantine.row_issue WHERE submission_id = :s"), {"s": outcome.submission_id}
        ).scalar()
        history = conn.execute(
            sa.text("SELECT change_kind, active FROM registry.individual_version WHERE nik = :n ORDER BY version_no"),
            {"n": ctx["big"][5].nik},
        ).all()
    assert detail == "6 → 2"
    assert [tuple(r) for r in history] == [("inserted", True), ("deactivated", False)]  # history kept


def test_size_jump_with_an_unreadable_status_gives_the_range(ctx, module_wh):
    outcome = ctx["outcomes"]["size_jump_unreadable_status.csv"]
    with module_wh.connect() as conn:
        jumps = conn.execute(
            sa.text(
                "SELECT file_row, value_sent, detail FROM quarantine.row_issue"
                " WHERE submission_id = :s AND reason_code = 'household_size_jump'"
            ),
            {"s": outcome.submission_id},
        ).all()
    assert [tuple(j) for j in jumps] == [(1, ctx["shrinking"][0].no_kk, "6 → 2–3")]
    assert outcome.values[(6, "status_code_unknown")] == outcome.values[(12, "status_code_unknown")] == "HILANG"


def test_wrong_district_file_is_rejected_whole(ctx, module_wh):
    outcome = ctx["outcomes"]["wrong_district.csv"]
    assert outcome.status == "rejected" and outcome.reject_reason == "file_wrong_district"
    assert "100%" in outcome.reject_detail
    with module_wh.connect() as conn:
        merged = conn.execute(
            sa.text("SELECT count(*) FROM registry.individual WHERE submission_id = :s"), {"s": outcome.submission_id}
        ).scalar()
        results = conn.execute(
            sa.text(
                "SELECT suite_name, suite_version, reason_code, success FROM audit.validation_result"
                " WHERE submission_id = :s"
            ),
            {"s": outcome.submission_id},
        ).all()
    assert merged == 0
    file_suite = load_suite_spec(FILE_SUITE_FILE)
    assert {(r.suite_name, r.suite_version, r.reason_code, r.success) for r in results} == {
        (file_suite.name, file_suite.version, "file_wrong_district", False),
        (file_suite.name, file_suite.version, "manifest_missing", True),
    }


def test_duplicate_nik_in_a_file_is_a_rule_result_not_a_crash(wh, dirs, process_landed):
    """Two rows of one file with the same NIK: the row suite refuses both with nik_duplicate_in_file
    (checked before any merge, so a missing rule shows here, not as a unique violation later), the
    rest of the file is merged, and neither twin reaches the registry."""
    h.create_round(wh)
    village = h.villages(wh, OTHER_DISTRICT, 1)[0]
    clean = h.family(village, 80, 80)
    twin_a, twin_b = h.family(village, 81, 81, size=1)[0], h.family(village, 82, 82, size=1)[0]
    twin_b = twin_b.but(nik=twin_a.nik, nama="WATI SANTOSO")
    h.land_bytes(dirs["landing"], OTHER_DISTRICT, "kembar.csv", h.csv_bytes(h.rows_of([*clean, twin_a, twin_b])))
    run = process_landed("run", until="validate")
    (sid,) = [r.submission_id for r in run.registered]
    assert run.validated[sid]["status"] == "validated"
    with wh.connect() as conn:
        issues = conn.execute(
            sa.text(
                "SELECT file_row, reason_code, severity, field, value_sent FROM quarantine.row_issue"
                " WHERE submission_id = :s ORDER BY file_row, reason_code"
            ),
            {"s": sid},
        ).all()
    assert [tuple(i) for i in issues] == [
        (3, "nik_duplicate_in_file", "error", "nik", twin_a.nik),
        (4, "nik_duplicate_in_file", "error", "nik", twin_a.nik),
    ]
    merged = merging.merge(wh, sid, "run")
    assert (merged["status"], merged["rows_accepted"]) == ("merged", 2)
    with wh.connect() as conn:
        kept = (
            conn.execute(
                sa.text("SELECT file_row FROM quarantine.rejected_row WHERE submission_id = :s ORDER BY file_row"),
                {"s": sid},
            )
            .scalars()
            .all()
        )
    assert kept == [3, 4]
    assert h.registry(wh, twin_a.nik) is None and h.registry(wh, clean[0].nik) is not None


def test_suite_name_and_version_stored_with_every_result(ctx, module_wh):
    rows_suite, file_suite = load_suite_spec(ROW_SUITE_FILE), load_suite_spec(FILE_SUITE_FILE)
    with module_wh.connect() as conn:
        per_sub = conn.execute(
            sa.text(
                "SELECT s.submission_id, s.status, s.suite_name, s.suite_version,"
                " count(*) FILTER (WHERE v.suite_name = :rows AND v.suite_version = :rv) AS row_results,"
                " count(*) FILTER (WHERE v.suite_name = :file AND v.suite_version = :fv) AS file_results,"
                " count(*) FILTER (WHERE v.suite_version IS NULL) AS unversioned"
                " FROM audit.submission s LEFT JOIN audit.validation_result v USING (submission_id)"
                " WHERE s.kind = 'district' GROUP BY 1, 2, 3, 4"
            ),
            {"rows": rows_suite.name, "rv": rows_suite.version, "file": file_suite.name, "fv": file_suite.version},
        ).all()
        definitions = conn.execute(
            sa.text("SELECT suite_name, suite_version, sha256 FROM audit.suite_definition ORDER BY suite_name")
        ).all()
    for r in per_sub:
        assert r.file_results == len(file_suite.rules) and r.unversioned == 0
        if r.status == "merged":
            assert (r.suite_name, r.suite_version) == (rows_suite.name, rows_suite.version)
            assert r.row_results == len(rows_suite.rules)
    assert [tuple(d) for d in definitions] == [
        (file_suite.name, file_suite.version, file_suite.sha256),
        (rows_suite.name, rows_suite.version, rows_suite.sha256),
    ]


def test_review_queue_lists_the_nik_active_elsewhere(ctx, module_wh):
    with module_wh.connect() as conn:
        queue = conn.execute(sa.text("SELECT nik, active_in_kabkota, review_status FROM quarantine.review_queue")).all()
    assert [tuple(q) for q in queue] == [(ctx["mover"].nik, ACTIVE_ELSEWHERE_DISTRICT, "open")]


def test_review_queue_resolves_when_the_other_district_lets_go(ctx, module_wh, module_dirs):
    """Runs last in this module: it changes the registry."""
    from dtks import review

    mover = ctx["mover"]
    queue = review.review_queue(module_wh)
    assert [(q["nik"], q["review_status"]) for q in queue] == [(mover.nik, "open")]
    printed = review.format_review_queue(queue)
    assert mover.nik not in printed and mover.nik[:4] in printed and ACTIVE_ELSEWHERE_DISTRICT in printed
    # the home district reports the person moved away: deactivated, with history
    moved = mover.row()
    moved.update(status_keberadaan="2", tanggal_verifikasi="2026-08-09")
    h.land_bytes(module_dirs["landing"], ACTIVE_ELSEWHERE_DISTRICT, "pindah.csv", h.csv_bytes([moved]))
    h.run_pipeline(module_wh, module_dirs, "run-2")
    assert review.review_queue(module_wh) == []
    assert [q["review_status"] for q in review.review_queue(module_wh, status=None)] == ["resolved"]
    stored = h.registry(module_wh, mover.nik)
    assert (stored["active"], stored["status_keberadaan"], stored["version_no"]) == (False, "2", 2)
    # and the new district's row, sent again, is accepted: the person now lives there
    file_name = ctx["files"]["nik_active_in_other_district"][0]
    sent = ctx["outcomes"][file_name]
    with module_wh.connect() as conn:
        row = conn.execute(
            sa.text("SELECT row_data FROM quarantine.rejected_row WHERE submission_id = :s"), {"s": sent.submission_id}
        ).scalar()
    h.land_bytes(
        module_dirs["landing"],
        sent.kabkota_code,
        "kirim_ulang.csv",
        h.csv_bytes([{k: v for k, v in row.items() if v is not None}]),
    )
    h.run_pipeline(module_wh, module_dirs, "run-3")
    stored = h.registry(module_wh, mover.nik)
    assert (stored["active"], stored["kabkota_code"]) == (True, sent.kabkota_code)
