"""The demo population's building blocks: names, the region reference, people, households and districts.

Names and address words are drawn from fixed pools; region codes come from
the real Kemendagri reference (idn-area-data). ``person_values`` is one
person's row as a district file or the baseline carries it. Used by
``dtks.devtools.population`` (which draws and changes them) and the generator.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from pathlib import Path

from dtks.schema import STATUS_FOUND

WIB = timezone(timedelta(hours=7))
BASELINE_LAST_DAY = date(2026, 7, 31)
# "Updated" = visited in the 24 months before the first round opens.
RECENT_FROM = date(2024, 8, 1)
OLDEST_VISIT = date(2015, 1, 1)

# Share of districts by update behaviour in the baseline (SMERU, July 2020: 92/319/103 of 514).
STALE_SHARE = 0.18
ACTIVE_SHARE = 0.22

# --------------------------------------------------------------------------- names
MALE_GIVEN = (
    "MUHAMMAD",
    "AHMAD",
    "BUDI",
    "AGUS",
    "BAMBANG",
    "SLAMET",
    "JOKO",
    "HENDRA",
    "RUDI",
    "DEDI",
    "EKO",
    "ANDI",
    "ARIF",
    "HERI",
    "IWAN",
    "YUSUF",
    "RAHMAT",
    "SUPRIYADI",
    "SUGENG",
    "WAHYU",
    "FAJAR",
    "RIZKY",
    "DIMAS",
    "ILHAM",
    "HASAN",
    "ABDUL",
    "SYAIFUL",
    "IMAM",
    "TAUFIK",
    "YOHANES",
    "PETRUS",
    "YOSEF",
    "MARKUS",
    "FRANSISKUS",
    "LALU",
    "ARDI",
    "SAMSUL",
    "KASIM",
    "BAHARUDDIN",
    "MUSTAFA",
    "AMIR",
    "HAMZAH",
    "DANIEL",
    "SUHARTO",
    "SUTRISNO",
    "HARYANTO",
    "TEGUH",
    "ANWAR",
    "RIDWAN",
    "ZAINAL",
)
FEMALE_GIVEN = (
    "SITI",
    "SRI",
    "NUR",
    "DEWI",
    "RATNA",
    "YULIANTI",
    "WAHYUNI",
    "SUMIATI",
    "SUPARMI",
    "ENDANG",
    "RINA",
    "LESTARI",
    "ANI",
    "FITRI",
    "RAHMAWATI",
    "MARIA",
    "YULIANA",
    "AGUSTINA",
    "FATIMAH",
    "AISYAH",
    "KARTINI",
    "SUNARTI",
    "PUTRI",
    "INDAH",
    "AYU",
    "NURHAYATI",
    "HASNAH",
    "MARLINA",
    "SALMAH",
    "BAIQ",
    "MAGDALENA",
    "ELISABETH",
    "KRISTINA",
    "DIAN",
    "NOVITA",
    "RISKA",
    "NABILA",
    "ZAHRA",
    "AMINAH",
    "HALIMAH",
    "ROSITA",
    "MULYANI",
    "SULASTRI",
    "TUTI",
    "WATI",
    "YANTI",
    "SUSANTI",
    "EVI",
    "LINDA",
    "MERY",
)
MALE_SECOND = (
    "SANTOSO",
    "WIJAYA",
    "SAPUTRA",
    "HIDAYAT",
    "KURNIAWAN",
    "SETIAWAN",
    "PRASETYO",
    "NUGROHO",
    "GUNAWAN",
    "RAHMAN",
    "HAKIM",
    "SYAHPUTRA",
    "HALIM",
    "FIRMANSYAH",
    "MALIK",
    "RAMADHAN",
    "PRATAMA",
    "SURYADI",
    "ISKANDAR",
    "EFENDI",
)
FEMALE_SECOND = (
    "LESTARI",
    "SAPUTRI",
    "WULANDARI",
    "HANDAYANI",
    "KURNIASIH",
    "RAHAYU",
    "PERTIWI",
    "SARI",
    "AMELIA",
    "PRATIWI",
    "PUSPITA",
    "ANGGRAINI",
    "MAHARANI",
    "NINGSIH",
    "SUSILOWATI",
    "PURNAMASARI",
    "RAMADHANI",
    "FEBRIANTI",
    "OKTAVIANI",
    "WIDYASTUTI",
)
FAMILY_NAMES = (
    "TEFA",
    "BANUNAEK",
    "NDOLU",
    "LAKA",
    "RATU",
    "SERAN",
    "TAOLIN",
    "MANAFE",
    "LODO",
    "PELLO",
    "DAENG",
    "SINAGA",
    "LUBIS",
    "TAMBUNAN",
    "WATTIMENA",
)
# Spelling variants: a "name spelling fix" swaps a word for its variant.
SPELLING_VARIANTS = {
    "MUHAMMAD": "MUHAMAD",
    "MUHAMAD": "MUHAMMAD",
    "AHMAD": "ACHMAD",
    "ACHMAD": "AHMAD",
    "SUPRIYADI": "SUPRIADI",
    "SUPRIADI": "SUPRIYADI",
    "YULIANTI": "YULIYANTI",
    "YULIYANTI": "YULIANTI",
    "RAHMAT": "RACHMAT",
    "RACHMAT": "RAHMAT",
    "SITI": "SITTI",
    "SITTI": "SITI",
    "YUSUF": "YUSUP",
    "YUSUP": "YUSUF",
    "SYAIFUL": "SAIFUL",
    "SAIFUL": "SYAIFUL",
    "RIZKY": "RISKI",
    "RISKI": "RIZKY",
    "AISYAH": "AISAH",
    "AISAH": "AISYAH",
    "TAUFIK": "TAUFIQ",
    "TAUFIQ": "TAUFIK",
    "FATIMAH": "FATIMA",
    "FATIMA": "FATIMAH",
    "SAPUTRA": "SAPUTERA",
    "SAPUTERA": "SAPUTRA",
    "NURHAYATI": "NURHAYATIE",
    "NURHAYATIE": "NURHAYATI",
}
STREETS = (
    "MERDEKA",
    "DIPONEGORO",
    "SUDIRMAN",
    "AHMAD YANI",
    "GAJAH MADA",
    "PAHLAWAN",
    "MAWAR",
    "MELATI",
    "KENANGA",
    "CEMPAKA",
    "ANGGREK",
    "FLAMBOYAN",
    "KARTINI",
    "HASANUDDIN",
    "IMAM BONJOL",
    "PATTIMURA",
    "CENDRAWASIH",
    "KAMBOJA",
    "SEROJA",
    "TERATAI",
)
HAMLETS = (
    "KRAJAN",
    "SUMBERSARI",
    "KARANGANYAR",
    "SIDOMULYO",
    "TANJUNG",
    "MEKAR JAYA",
    "SUKAMAJU",
    "TIMUR",
    "BARAT",
    "SELATAN",
    "UTARA",
    "TENGAH",
    "BARU",
    "MAKMUR",
    "SEJAHTERA",
    "OEBOBO",
    "LOANG BALOQ",
    "BONTO",
    "PANAIKANG",
    "WONOREJO",
)
HOUSEHOLD_SIZE_WEIGHTS = ((1, 10), (2, 18), (3, 24), (4, 24), (5, 13), (6, 7), (7, 4))


# --------------------------------------------------------------------------- internals
def _undot(code: str) -> str:
    return code.replace(".", "")


def _place_name(regency_name: str) -> str:
    name = regency_name
    for prefix in ("Kabupaten Administrasi ", "Kota Administrasi ", "Kabupaten ", "Kota "):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.upper()


def rand_date(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))


def years_between(later: date, earlier: date) -> int:
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class Reference:
    regency_place: dict[str, str]  # kabkota4 -> place name for tempat_lahir (all Indonesia)
    all_regencies: list[str]
    all_kecamatan: list[str]  # 6-digit, all Indonesia
    districts: list[str]  # demo kab/kota, 4-digit, sorted
    district_villages: dict[str, list[str]]  # kabkota4 -> 10-digit village codes
    villages: set[str]  # all 10-digit village codes of the demo provinces


def load_reference(reference_dir: Path, provinces: Sequence[str]) -> Reference:
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
    return Reference(
        regency_place=regency_place,
        all_regencies=sorted(regency_place),
        all_kecamatan=all_kecamatan,
        districts=districts,
        district_villages=district_villages,
        villages=villages,
    )


Values = dict[str, str]  # one person's row as the district exports it: column -> text


class Person:
    __slots__ = ("hub", "ibu", "lahir", "nama", "nik", "pbi", "pid", "sex", "status", "tempat")

    def __init__(
        self, pid: str, nik: str, nama: str, sex: str, tempat: str, lahir: date, hub: str, ibu: str, pbi: str
    ) -> None:
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


class Household:
    __slots__ = ("alamat", "bpnt", "desa", "kk", "members", "pkh", "rt", "rw", "verif")

    def __init__(self, kk: str, alamat: str, rt: str, rw: str, desa: str, verif: date, pkh: str, bpnt: str) -> None:
        self.kk = kk
        self.alamat = alamat
        self.rt = rt
        self.rw = rw
        self.desa = desa
        self.verif = verif
        self.pkh = pkh
        self.bpnt = bpnt
        self.members: list[Person] = []

    def active_members(self) -> list[Person]:
        return [m for m in self.members if m.status == STATUS_FOUND]


@dataclass
class District:
    code: str
    is_kota: bool
    behaviour: str  # stale / partial / active
    villages: list[str]  # where its households live
    households: list[Household] = field(default_factory=list)
    next_pid: int = 1


@dataclass
class Row:
    values: Values
    person: Person
    household: Household
    new_person: bool = False
    new_household: bool = False


def person_values(
    p: Person,
    h: Household,
    *,
    status: str | None = None,
    verif: date | None = None,
    household_values: Values | None = None,
) -> Values:
    hv = household_values or {
        "no_kk": h.kk,
        "alamat": h.alamat,
        "rt": h.rt,
        "rw": h.rw,
        "kode_desa": h.desa,
        "pkh": h.pkh,
        "bpnt": h.bpnt,
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
