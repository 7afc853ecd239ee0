"""Input formats as districts send them, through the real path (parser, GX suites, PostgreSQL).

One district per case; every case's file is landed, then the pipeline runs
once over all of them (register → stage → validate → merge), and each test
checks one case's outcome in the warehouse.
"""

from __future__ import annotations

import codecs
import csv
from datetime import date

import pytest

from dtks.schema import CANONICAL_COLUMNS
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

SERIAL_2026_08_05 = (date(2026, 8, 5) - date(1899, 12, 30)).days  # 46239
VARIANT_HEADER = [
    "ID DTKS",
    "No. KK",
    "NIK",
    "Nama Lengkap",
    "JENIS KELAMIN",
    "Tempat Lahir",
    "Tgl Lahir",
    "SHDK",
    "Nama Ibu Kandung",
    "Alamat",
    "RT",
    "RW",
    "Kode Desa/Kelurahan",
    "Status Keberadaan",
    "Tgl Verval",
    "PKH",
    "BPNT",
    "PBI-JK",
]
CASES: dict[str, dict] = {}


def case(name: str, district: str):
    def register(fn):
        CASES[name] = {"district": district, "build": fn}
        return fn

    return register


# ---------------------------------------------------------------- CSV delimiters, quoting, encodings
@case("comma_utf8", "3501")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 3)
    return "comma.csv", h.csv_bytes(h.rows_of(people)), people


@case("semicolon_ddmmyyyy", "3502")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 2, verified="05-08-2026")
    rows = h.rows_of(people)
    for r, p in zip(rows, people):
        y, m, dd = p.tanggal_lahir.split("-")
        r["tanggal_lahir"] = f"{dd}-{m}-{y}"
    return "semicolon.csv", h.csv_bytes(rows, delimiter=";"), people


@case("pipe_slashes_unquoted", "3503")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 2, verified="05/08/2026")
    rows = h.rows_of(people)
    for r, p in zip(rows, people):
        y, m, dd = p.tanggal_lahir.split("-")
        r["tanggal_lahir"] = f"{dd}/{m}/{y}"
    return "pipe.txt", h.csv_bytes(rows, delimiter="|", quoting=csv.QUOTE_NONE), people


@case("tab_separated", "3504")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 2)
    return "tab.tsv", h.csv_bytes(h.rows_of(people), delimiter="\t"), people


@case("utf8_bom_accents", "3505")
def _(eng, d, v):
    people = [p.but(nama="ÉLIS SÉTIAWAN") if i == 0 else p for i, p in enumerate(h.family(v[0], 1, 1, 2))]
    data = h.csv_bytes(h.rows_of(people), encoding="utf-8-sig")
    assert data.startswith(codecs.BOM_UTF8)
    return "bom.csv", data, people


@case("cp1252_semicolon", "3506")
def _(eng, d, v):
    people = [
        p.but(nama="ÉLIS SÉTIAWAN", alamat="JL. KARTINI – NO. 5") if i == 0 else p
        for i, p in enumerate(h.family(v[0], 1, 1, 2))
    ]
    return "ansi.csv", h.csv_bytes(h.rows_of(people), delimiter=";", encoding="cp1252"), people


@case("cp1252_after_64k", "3507")
def _(eng, d, v):
    # The first non-ASCII byte sits far beyond the first 64 KiB: the whole file decides the encoding.
    people = [p for k in range(200) for p in h.family(v[k % len(v)], 100 + k, 1000 + 3 * k, 3)]
    people[-1] = people[-1].but(nama="ÉLIS SÉTIAWAN")
    data = h.csv_bytes(h.rows_of(people), delimiter=";", encoding="cp1252")
    assert len(data) > 64 * 1024 and data.index(b"\xc9") > 64 * 1024
    return "ansi_late.csv", data, people


@case("utf16_excel_unicode_text", "3508")
def _(eng, d, v):
    people = [p.but(nama="ÉLIS") if i == 0 else p for i, p in enumerate(h.family(v[0], 1, 1, 2))]
    return "unicode.txt", h.csv_bytes(h.rows_of(people), delimiter="\t", encoding="utf-16"), people


@case("quoted_all_multiline", "3509")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 3)
    people[0] = people[0].but(alamat="JL. MAWAR, NO. 3\nRT 1, DEKAT MASJID")
    people[2] = people[2].but(nama="")  # a defect after the two-line record: its line is 5
    return "quoted.csv", h.csv_bytes(h.rows_of(people), quoting=csv.QUOTE_ALL), people


@case("header_variants_title_lines_dotted_codes", "3510")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 2)
    rows = h.rows_of(people)
    for r in rows:
        r["jenis_kelamin"] = "1" if r["jenis_kelamin"] == "L" else "2"
        r["kode_desa"] = f"{r['kode_desa'][:2]}.{r['kode_desa'][2:4]}.{r['kode_desa'][4:6]}.{r['kode_desa'][6:]}"
    data = h.csv_bytes(rows, header=VARIANT_HEADER, title="DATA PEMUTAKHIRAN DTKS;;;", delimiter=";", line_end="\n")
    data = data.replace(b"\n", b"\n\n", 1)  # and a blank line under the title
    return "variants.csv", data, people


