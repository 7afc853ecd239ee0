"""The canonical submission schema and the code lists of enumerated fields.

Column names follow the SIKS-NG export spellings most districts use. Every
submission, whatever its format, is mapped onto these columns before staging:
the registry fields (``CANONICAL_COLUMNS``) and, for files that name the
village instead of giving its code, the place names (``PLACE_NAME_COLUMNS``).
"""

from __future__ import annotations

# Order matters: it is the column order of the staging COPY.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "id_dtks",
    "no_kk",
    "nik",
    "nama",
    "jenis_kelamin",
    "tempat_lahir",
    "tanggal_lahir",
    "hubungan_keluarga",
    "nama_ibu_kandung",
    "alamat",
    "rt",
    "rw",
    "kode_desa",
    "status_keberadaan",
    "tanggal_verifikasi",
    "pkh",
    "bpnt",
    "pbi",
)

# A file may name the village instead of giving kode_desa: the names are mapped
# to a code through the reference data in the database (migration 005), and an
# unknown or ambiguous name is a row error, never a guess.
PLACE_NAME_COLUMNS: tuple[str, ...] = ("nama_provinsi", "nama_kabkota", "nama_kecamatan", "nama_desa")
# The names that must all be present for a file without kode_desa (province is optional).
PLACE_NAMES_REQUIRED: tuple[str, ...] = ("nama_kabkota", "nama_kecamatan", "nama_desa")

# Every staged column, in the order of the staging COPY.
STAGED_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS + PLACE_NAME_COLUMNS

# Date columns: the only ones where a bare number is read as an Excel serial date.
DATE_COLUMNS: tuple[str, ...] = ("tanggal_lahir", "tanggal_verifikasi")

# Without these a row cannot be placed in the registry at all: a file lacking
# any of them is rejected whole.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "no_kk",
    "nik",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "hubungan_keluarga",
    "kode_desa",
    "status_keberadaan",
    "tanggal_verifikasi",
)
# kode_desa may be replaced by PLACE_NAMES_REQUIRED (see dtks.reading.missing_columns).
REQUIRED_UNLESS_NAMED: tuple[str, ...] = ("kode_desa",)

SEX_CODES = {"L": "laki-laki", "P": "perempuan"}

# hubungan_keluarga: relationship to the head of the family (SIKS-NG codes).
RELATIONSHIP_CODES = {
    "1": "kepala keluarga",
    "2": "istri/suami",
    "3": "anak",
    "4": "menantu",
    "5": "cucu",
    "6": "orang tua/mertua",
    "7": "pembantu",
    "8": "famili lain",
    "9": "lainnya",
}
HEAD_OF_FAMILY = "1"

# status_keberadaan: whether the person was found at the household visit.
STATUS_CODES = {
    "1": "ditemukan",
    "2": "pindah",
    "3": "meninggal",
    "4": "tidak ditemukan",
    "5": "ganda",
}
STATUS_FOUND = "1"
# Statuses that deactivate a registry record (never delete it).
DEACTIVATING_STATUSES = ("2", "3", "4", "5")

FLAG_CODES = ("0", "1")
