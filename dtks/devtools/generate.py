"""Seeded, deterministic synthetic data: a baseline registry and district submissions.

`generate()` builds, from the real Kemendagri region codes (idn-area-data),
an existing DTKS registry for the demo districts and then simulates monthly
update rounds: which districts submit, when their files arrive, what the
by-name-by-address lists contain (confirmations, changes, deaths, moves,
births, new households) and which defects districts' exports typically carry.
Every injected defect is listed in ``expected_defects.csv`` so tests and
demos can check that the pipeline quarantines exactly those rows.

Standard library (and ``dtks.workbook``). Same arguments give the same bytes: every random
choice comes from ``random.Random`` instances seeded from ``seed`` and a
purpose string, and every collection is iterated in a fixed order.

Layout written under ``out_dir``::

    baseline/registry.csv                                 the registry before round 1
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>.csv   one submission file (.xlsx for some districts)
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>.manifest.json
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>_v2.csv (+ .manifest.json): resubmission
    expected_defects.csv                                  round_id,kabkota_code,file,file_row,reason_code
    rounds.json                                           the round calendars used

Each landing file's mtime is set to its simulated arrival (manifest
``submitted_at``), which the pipeline takes as the received time when replaying
(``DTKS_ARRIVAL_FROM_MTIME=1``, set by the demo; production uses ctime).

Districts export the way their tools do (``EXPORT_FORMATS``, one per
district, the same every round): comma CSV in UTF-8 with ISO dates;
semicolon CSV with a UTF-8 BOM and DD-MM-YYYY dates; pipe CSV, all quoted,
in Windows-1252 with SIKS-NG header spellings, sex as 1/2 and DD/MM/YYYY
dates; XLSX with a title row, birth dates as date cells and visit dates as
bare Excel serial numbers. The values are the same in every format, so the
answer key does not depend on it. XLSX files are written with the standard
library (``dtks.workbook.plain_sheet_xlsx``, fixed zip times), so the bytes stay deterministic.

Run ``python -m dtks.devtools.generate OUT_DIR [--seed N]`` for the demo data set.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterable, Sequence

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR
from dtks.identifiers import build_kk, build_nik, nik_birth_part
from dtks.rounds import Round, default_round
from dtks.schema import CANONICAL_COLUMNS, HEAD_OF_FAMILY, STATUS_FOUND
from dtks.workbook import plain_sheet_xlsx

# DKI Jakarta, Jawa Timur, NTB, NTT, Sulawesi Selatan: exactly 100 kab/kota.
DEMO_PROVINCES: tuple[str, ...] = ("31", "35", "52", "53", "73")
DEMO_ROUNDS: tuple[str, ...] = ("2026-08", "2026-09", "2026-10")

DEFAULT_REFERENCE_PATH = REFERENCE_DIR / DEFAULT_REFERENCE_EDITION

WIB = timezone(timedelta(hours=7))
BASELINE_LAST_DAY = date(2026, 7, 31)
# "Updated" = visited in the 24 months before the first round opens.
RECENT_FROM = date(2024, 8, 1)
OLDEST_VISIT = date(2015, 1, 1)

ROW_DEFECTS: tuple[str, ...] = (
    "nik_not_16_digits",
    "nik_excel_corrupted",
    "nik_birth_mismatch",
    "nik_duplicate_in_file",
    "nama_blank",
    "village_unknown",
    "village_other_district",
    "verification_date_future",
    "kk_head_count",
    "nik_active_in_other_district",
)
FILE_DEFECTS: tuple[str, ...] = ("file_missing_columns", "file_unreadable", "file_empty")
DEFECT_REASONS: tuple[str, ...] = ROW_DEFECTS + FILE_DEFECTS
EXPECTED_DEFECTS_COLUMNS = ("round_id", "kabkota_code", "file", "file_row", "reason_code")

# How districts export (one per district, fixed across rounds), with relative frequency.
EXPORT_FORMATS: tuple[tuple[str, float], ...] = (
    ("csv", 0.55),               # comma, UTF-8, ISO dates
    ("csv_semicolon", 0.15),     # semicolon, UTF-8 with BOM, DD-MM-YYYY
    ("csv_pipe_cp1252", 0.12),   # pipe, all quoted, Windows-1252, SIKS-NG headers, sex 1/2, DD/MM/YYYY
    ("xlsx_title", 0.18),        # XLSX, title row above the header, date cells and Excel serials
)
# SIKS-NG style header spellings (declared in include/mapping/column_aliases.json).
SIKS_HEADER = {
    "id_dtks": "ID DTKS", "no_kk": "No. KK", "nik": "NIK", "nama": "Nama Lengkap", "jenis_kelamin": "JENIS KELAMIN",
    "tempat_lahir": "Tempat Lahir", "tanggal_lahir": "Tgl Lahir", "hubungan_keluarga": "SHDK",
    "nama_ibu_kandung": "Nama Ibu Kandung", "alamat": "Alamat", "rt": "RT", "rw": "RW",
    "kode_desa": "Kode Desa/Kelurahan", "status_keberadaan": "Status Keberadaan", "tanggal_verifikasi": "Tgl Verval",
    "pkh": "PKH", "bpnt": "BPNT", "pbi": "PBI-JK",
}
_EXCEL_EPOCH = date(1899, 12, 30)

# Relative frequency of row-level defect types (NIK problems dominate in audits).
_DEFECT_WEIGHTS = {
    "nik_not_16_digits": 1.5,
    "nik_excel_corrupted": 1.5,
    "nik_birth_mismatch": 1.5,
    "nik_duplicate_in_file": 1.0,
    "nama_blank": 1.0,
    "village_unknown": 1.0,
    "village_other_district": 1.0,
    "verification_date_future": 1.0,
    "kk_head_count": 0.7,
    "nik_active_in_other_district": 1.0,
}

# Share of districts by update behaviour in the baseline (SMERU, July 2020: 92/319/103 of 514).
_STALE_SHARE = 0.18
_ACTIVE_SHARE = 0.22
_NEVER_SUBMIT_SHARE = 0.08
_SKIP_PROBABILITY = {"stale": 0.5, "partial": 0.06, "active": 0.02}
_LATE_PROBABILITY = {"stale": 0.25, "partial": 0.15, "active": 0.10}
_ROW_DEFECT_FILE_SHARE = 0.40

# --------------------------------------------------------------------------- names

MALE_GIVEN = (
    "MUHAMMAD", "AHMAD", "BUDI", "AGUS", "BAMBANG", "SLAMET", "JOKO", "HENDRA", "RUDI", "DEDI",
    "EKO", "ANDI", "ARIF", "HERI", "IWAN", "YUSUF", "RAHMAT", "SUPRIYADI", "SUGENG", "WAHYU",
    "FAJAR", "RIZKY", "DIMAS", "ILHAM", "HASAN", "ABDUL", "SYAIFUL", "IMAM", "TAUFIK", "YOHANES",
    "PETRUS", "YOSEF", "MARKUS", "FRANSISKUS", "LALU", "ARDI", "SAMSUL", "KASIM", "BAHARUDDIN",
    "MUSTAFA", "AMIR", "HAMZAH", "DANIEL", "SUHARTO", "SUTRISNO", "HARYANTO", "TEGUH", "ANWAR",
    "RIDWAN", "ZAINAL",
)
FEMALE_GIVEN = (
    "SITI", "SRI", "NUR", "DEWI", "RATNA", "YULIANTI", "WAHYUNI", "SUMIATI", "SUPARMI", "ENDANG",
    "RINA", "LESTARI", "ANI", "FITRI", "RAHMAWATI", "MARIA", "YULIANA", "AGUSTINA", "FATIMAH",
    "AISYAH", "KARTINI", "SUNARTI", "PUTRI", "INDAH", "AYU", "NURHAYATI", "HASNAH", "MARLINA",
    "SALMAH", "BAIQ", "MAGDALENA", "ELISABETH", "KRISTINA", "DIAN", "NOVITA", "RISKA", "NABILA",
    "ZAHRA", "AMINAH", "HALIMAH", "ROSITA", "MULYANI", "SULASTRI", "TUTI", "WATI", "YANTI",
    "SUSANTI", "EVI", "LINDA", "MERY",
)
MALE_SECOND = (
    "SANTOSO", "WIJAYA", "SAPUTRA", "HIDAYAT", "KURNIAWAN", "SETIAWAN", "PRASETYO", "NUGROHO",
    "GUNAWAN", "RAHMAN", "HAKIM", "SYAHPUTRA", "HALIM", "FIRMANSYAH", "MALIK", "RAMADHAN",
    "PRATAMA", "SURYADI", "ISKANDAR", "EFENDI",
)
FEMALE_SECOND = (
    "LESTARI", "SAPUTRI", "WULANDARI", "HANDAYANI", "KURNIASIH", "RAHAYU", "PERTIWI", "SARI",
    "AMELIA", "PRATIWI", "PUSPITA", "ANGGRAINI", "MAHARANI", "NINGSIH", "SUSILOWATI",
    "PURNAMASARI", "RAMADHANI", "FEBRIANTI", "OKTAVIANI", "WIDYASTUTI",
)
FAMILY_NAMES = (
    "TEFA", "BANUNAEK", "NDOLU", "LAKA", "RATU", "SERAN", "TAOLIN", "MANAFE", "LODO", "PELLO",
    "DAENG", "SINAGA", "LUBIS", "TAMBUNAN", "WATTIMENA",
)
# Spelling variants: a "name spelling fix" swaps a word for its variant.
SPELLING_VARIANTS = {
    "MUHAMMAD": "MUHAMAD", "MUHAMAD": "MUHAMMAD", "AHMAD": "ACHMAD", "ACHMAD": "AHMAD",
    "SUPRIYADI": "SUPRIADI", "SUPRIADI": "SUPRIYADI", "YULIANTI": "YULIYANTI",
    "YULIYANTI": "YULIANTI", "RAHMAT": "RACHMAT", "RACHMAT": "RAHMAT", "SITI": "SITTI",
    "SITTI": "SITI", "YUSUF": "YUSUP", "YUSUP": "YUSUF", "SYAIFUL": "SAIFUL", "SAIFUL": "SYAIFUL",
    "RIZKY": "RISKI", "RISKI": "RIZKY", "AISYAH": "AISAH", "AISAH": "AISYAH", "TAUFIK": "TAUFIQ",
    "TAUFIQ": "TAUFIK", "FATIMAH": "FATIMA", "FATIMA": "FATIMAH", "SAPUTRA": "SAPUTERA",
    "SAPUTERA": "SAPUTRA", "NURHAYATI": "NURHAYATIE", "NURHAYATIE": "NURHAYATI",
}
STREETS = (
    "MERDEKA", "DIPONEGORO", "SUDIRMAN", "AHMAD YANI", "GAJAH MADA", "PAHLAWAN", "MAWAR",
    "MELATI", "KENANGA", "CEMPAKA", "ANGGREK", "FLAMBOYAN", "KARTINI", "HASANUDDIN",
    "IMAM BONJOL", "PATTIMURA", "CENDRAWASIH", "KAMBOJA", "SEROJA", "TERATAI",
)
HAMLETS = (
    "KRAJAN", "SUMBERSARI", "KARANGANYAR", "SIDOMULYO", "TANJUNG", "MEKAR JAYA", "SUKAMAJU",
    "TIMUR", "BARAT", "SELATAN", "UTARA", "TENGAH", "BARU", "MAKMUR", "SEJAHTERA", "OEBOBO",
    "LOANG BALOQ", "BONTO", "PANAIKANG", "WONOREJO",
)
_HOUSEHOLD_SIZE_WEIGHTS = ((1, 10), (2, 18), (3, 24), (4, 24), (5, 13), (6, 7), (7, 4))


# --------------------------------------------------------------------------- public types


def _calendar_entry(cal: Round) -> dict:
    """One round as written to ``rounds.json``: the fields the generator used to draw arrivals."""
    return {
        "round_id": cal.round_id,
        "opens_on": cal.opens_on.isoformat(),
        "cutoff_on": cal.cutoff_on.isoformat(),
        "grace_days": cal.grace_days,
    }


@dataclass
class GenerationSummary:
    baseline_rows: int
    submissions: int  # data files written under landing/ (resubmissions and broken files included)
    defect_rows: int  # rows of expected_defects.csv
    districts: int
    paths: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- internals


def _undot(code: str) -> str:
    return code.replace(".", "")


def _place_name(regency_name: str) -> str:
    name = regency_name
    for prefix in ("Kabupaten Administrasi ", "Kota Administrasi ", "Kabupaten ", "Kota "):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name.upper()


def _rand_date(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _years(later: date, earlier: date) -> int:
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class _Reference:
    regency_place: dict[str, str]  # kabkota4 -> place name for tempat_lahir (all Indonesia)
    all_regencies: list[str]
    all_kecamatan: list[str]  # 6-digit, all Indonesia
    districts: list[str]  # demo kab/kota, 4-digit, sorted
    district_villages: dict[str, list[str]]  # kabkota4 -> 10-digit village codes
    villages: set[str]  # all 10-digit village codes of the demo provinces


def _load_reference(reference_dir: Path, provinces: Sequence[str]) -> _Reference:
    provinces = tuple(provinces)
    with open(reference_dir / "regencies.csv", newline="", encoding="utf-8") as handle:
        regencies = [(_undot(r["code"]), r["province_code"], r["name"]) for r in csv.DictReader(handle)]
    regency_place = {code: _place_name(name) for code, _, name in regencies}
    districts = sorted(code for code, province, _ in regencies if province in provinces)
    with open(reference_dir / "districts.csv", newline="", encoding="utf-8") as handle:
        all_kecamatan = sorted(_undot(r["code"]) for r in csv.DictReader(handle))
    district_villages: dict[str, list[str]] = {code: [] for code in districts}
    villages: set[str] = set()
    with open(reference_dir / "villages.csv", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            code = row[0]
            if code[:2] not in provinces:
                continue
            code = _undot(code)
            villages.add(code)
            district_villages.setdefault(code[:4], []).append(code)
    for code in districts:
        district_villages[code].sort()
    districts = [code for code in districts if district_villages.get(code)]
    return _Reference(
        regency_place=regency_place,
        all_regencies=sorted(regency_place),
        all_kecamatan=all_kecamatan,
        districts=districts,
        district_villages=district_villages,
        villages=villages,
    )


class _Person:
    __slots__ = ("pid", "nik", "nama", "sex", "tempat", "lahir", "hub", "ibu", "status", "pbi")

    def __init__(self, pid, nik, nama, sex, tempat, lahir, hub, ibu, pbi):
        self.pid = pid
        self.nik = nik
        self.nama = nama
        self.sex = sex  # "L" / "P"
        self.tempat = tempat
        self.lahir = lahir
        self.hub = hub
        self.ibu = ibu
        self.status = STATUS_FOUND
        self.pbi = pbi


class _Household:
    __slots__ = ("kk", "alamat", "rt", "rw", "desa", "verif", "pkh", "bpnt", "members")

    def __init__(self, kk, alamat, rt, rw, desa, verif, pkh, bpnt):
        self.kk = kk
        self.alamat = alamat
        self.rt = rt
        self.rw = rw
        self.desa = desa
        self.verif = verif
        self.pkh = pkh
        self.bpnt = bpnt
        self.members: list[_Person] = []

    def active_members(self) -> list[_Person]:
        return [m for m in self.members if m.status == STATUS_FOUND]


@dataclass
class _District:
    code: str
    is_kota: bool
    behaviour: str  # stale / partial / active
    villages: list[str]  # where its households live
    households: list[_Household] = field(default_factory=list)
    next_pid: int = 1


@dataclass
class _Row:
    values: dict
    person: _Person
    household: _Household
    new_person: bool = False
    new_household: bool = False


def _person_values(p: _Person, h: _Household, *, status: str | None = None,
                   verif: date | None = None, household_values: dict | None = None) -> dict:
    hv = household_values or {
        "no_kk": h.kk, "alamat": h.alamat, "rt": h.rt, "rw": h.rw, "kode_desa": h.desa,
        "pkh": h.pkh, "bpnt": h.bpnt,
    }
    return {
        "id_dtks": p.pid,
        "no_kk": hv["no_kk"],
        "nik": p.nik,
        "nama": p.nama,
        "jenis_kelamin": p.sex,
        "tempat_lahir": p.tempat,
        "tanggal_lahir": p.lahir.isoformat(),
        "hubungan_keluarga": p.hub,
        "nama_ibu_kandung": p.ibu,
        "alamat": hv["alamat"],
        "rt": hv["rt"],
        "rw": hv["rw"],
        "kode_desa": hv["kode_desa"],
        "status_keberadaan": status or p.status,
        "tanggal_verifikasi": (verif or h.verif).isoformat(),
        "pkh": hv["pkh"],
        "bpnt": hv["bpnt"],
        "pbi": p.pbi,
    }


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _day_first(value: str, sep: str) -> str:
    """An ISO date as DD<sep>MM<sep>YYYY (anything else as it is)."""
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return value
    return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year:04d}"


def _excel_serial(value: str) -> int | None:
    try:
        return (date.fromisoformat(value) - _EXCEL_EPOCH).days
    except ValueError:
        return None


def write_submission(path: Path, rows: Sequence[dict], export_format: str, title: str = "") -> None:
    """One district file in the district's export format (the values are the same in every format)."""
    if export_format == "xlsx_title":
        sheet: list[list[object]] = [[title or "DATA PEMUTAKHIRAN DTKS"], [], list(CANONICAL_COLUMNS)]
        for row in rows:
            out: list[object] = []
            for column in CANONICAL_COLUMNS:
                value = row[column]
                if column == "tanggal_lahir" and _excel_serial(value) is not None:
                    out.append(("date", _excel_serial(value)))       # a date cell
                elif column == "tanggal_verifikasi" and _excel_serial(value) is not None:
                    out.append(_excel_serial(value))                 # a date typed as a bare number
                elif column in ("hubungan_keluarga", "status_keberadaan", "pkh", "bpnt", "pbi") and value.isdigit():
                    out.append(int(value))
                else:
                    out.append(value)
            sheet.append(out)
        path.write_bytes(plain_sheet_xlsx(sheet))
        return
    if export_format == "csv":
        _write_csv(path, CANONICAL_COLUMNS, ([r[c] for c in CANONICAL_COLUMNS] for r in rows))
        return
    buf = io.StringIO()
    if export_format == "csv_semicolon":
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerow(CANONICAL_COLUMNS)
        for r in rows:
            writer.writerow([_day_first(r[c], "-") if c in ("tanggal_lahir", "tanggal_verifikasi") else r[c]
                             for c in CANONICAL_COLUMNS])
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    elif export_format == "csv_pipe_cp1252":
        writer = csv.writer(buf, delimiter="|", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow([SIKS_HEADER[c] for c in CANONICAL_COLUMNS])
        sex = {"L": "1", "P": "2"}
        for r in rows:
            writer.writerow([_day_first(r[c], "/") if c in ("tanggal_lahir", "tanggal_verifikasi")
                             else sex.get(r[c], r[c]) if c == "jenis_kelamin" else r[c]
                             for c in CANONICAL_COLUMNS])
        path.write_bytes(buf.getvalue().encode("cp1252"))
    else:  # pragma: no cover
        raise ValueError(export_format)


class _Generator:
    def __init__(self, seed: int, ref: _Reference, households_per_district: int, defect_rate: float):
        self.seed = seed
        self.ref = ref
        self.households_per_district = households_per_district
        self.defect_rate = defect_rate
        self.nik_serial: dict[str, int] = {}
        self.kk_serial: dict[str, int] = {}
        self.defect_counts = {name: 0 for name in ROW_DEFECTS}
        self.districts: dict[str, _District] = {}
        self.expected: list[tuple[str, str, str, int, str]] = []
        self.submissions = 0

    def rng(self, *purpose) -> random.Random:
        return random.Random("/".join([str(self.seed), *map(str, purpose)]))

    def export_format(self, code: str) -> str:
        """How a district exports (its own random stream: the other choices are unchanged)."""
        names = [name for name, _ in EXPORT_FORMATS]
        return self.rng("format", code).choices(names, weights=[w for _, w in EXPORT_FORMATS])[0]

    # -- identifiers -------------------------------------------------------

    def new_nik(self, kecamatan: str, born: date, female: bool) -> str:
        prefix = kecamatan + nik_birth_part(born, female)
        serial = self.nik_serial.get(prefix, 0) + 1
        self.nik_serial[prefix] = serial
        return build_nik(kecamatan, born, female, serial)

    def new_kk(self, kecamatan: str, issued: date) -> str:
        prefix = kecamatan + issued.strftime("%d%m%y")
        serial = self.kk_serial.get(prefix, 0) + 1
        self.kk_serial[prefix] = serial
        return build_kk(kecamatan, issued, serial)

    def new_pid(self, district: _District) -> str:
        pid = f"DT{district.code}{district.next_pid:07d}"
        district.next_pid += 1
        return pid

    # -- people and households ----------------------------------------------

    @staticmethod
    def name(rng: random.Random, female: bool) -> str:
        given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        if given == "MUHAMMAD" and rng.random() < 0.3:
            given = "MUHAMAD"
        elif given == "AHMAD" and rng.random() < 0.3:
            given = "ACHMAD"
        roll = rng.random()
        if roll < 0.45:
            return given
        if roll < 0.9:
            second = rng.choice(FEMALE_SECOND if female else MALE_SECOND)
            return given if second == given else f"{given} {second}"
        return f"{given} {rng.choice(FAMILY_NAMES)}"

    def person(self, rng: random.Random, district: _District, village: str, born: date,
               female: bool, hub: str, ibu: str, pbi: str, migrant_share: float = 0.10) -> _Person:
        kecamatan = village[:6]
        if rng.random() < migrant_share:
            while True:
                kecamatan = rng.choice(self.ref.all_kecamatan)
                if kecamatan[:4] != district.code:
                    break
        if rng.random() < 0.8:
            tempat = self.ref.regency_place.get(kecamatan[:4]) or self.ref.regency_place[district.code]
        else:
            tempat = self.ref.regency_place[rng.choice(self.ref.all_regencies)]
        return _Person(
            pid=self.new_pid(district),
            nik=self.new_nik(kecamatan, born, female),
            nama=self.name(rng, female),
            sex="P" if female else "L",
            tempat=tempat,
            lahir=born,
            hub=hub,
            ibu=ibu,
            pbi=pbi,
        )

    @staticmethod
    def born_at_age(rng: random.Random, as_of: date, age: int) -> date:
        return as_of - timedelta(days=int(age * 365.25) + rng.randint(0, 364))

    @staticmethod
    def address(rng: random.Random, village: str) -> tuple[str, str, str]:
        if village[6] == "1":  # kelurahan: streets
            alamat = f"JL. {rng.choice(STREETS)} NO. {rng.randint(1, 150)}"
        else:  # desa: hamlets
            alamat = f"DUSUN {rng.choice(HAMLETS)}"
        return alamat, f"{rng.randint(1, 15):03d}", f"{rng.randint(1, 10):03d}"

    def household(self, rng: random.Random, district: _District, village: str, visit: date,
                  kk_issued_from: date) -> _Household:
        """A new household as found at a visit on `visit`; all dates <= visit."""
        size = rng.choices([s for s, _ in _HOUSEHOLD_SIZE_WEIGHTS],
                           weights=[w for _, w in _HOUSEHOLD_SIZE_WEIGHTS])[0]
        head_age = rng.randint(25, 85) if size == 1 else rng.randint(21, 72)
        head_female = rng.random() < (0.5 if size == 1 else 0.12)
        pkh = "1" if rng.random() < 0.25 else "0"
        bpnt = "1" if rng.random() < (0.7 if pkh == "1" else 0.4) else "0"
        base_pbi = "1" if rng.random() < 0.6 else "0"

        def pbi() -> str:
            return base_pbi if rng.random() < 0.9 else ("0" if base_pbi == "1" else "1")

        head_born = self.born_at_age(rng, visit, head_age)
        issued_from = max(kk_issued_from, _add_years(head_born, 17))
        issued = _rand_date(rng, min(issued_from, visit), visit)
        alamat, rt, rw = self.address(rng, village)
        h = _Household(self.new_kk(village[:6], issued), alamat, rt, rw, village, visit, pkh, bpnt)

        head = self.person(rng, district, village, head_born, head_female, HEAD_OF_FAMILY,
                           self.name(rng, True), pbi())
        h.members.append(head)
        remaining = size - 1
        mother_name = head.nama if head_female else None
        if remaining and rng.random() < (0.1 if head_female else 0.9):
            gap = rng.randint(-3, 8) if head_female else rng.randint(-8, 3)  # husbands a bit older
            spouse_age = max(18, head_age + gap)
            spouse = self.person(rng, district, village, self.born_at_age(rng, visit, spouse_age),
                                 not head_female, "2", self.name(rng, True), pbi())
            h.members.append(spouse)
            remaining -= 1
            if not head_female:
                mother_name = spouse.nama
        if remaining and head_age < 58 and rng.random() < 0.12:
            parent_age = min(95, head_age + rng.randint(20, 32))
            h.members.append(self.person(rng, district, village, self.born_at_age(rng, visit, parent_age),
                                         rng.random() < 0.7, "6", self.name(rng, True), pbi()))
            remaining -= 1
        children = []
        max_child_age = max(0, min(head_age - 18, 30))
        for _ in range(remaining):
            roll = rng.random()
            if head_age > 55 and roll < 0.2:
                hub, age, ibu = "5", rng.randint(0, 12), self.name(rng, True)
            elif roll < 0.04:
                hub, age, ibu = "8", rng.randint(5, 60), self.name(rng, True)
            else:
                hub, age = "3", rng.randint(0, max_child_age)
                ibu = mother_name or self.name(rng, True)
            children.append((age, hub, ibu))
        children.sort(key=lambda item: -item[0])
        for age, hub, ibu in children:
            h.members.append(self.person(rng, district, village, self.born_at_age(rng, visit, age),
                                         rng.random() < 0.5, hub, ibu, pbi()))
        return h

    # -- baseline -------------------------------------------------------------

    def build_baseline(self) -> None:
        codes = list(self.ref.districts)
        rng = self.rng("behaviour")
        order = codes[:]
        rng.shuffle(order)
        n_stale = round(len(codes) * _STALE_SHARE)
        n_active = round(len(codes) * _ACTIVE_SHARE)
        behaviour = {}
        for i, code in enumerate(order):
            behaviour[code] = "stale" if i < n_stale else ("active" if i < n_stale + n_active else "partial")

        for code in codes:
            rng = self.rng("baseline", code)
            is_kota = int(code[2:4]) >= 71
            factor = rng.uniform(1.2, 2.0) if is_kota else rng.uniform(0.5, 1.5)
            n_households = max(1, round(self.households_per_district * factor))
            all_villages = self.ref.district_villages[code]
            n_villages = min(len(all_villages), rng.randint(5, 20))
            villages = sorted(rng.sample(all_villages, n_villages))
            district = _District(code=code, is_kota=is_kota, behaviour=behaviour[code], villages=villages)

            kind = behaviour[code]
            if kind == "stale":
                recent = set()
            else:
                share = rng.uniform(0.05, 0.45) if kind == "partial" else rng.uniform(0.65, 0.95)
                count = int(share * n_households)
                if kind == "active":
                    count = max(count, n_households // 2 + 1)
                recent = set(rng.sample(range(n_households), min(count, n_households)))
            for i in range(n_households):
                if kind == "stale":
                    visit = _rand_date(rng, OLDEST_VISIT, date(2017, 12, 31))
                elif i in recent:
                    visit = _rand_date(rng, RECENT_FROM, BASELINE_LAST_DAY)
                else:
                    visit = _rand_date(rng, OLDEST_VISIT, RECENT_FROM - timedelta(days=1))
                village = rng.choice(villages)
                district.households.append(
                    self.household(rng, district, village, visit, kk_issued_from=date(2005, 1, 1)))
            self.districts[code] = district

    def write_baseline(self, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        for code in sorted(self.districts):
            for h in self.districts[code].households:
                for p in h.members:
                    values = _person_values(p, h)
                    rows.append([values[c] for c in CANONICAL_COLUMNS])
        _write_csv(path, CANONICAL_COLUMNS, rows)
        return len(rows)

    # -- a district's update ------------------------------------------------------

    def build_update(self, rng: random.Random, district: _District, cal: Round,
                     arrival: datetime) -> list[_Row]:
        """The intended (clean) rows of a district's submission; state is not touched."""
        households = [h for h in district.households if h.active_members()]
        window_end = arrival.date() - timedelta(days=1)
        window_start = cal.opens_on - timedelta(days=30)
        rows: list[_Row] = []
        if households:
            k = max(1, round(len(households) * rng.uniform(0.2, 0.4)))
            picked = sorted(rng.sample(range(len(households)), min(k, len(households))))
        else:
            picked = []
        for index in picked:
            h = households[index]
            start = max(h.verif + timedelta(days=1), window_start)
            visit = _rand_date(rng, start, window_end) if start <= window_end else max(h.verif, window_end)
            hv = {"no_kk": h.kk, "alamat": h.alamat, "rt": h.rt, "rw": h.rw, "kode_desa": h.desa,
                  "pkh": h.pkh, "bpnt": h.bpnt}
            roll = rng.random()
            if roll < 0.05:  # moved within the district
                if rng.random() < 0.5:
                    hv["kode_desa"] = rng.choice(self.ref.district_villages[district.code])
                hv["alamat"], hv["rt"], hv["rw"] = self.address(rng, hv["kode_desa"])
            elif roll < 0.12:  # programme flags changed
                key = rng.choice(("pkh", "bpnt"))
                hv[key] = "0" if hv[key] == "1" else "1"
            whole_moved = rng.random() < 0.01
            members = h.active_members()
            names = {m.pid: m.nama for m in members}
            pbis = {m.pid: m.pbi for m in members}
            if rng.random() < 0.05:  # name spelling fixed to match the KTP
                fixable = [m for m in members if any(w in SPELLING_VARIANTS for w in m.nama.split())]
                if fixable:
                    m = rng.choice(fixable)
                    names[m.pid] = " ".join(SPELLING_VARIANTS.get(w, w) for w in m.nama.split())
            if roll >= 0.05 and roll < 0.12 and rng.random() < 0.5:
                m = rng.choice(members)
                pbis[m.pid] = "0" if pbis[m.pid] == "1" else "1"
            single = len(members) == 1
            for m in members:
                status = STATUS_FOUND
                age = _years(visit, m.lahir)
                if whole_moved:
                    status = "2"
                elif m.hub != HEAD_OF_FAMILY or single:
                    if rng.random() < 0.004 + (0.05 if age >= 65 else 0.0):
                        status = "3"
                    elif m.hub != HEAD_OF_FAMILY and 17 <= age <= 40 and rng.random() < 0.04:
                        status = "2"
                    elif m.hub != HEAD_OF_FAMILY and rng.random() < 0.003:
                        status = "4"
                values = _person_values(m, h, status=status, verif=visit, household_values=hv)
                values["nama"] = names[m.pid]
                values["pbi"] = pbis[m.pid]
                rows.append(_Row(values, m, h))
            if not whole_moved:
                mothers = [m for m in members if m.sex == "P" and m.hub in ("1", "2")
                           and 18 <= _years(visit, m.lahir) <= 44]
                if mothers and rng.random() < 0.08:
                    mother = mothers[0]
                    born = _rand_date(rng, visit - timedelta(days=300), visit - timedelta(days=7))
                    born = max(born, _add_years(mother.lahir, 18))
                    female = rng.random() < 0.5
                    child = _Person(
                        pid=self.new_pid(district),
                        nik=self.new_nik(hv["kode_desa"][:6], born, female),
                        nama=self.name(rng, female),
                        sex="P" if female else "L",
                        tempat=self.ref.regency_place[district.code],
                        lahir=born,
                        hub="3",
                        ibu=mother.nama,
                        pbi=mother.pbi,
                    )
                    values = _person_values(child, h, status=STATUS_FOUND, verif=visit, household_values=hv)
                    rows.append(_Row(values, child, h, new_person=True))
        # A few newly registered households.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = min(window_start, window_end)
            visit = _rand_date(rng, start, window_end)
            village = rng.choice(district.villages)
            h = self.household(rng, district, village, visit, kk_issued_from=visit - timedelta(days=365))
            for m in h.members:
                rows.append(_Row(_person_values(m, h), m, h, new_person=True, new_household=True))
        return rows

    @staticmethod
    def apply(district: _District, rows: list[_Row], defective: set[int]) -> None:
        """Merge the clean rows into the generator's registry state."""
        new_households: dict[int, tuple[_Household, list[_Row]]] = {}
        touched: set[int] = set()
        for i, row in enumerate(rows):
            if row.new_household:
                entry = new_households.setdefault(id(row.household), (row.household, []))
                if i not in defective:
                    entry[1].append(row)
                continue
            if i in defective:
                continue
            h, v = row.household, row.values
            if id(h) not in touched:
                touched.add(id(h))
                h.alamat, h.rt, h.rw, h.desa = v["alamat"], v["rt"], v["rw"], v["kode_desa"]
                h.pkh, h.bpnt = v["pkh"], v["bpnt"]
                h.verif = date.fromisoformat(v["tanggal_verifikasi"])
            p = row.person
            if row.new_person:
                h.members.append(p)
            p.nama, p.status, p.pbi = v["nama"], v["status_keberadaan"], v["pbi"]
        for h, clean in new_households.values():
            if not any(r.person.hub == HEAD_OF_FAMILY for r in clean):
                continue  # the head row was quarantined: the family is not registered yet
            h.members = [r.person for r in clean]
            district.households.append(h)

    # -- defects ------------------------------------------------------------------

    def defect_order(self, rng: random.Random) -> list[str]:
        """Defect types, least represented (by weight) first: coverage of every type."""
        keyed = [((self.defect_counts[t] + 1) / _DEFECT_WEIGHTS[t], rng.random(), t) for t in ROW_DEFECTS]
        return [t for _, _, t in sorted(keyed)]

    def inject(self, rng: random.Random, district: _District, rows: list[_Row], arrival: datetime,
               n_events: int, pool: list[tuple[_Person, _Household]], used_pool: set[str]
               ) -> tuple[list[tuple[dict, str | None]], set[int]]:
        """Apply n_events defects to copies of rows. Returns the file rows and the defective indices."""
        values = [dict(r.values) for r in rows]
        reasons: dict[int, str] = {}
        inserts: dict[int, list[dict]] = {}  # after row index -> inserted rows
        household_rows: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            household_rows.setdefault(id(r.household), []).append(i)

        # Households whose head leaves in this file (e.g. the whole family moved): a defect on another
        # member would keep that member active without a head, which the checks rightly report.
        head_leaves = {id(r.household) for r in rows
                       if r.values["hubungan_keluarga"] == HEAD_OF_FAMILY and r.values["status_keberadaan"] != STATUS_FOUND}

        def free_existing() -> list[int]:
            return [i for i, r in enumerate(rows) if i not in reasons and not r.new_person
                    and not (id(r.household) in head_leaves and r.values["hubungan_keluarga"] != HEAD_OF_FAMILY)]

        for _ in range(n_events):
            for kind in self.defect_order(rng):
                if self._inject_one(kind, rng, district, rows, values, reasons, inserts,
                                    household_rows, free_existing(), arrival, pool, used_pool):
                    self.defect_counts[kind] += 1
                    break

        out: list[tuple[dict, str | None]] = []
        for i, v in enumerate(values):
            out.append((v, reasons.get(i)))
            for extra in inserts.get(i, []):
                out.append((extra, "nik_active_in_other_district"))
        return out, set(reasons)

    def _inject_one(self, kind, rng, district, rows, values, reasons, inserts, household_rows,
                    free, arrival, pool, used_pool) -> bool:
        if kind == "kk_head_count":
            candidates = []
            for indices in household_rows.values():
                first = rows[indices[0]]
                if (first.new_household or len(indices) < 2 or indices[-1] in inserts
                        or any(i in reasons for i in indices)):
                    continue
                if any(values[i]["hubungan_keluarga"] != HEAD_OF_FAMILY for i in indices):
                    candidates.append(indices)
            if not candidates:
                return False
            indices = rng.choice(candidates)
            others = [i for i in indices if values[i]["hubungan_keluarga"] != HEAD_OF_FAMILY]
            found = [i for i in others if values[i]["status_keberadaan"] == STATUS_FOUND]
            target = rng.choice(found or others)
            values[target]["hubungan_keluarga"] = HEAD_OF_FAMILY
            for i in indices:
                reasons[i] = kind
            return True
        if kind == "nik_duplicate_in_file":
            pairs = [(a, b) for a in free for b in free
                     if a != b and values[a]["jenis_kelamin"] == values[b]["jenis_kelamin"]
                     and rows[a].household is not rows[b].household]
            if not pairs:
                return False
            a, b = rng.choice(pairs)
            values[b]["nik"] = values[a]["nik"]
            values[b]["tanggal_lahir"] = values[a]["tanggal_lahir"]  # so only the duplicate is wrong
            reasons[a] = reasons[b] = kind
            return True
        if kind == "nik_active_in_other_district":
            available = [(p, h) for p, h in pool if p.nik not in used_pool]
            hosts = [indices for indices in household_rows.values() if not rows[indices[0]].new_household
                     and not any(reasons.get(i) == "kk_head_count" for i in indices)
                     and any(values[i]["status_keberadaan"] == STATUS_FOUND for i in indices)]
            if not available or not hosts:
                return False
            other, other_h = rng.choice(available)
            used_pool.add(other.nik)
            host = rng.choice(hosts)
            template = values[host[0]]
            extra = _person_values(other, other_h)
            for key in ("no_kk", "alamat", "rt", "rw", "kode_desa", "tanggal_verifikasi", "pkh", "bpnt"):
                extra[key] = template[key]
            extra["id_dtks"] = self.new_pid(district)
            extra["hubungan_keluarga"] = "8"  # famili lain
            extra["status_keberadaan"] = STATUS_FOUND
            inserts.setdefault(host[-1], []).append(extra)
            return True
        if not free:
            return False
        i = rng.choice(free)
        v = values[i]
        if kind == "nik_not_16_digits":
            nik = v["nik"]
            pos = rng.randint(0, 15)
            if rng.random() < 0.5:
                v["nik"] = nik[:pos] + nik[pos + 1:]
            else:
                v["nik"] = nik[:pos] + str(rng.randint(0, 9)) + nik[pos:]
        elif kind == "nik_excel_corrupted":
            v["nik"] = f"{int(v['nik']):.5E}" if rng.random() < 0.6 else v["nik"] + ".0"
        elif kind == "nik_birth_mismatch":
            born = date.fromisoformat(v["tanggal_lahir"])
            v["tanggal_lahir"] = (born - timedelta(days=rng.randint(1, 400))).isoformat()
        elif kind == "nama_blank":
            v["nama"] = ""
        elif kind == "village_unknown":
            kecamatan = v["kode_desa"][:6]
            for suffix in range(9999, 999, -1):
                code = f"{kecamatan}{suffix}"
                if code not in self.ref.villages:
                    v["kode_desa"] = code
                    break
        elif kind == "village_other_district":
            others = [c for c in self.ref.districts if c != district.code]
            if not others:
                return False
            v["kode_desa"] = rng.choice(self.ref.district_villages[rng.choice(others)])
        elif kind == "verification_date_future":
            v["tanggal_verifikasi"] = (arrival.date() + timedelta(days=rng.randint(30, 200))).isoformat()
        else:  # pragma: no cover
            raise ValueError(kind)
        reasons[i] = kind
        return True

    # -- rounds -------------------------------------------------------------------

    def run_rounds(self, calendars: list[Round], landing: Path) -> None:
        codes = sorted(self.districts)
        rng = self.rng("never")
        stale = [c for c in codes if self.districts[c].behaviour == "stale"]
        partial = [c for c in codes if self.districts[c].behaviour == "partial"]
        n_never = max(1, round(len(codes) * _NEVER_SUBMIT_SHARE)) if len(codes) >= 3 else 0
        from_stale = min(len(stale), -(-n_never * 6 // 10))
        never = set(rng.sample(stale, from_stale))
        never |= set(rng.sample(partial, min(len(partial), n_never - from_stale)))
        file_defect_cycle = 0

        for round_index, cal in enumerate(calendars):
            rng = self.rng("round", cal.round_id)
            submitters: list[str] = []
            for code in codes:
                skip = rng.random() < _SKIP_PROBABILITY[self.districts[code].behaviour]
                if code not in never and not skip:
                    submitters.append(code)
            arrivals: dict[str, datetime] = {}
            for code in submitters:
                late = rng.random() < _LATE_PROBABILITY[self.districts[code].behaviour]
                if late and cal.grace_days > 0:
                    day = cal.cutoff_on + timedelta(days=rng.randint(1, cal.grace_days))
                else:
                    day = _rand_date(rng, cal.opens_on, cal.cutoff_on)
                arrivals[code] = datetime.combine(
                    day, time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)), WIB)

            # Whole-file defects: a few per round, the three kinds in turn.
            n_file_defects = min(len(submitters) // 4, rng.randint(2, 3))
            file_defects = {}
            for code in rng.sample(submitters, n_file_defects):
                file_defects[code] = FILE_DEFECTS[file_defect_cycle % len(FILE_DEFECTS)]
                file_defect_cycle += 1
            row_defect_files = {c for c in submitters
                                if c not in file_defects and rng.random() < _ROW_DEFECT_FILE_SHARE}
            resubmit = {c for c in submitters
                        if (c in file_defects and rng.random() < 0.6)
                        or (c in row_defect_files and rng.random() < 0.07)}

            # People of districts that do not submit this round: their records stay put.
            quiet = [c for c in codes if c not in arrivals]
            pool = [(p, h) for c in quiet for h in self.districts[c].households for p in h.active_members()]
            used_pool: set[str] = set()

            for code in submitters:
                district = self.districts[code]
                drng = self.rng("submission", cal.round_id, code)
                arrival = arrivals[code]
                rows = self.build_update(drng, district, cal, arrival)
                folder = landing / cal.round_id / code
                folder.mkdir(parents=True, exist_ok=True)
                stem = f"dtks_{code}_{cal.round_id}"
                export = self.export_format(code)
                ext = ".xlsx" if export.startswith("xlsx") and code not in file_defects else ".csv"
                title = f"DATA PEMUTAKHIRAN DTKS {code} PUTARAN {cal.round_id}"
                manifest = {
                    "round_id": cal.round_id,
                    "kabkota_code": code,
                    "file": f"{stem}{ext}",
                    "musdes_ref": f"BA-MUSDES/{code}/{cal.round_id}/{drng.randint(1, 250):03d}",
                    "pengesahan_no": f"400.9/{drng.randint(10, 999)}/KPTS/{code}/{cal.opens_on.year}",
                    "pengesahan_date": (arrival.date() - timedelta(days=drng.randint(1, 5))).isoformat(),
                    "submitted_at": arrival.isoformat(),
                }
                data_path = folder / manifest["file"]
                defective: set[int] = set()
                rejected = False
                if code in file_defects:
                    kind = file_defects[code]
                    rejected = True
                    if kind == "file_empty":
                        data_path.write_bytes(b"")
                    elif kind == "file_unreadable":
                        blob = drng.randbytes(drng.randint(600, 3000))
                        data_path.write_bytes(b"\x00\x81\xfe\xff" + blob)
                    else:  # file_missing_columns
                        header = [c for c in CANONICAL_COLUMNS if c != "nik"]
                        _write_csv(data_path, header, ([r.values[c] for c in header] for r in rows))
                    self.expected.append((cal.round_id, code, data_path.name, 0, kind))
                else:
                    if code in row_defect_files:
                        n_events = max(1, round(self.defect_rate * len(rows) * drng.uniform(0.6, 1.4)))
                        file_rows, defective = self.inject(drng, district, rows, arrival, n_events,
                                                           pool, used_pool)
                    else:
                        file_rows = [(r.values, None) for r in rows]
                    write_submission(data_path, [v for v, _ in file_rows], export, title)
                    for number, (_, reason) in enumerate(file_rows, start=1):
                        if reason:
                            self.expected.append((cal.round_id, code, data_path.name, number, reason))
                self._finish_file(folder, data_path, manifest, arrival)

                if code in resubmit:  # a corrected file a few days later: the intended rows, clean
                    arrival2 = arrival + timedelta(days=drng.randint(1, 4), hours=drng.randint(0, 6))
                    # still within the round (before the end of its last grace day, WIB)
                    closes = datetime.combine(cal.cutoff_on + timedelta(days=cal.grace_days + 1), time(0), WIB)
                    arrival2 = min(arrival2, closes - timedelta(minutes=30))
                    ext2 = ".xlsx" if export.startswith("xlsx") else ".csv"
                    manifest2 = dict(manifest, file=f"{stem}_v2{ext2}", submitted_at=arrival2.isoformat())
                    data2 = folder / manifest2["file"]
                    write_submission(data2, [r.values for r in rows], export, title)
                    self._finish_file(folder, data2, manifest2, arrival2)
                    self.apply(district, rows, set())
                elif not rejected:
                    self.apply(district, rows, defective)

    def _finish_file(self, folder: Path, data_path: Path, manifest: dict, arrival: datetime) -> None:
        manifest_path = folder / f"{data_path.stem}.manifest.json"
        _write_json(manifest_path, manifest)
        stamp = arrival.timestamp()
        os.utime(data_path, (stamp, stamp))
        os.utime(manifest_path, (stamp, stamp))
        self.submissions += 1


# --------------------------------------------------------------------------- entry point


def generate(
    out_dir: Path,
    seed: int = 20260801,
    provinces: Sequence[str] = DEMO_PROVINCES,
    rounds: Sequence[str | Round] = DEMO_ROUNDS,
    households_per_district: int = 60,
    defect_rate: float = 0.03,
    reference_dir: Path = DEFAULT_REFERENCE_PATH,
) -> GenerationSummary:
    """Write the baseline registry, the landing files of every round and the answer key."""
    out_dir = Path(out_dir)
    calendars = [r if isinstance(r, Round) else default_round(r) for r in rounds]
    ref = _load_reference(Path(reference_dir), provinces)
    gen = _Generator(seed, ref, households_per_district, defect_rate)

    baseline_path = out_dir / "baseline" / "registry.csv"
    landing = out_dir / "landing"
    for cal in calendars:  # re-runs overwrite: clear what this run writes
        if (landing / cal.round_id).exists():
            shutil.rmtree(landing / cal.round_id)
    landing.mkdir(parents=True, exist_ok=True)

    gen.build_baseline()
    baseline_rows = gen.write_baseline(baseline_path)
    gen.run_rounds(calendars, landing)

    expected_path = out_dir / "expected_defects.csv"
    _write_csv(expected_path, EXPECTED_DEFECTS_COLUMNS,
               ([r, k, f, str(n), reason] for r, k, f, n, reason in sorted(gen.expected)))
    rounds_path = out_dir / "rounds.json"
    _write_json(rounds_path, [_calendar_entry(cal) for cal in calendars])

    return GenerationSummary(
        baseline_rows=baseline_rows,
        submissions=gen.submissions,
        defect_rows=len(gen.expected),
        districts=len(gen.districts),
        paths={
            "baseline": str(baseline_path),
            "landing": str(landing),
            "expected_defects": str(expected_path),
            "rounds": str(rounds_path),
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the synthetic DTKS demo data set.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=20260801)
    parser.add_argument("--households-per-district", type=int, default=60)
    parser.add_argument("--defect-rate", type=float, default=0.03)
    args = parser.parse_args(argv)
    summary = generate(args.out_dir, seed=args.seed,
                       households_per_district=args.households_per_district,
                       defect_rate=args.defect_rate)
    print(json.dumps({
        "baseline_rows": summary.baseline_rows,
        "submissions": summary.submissions,
        "defect_rows": summary.defect_rows,
        "districts": summary.districts,
        "paths": summary.paths,
    }, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
