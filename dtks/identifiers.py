"""NIK and KK (family card) numbers: structure, building and checking.

The warehouse checks identifiers in SQL through the Great Expectations
suites; this module is the same rule in Python, used by the synthetic
generator to build valid numbers and by unit tests as an executable
specification of the structure (DOMAIN.md, "Identifiers and codes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SIXTEEN_DIGITS = re.compile(r"^[0-9]{16}$")
# What Excel does to a 16-digit number: scientific notation or a float suffix.
_EXCEL_CORRUPTED = re.compile(r"^[0-9.,]+[eE][+-]?[0-9]+$|\.0+$")


@dataclass(frozen=True)
class NikParts:
    province: str
    kabkota: str  # four digits: province + kab/kota
    kecamatan: str  # six digits
    birth_day: int  # as written: women have 40 added
    birth_month: int
    birth_year_2d: int
    serial: str

    @property
    def female(self) -> bool:
        return self.birth_day > 40

    @property
    def real_birth_day(self) -> int:
        return self.birth_day - 40 if self.female else self.birth_day


def looks_excel_corrupted(value: str) -> bool:
    """True for `3.17101E+15`, `3171011201900001.0` and the like."""
    return bool(_EXCEL_CORRUPTED.search(value.strip()))


def split_nik(value: str) -> NikParts | None:
    """Split a 16-digit NIK into its parts; None if it is not 16 digits."""
    if not _SIXTEEN_DIGITS.match(value):
        return None
    return NikParts(
        province=value[0:2],
        kabkota=value[0:4],
        kecamatan=value[0:6],
        birth_day=int(value[6:8]),
        birth_month=int(value[8:10]),
        birth_year_2d=int(value[10:12]),
        serial=value[12:16],
    )


def nik_problems(value: str, known_kabkota: set[str] | None = None) -> list[str]:
    """Reason codes for everything structurally wrong with a NIK (empty: fine)."""
    value = value.strip()
    if not value:
        return ["nik_missing"]
    if looks_excel_corrupted(value):
        return ["nik_excel_corrupted"]
    parts = split_nik(value)
    if parts is None:
        return ["nik_not_16_digits"]
    problems = []
    if known_kabkota is not None and parts.kabkota not in known_kabkota:
        problems.append("nik_region_unknown")
    if not (1 <= parts.birth_day <= 31 or 41 <= parts.birth_day <= 71):
        problems.append("nik_birth_day_invalid")
    if not 1 <= parts.birth_month <= 12:
        problems.append("nik_birth_month_invalid")
    if parts.serial == "0000":
        problems.append("nik_serial_zero")
    return problems


def nik_birth_part(birth_date: date, female: bool) -> str:
    """The DDMMYY part a NIK must carry for this birth date and sex."""
    day = birth_date.day + (40 if female else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def build_nik(kecamatan_code: str, birth_date: date, female: bool, serial: int) -> str:
    """Compose a NIK from a 6-digit kecamatan code, birth date, sex and serial."""
    if len(kecamatan_code) != 6 or not kecamatan_code.isdigit():
        raise ValueError("kecamatan code must be 6 digits")
    if not 1 <= serial <= 9999:
        raise ValueError("NIK serial must be 0001-9999")
    return f"{kecamatan_code}{nik_birth_part(birth_date, female)}{serial:04d}"


def build_kk(kecamatan_code: str, issued: date, serial: int) -> str:
    """Compose a KK number: 6-digit region, DDMMYY of issue, 4-digit serial."""
    if len(kecamatan_code) != 6 or not kecamatan_code.isdigit():
        raise ValueError("kecamatan code must be 6 digits")
    return f"{kecamatan_code}{issued:%d%m%y}{serial:04d}"


def mask_identifier(value: str | None) -> str:
    """`3171**********01`: region prefix and last two digits only (auditor views)."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def mask_nik(value: str | None) -> str:
    """`3171************`: the region prefix only (auditor views; same rule as SQL ``audit.mask_nik``).

    The rest of a NIK encodes birth date, sex and a serial: shown next to a
    birth year or sex, even two more digits narrow a person to a few thousand
    candidates.
    """
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 4)


# Words a file name shown to people may keep (same list as SQL audit.file_name_words()).
FILE_NAME_WORDS = frozenset(
    (
        "dtks",
        "data",
        "perbaikan",
        "revisi",
        "rev",
        "koreksi",
        "update",
        "pemutakhiran",
        "putaran",
        "round",
        "kab",
        "kabupaten",
        "kota",
        "kabkota",
        "final",
        "nik",
        "kk",
        "kiriman",
        "file",
        "berkas",
        "baseline",
        "feedback",
        "umpan",
        "balik",
        "susulan",
        "baru",
        "lama",
        "copy",
        "salinan",
        "v",
        "individu",
        "keluarga",
        "art",
        "ruta",
        "export",
        "ekspor",
        "sheet",
        "manifest",
        "part",
        "bagian",
        "jan",
        "feb",
        "mar",
        "apr",
        "mei",
        "may",
        "jun",
        "jul",
        "agu",
        "aug",
        "agt",
        "sep",
        "okt",
        "oct",
        "nov",
        "des",
        "dec",
        "januari",
        "februari",
        "maret",
        "april",
        "juni",
        "juli",
        "agustus",
        "september",
        "oktober",
        "november",
        "desember",
        "csv",
        "xlsx",
        "xls",
        "json",
        "zip",
    )
)
_FILE_EXT = re.compile(r"(\.[A-Za-z0-9]{1,5})$")
_FILE_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+|[\W_]+")
_SEPARATORS = " _.()-"


def mask_file_name(name: str | None) -> str:
    """A file name as people outside the warehouse's protected tables may see it (SQL ``audit.mask_file_name``).

    Districts name files after the person they correct (``perbaikan NIK
    3578010101800021 BUDI SANTOSO.csv``): every run of 13+ digits becomes 16
    stars and every word not in :data:`FILE_NAME_WORDS` (a name, a village,
    anything) is dropped; digits shorter than a NIK (codes, dates) and the
    extension stay: ``perbaikan NIK ****************.csv``. Nothing left: ``berkas``.
    """
    if name is None:
        return ""
    m = _FILE_EXT.search(name)
    ext = m.group(1) if m else ""
    stem = name[: m.start()] if m else name
    out = []
    for tok in _FILE_TOKEN.findall(stem):
        if tok.isdigit():
            out.append("*" * 16 if len(tok) >= 13 else tok)
        elif tok.isalpha():
            out.append(tok if tok.lower() in FILE_NAME_WORDS else "")
        else:
            out.append("".join(ch for ch in tok if ch in _SEPARATORS))
    kept = re.sub(r"([ _.()-])[ _.()-]+", r"\1", "".join(out)).strip(_SEPARATORS)
    return (kept if re.search(r"[0-9A-Za-z*]", kept) else "berkas") + ext