# ---------------------------------------------------------------- XLSX
@case("xlsx_title_rows_date_cells", "3511")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 3)
    rows = []
    for p in people:
        r = p.row()
        r["tanggal_lahir"] = date.fromisoformat(r["tanggal_lahir"])
        r["tanggal_verifikasi"] = date.fromisoformat(r["tanggal_verifikasi"])
        r["hubungan_keluarga"] = int(r["hubungan_keluarga"])
        r["pkh"] = 1
        rows.append([r[c] for c in CANONICAL_COLUMNS])
    data = h.xlsx_bytes(
        rows, VARIANT_HEADER, title_rows=[["DATA PEMUTAKHIRAN DTKS KABUPATEN"], ["Putaran 2026-08"], []]
    )
    return "title.xlsx", data, people


@case("xlsx_excel_serial_dates_and_numeric_nik", "3512")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 3)
    rows = []
    for i, p in enumerate(people):
        r = p.row()
        born = date.fromisoformat(r["tanggal_lahir"])
        r["tanggal_lahir"] = (born - date(1899, 12, 30)).days  # a date cell formatted as a number
        r["tanggal_verifikasi"] = SERIAL_2026_08_05
        if i == 2:
            r["nik"] = float(r["nik"])  # typed as a number: Excel has already lost precision
        rows.append([r[c] for c in CANONICAL_COLUMNS])
    return "serial.xlsx", h.xlsx_bytes(rows, list(CANONICAL_COLUMNS)), people


@case("xlsx_named_csv", "3513")
def _(eng, d, v):
    people = h.family(v[0], 1, 1, 2)
    rows = [[p.row()[c] for c in CANONICAL_COLUMNS] for p in people]
    return "really_xlsx.csv", h.xlsx_bytes(rows, list(CANONICAL_COLUMNS)), people


# ---------------------------------------------------------------- dates
DATE_SPELLINGS = [
    "2026-08-05",
    "05-08-2026",
    "05/08/2026",
    "5/8/2026",
    "05.08.2026",
    str(SERIAL_2026_08_05),
    "2026-08-05 00:00:00",
    "2026/08/05",
]
BAD_DATES = ["31-02-2026", "08/31/2026", "2026-13-01", "kemarin", "1776", "05-08-26"]


@case("date_spellings", "3514")
def _(eng, d, v):
    people = [p for k in range(len(DATE_SPELLINGS) + len(BAD_DATES)) for p in h.family(v[0], 10 + k, 10 + k * 2, 1)]
    rows = h.rows_of(people)
    for r, spelled in zip(rows, DATE_SPELLINGS + BAD_DATES):
        r["tanggal_verifikasi"] = spelled
    return "dates.csv", h.csv_bytes(rows), people


# ---------------------------------------------------------------- place names instead of a village code
NAME_HEADER = [c for c in CANONICAL_COLUMNS if c != "kode_desa"] + [
    "Provinsi",
    "Kabupaten/Kota",
    "Kecamatan",
    "Desa/Kelurahan",
]
NAMED = [  # (province, kab/kota, kecamatan, desa, expected village code or reason)
    ("NUSA TENGGARA TIMUR", "KABUPATEN KUPANG", "KUPANG TIMUR", "Babau", "5301061001"),
    ("", "Kab. Kupang", "Kec. Kupang Timur", "DESA PUKDALE", "5301062011"),
    ("", "KUPANG", "kupang timur", "tanah putih", "5301062017"),
    ("", "KABUPATEN KUPANG", "KUPANG TIMUR", "OESAO", "village_name_ambiguous"),  # a kelurahan and a desa
    ("", "KABUPATEN KUPANG", "KUPANG TIMUR", "BABAU BARU", "village_name_unknown"),
    ("", "KOTA KUPANG", "KUPANG TIMUR", "BABAU", "village_name_unknown"),  # the kind must agree
    ("JAWA TIMUR", "KABUPATEN KUPANG", "KUPANG TIMUR", "BABAU", "village_name_unknown"),  # wrong province
]


@case("place_names", "5301")
def _(eng, d, v):
    people = [p for k in range(len(NAMED)) for p in h.family("5301061001", 20 + k, 20 + k, 1)]
    rows = []
    for p, (prov, kab, kec, desa, _) in zip(people, NAMED):
        r = p.row()
        rows.append([r[c] for c in CANONICAL_COLUMNS if c != "kode_desa"] + [prov, kab, kec, desa])
    return "names.xlsx", h.xlsx_bytes(rows, NAME_HEADER), people


# ---------------------------------------------------------------- the run
@pytest.fixture(scope="module")
def batch(module_wh, module_dirs):
    eng = module_wh
    h.create_round(eng)
    built = {}
    for name, spec in CASES.items():
        district = spec["district"]
        file_name, data, people = spec["build"](eng, district, h.villages(eng, district, 3))
        h.land_bytes(module_dirs["landing"], district, file_name, data)
        built[name] = (file_name, people)
    h.run_pipeline(eng, module_dirs)
    found = h.outcomes(eng)
    return {name: (found[file_name], people) for name, (file_name, people) in built.items()}


def _accepted_cleanly(outcome, people):
    assert outcome.status == "merged", (outcome.reject_reason, outcome.reject_detail)
    assert outcome.errors == {}
    assert outcome.rows_in == outcome.rows_accepted == len(people)


@pytest.mark.parametrize(
    "name",
    [
        "comma_utf8",
        "semicolon_ddmmyyyy",
        "pipe_slashes_unquoted",
        "tab_separated",
        "utf8_bom_accents",
        "cp1252_semicolon",
        "cp1252_after_64k",
        "utf16_excel_unicode_text",
        "header_variants_title_lines_dotted_codes",
        "xlsx_title_rows_date_cells",
        "xlsx_named_csv",
    ],
)
def test_format_is_read_and_every_row_accepted(batch, module_wh, name):
    outcome, people = batch[name]
    _accepted_cleanly(outcome, people)
    for p in people:
        stored = h.registry(module_wh, p.nik)
        assert stored is not None and stored["active"]
        assert stored["nama"] == p.nama  # accents decoded in the right encoding
        assert stored["tanggal_lahir"].isoformat() == p.tanggal_lahir
        assert stored["last_verified_on"].isoformat() == "2026-08-05"
        assert stored["kode_desa"] == p.kode_desa  # dotted codes are the same code
        assert stored["jenis_kelamin"] == p.jenis_kelamin  # 1/2 are L/P


def test_cp1252_dash_and_pkh_cells(batch, module_wh):
    _outcome, people = batch["cp1252_semicolon"]
    with module_wh.connect() as conn:
        import sqlalchemy as sa

        alamat = conn.execute(
            sa.text("SELECT alamat FROM registry.household WHERE no_kk = :k"), {"k": people[0].no_kk}
        ).scalar()
    assert alamat == "JL. KARTINI – NO. 5"
    _, xlsx_people = batch["xlsx_title_rows_date_cells"]
    assert h.registry(module_wh, xlsx_people[0].nik)["pkh"] is True  # a numeric 1 cell is the flag 1


def test_quoted_multiline_record_keeps_line_numbers(batch, module_wh):
    outcome, people = batch["quoted_all_multiline"]
    assert outcome.status == "merged" and outcome.rows_accepted == 2
    assert outcome.errors == {3: {"nama_blank"}}
    with module_wh.connect() as conn:
        import sqlalchemy as sa

        line = conn.execute(
            sa.text("SELECT source_line FROM quarantine.row_issue WHERE submission_id = :s"),
            {"s": outcome.submission_id},
        ).scalar()
        alamat = conn.execute(
            sa.text("SELECT alamat FROM registry.household WHERE no_kk = :k"), {"k": people[0].no_kk}
        ).scalar()
    assert line == 5  # header 1, first record 2-3, second 4, third 5
    assert alamat == "JL. MAWAR, NO. 3\nRT 1, DEKAT MASJID"


def test_xlsx_serial_dates_are_dates_and_numeric_nik_is_caught(batch, module_wh):
    outcome, people = batch["xlsx_excel_serial_dates_and_numeric_nik"]
    assert outcome.status == "merged" and outcome.rows_accepted == 2
    assert outcome.errors == {3: {"nik_excel_corrupted"}}
    assert outcome.values[(3, "nik_excel_corrupted")].endswith("e+15")  # as Excel kept it, not repaired
    for p in people[:2]:
        stored = h.registry(module_wh, p.nik)
        assert stored["tanggal_lahir"].isoformat() == p.tanggal_lahir
        assert stored["last_verified_on"].isoformat() == "2026-08-05"


def test_date_spellings(batch):
    outcome, _people = batch["date_spellings"]
    good = range(1, len(DATE_SPELLINGS) + 1)
    bad = range(len(DATE_SPELLINGS) + 1, len(DATE_SPELLINGS) + len(BAD_DATES) + 1)
    assert outcome.status == "merged" and outcome.rows_accepted == len(DATE_SPELLINGS)
    assert dict(outcome.errors.items()) == {row: {"verification_date_invalid"} for row in bad}
    for row, spelled in zip(bad, BAD_DATES):
        assert outcome.values[(row, "verification_date_invalid")] == spelled  # reported as sent
    assert not set(good) & set(outcome.errors)


def test_place_names_map_to_one_village_or_are_a_row_error(batch, module_wh):
    outcome, people = batch["place_names"]
    assert outcome.status == "merged"
    for row, (p, named) in enumerate(zip(people, NAMED), start=1):
        expected = named[-1]
        if expected.isdigit():
            assert row not in outcome.errors, (row, outcome.errors.get(row))
            assert h.registry(module_wh, p.nik)["kode_desa"] == expected
        else:
            assert outcome.errors.get(row) == {expected}, (row, named)
            assert h.registry(module_wh, p.nik) is None
            sent = outcome.values[(row, expected)]
            assert named[3] in sent and named[2] in sent  # the names as sent, for the feedback


def test_every_case_was_archived(batch):
    from pathlib import Path

    for outcome, _ in batch.values():
        assert Path(outcome.archive_path).is_file()
