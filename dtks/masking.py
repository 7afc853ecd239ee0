"""Masking: what an auditor, a log or a published file may show of a NIK, a KK number, a name or a value as sent.

The same rules as in SQL (``audit.mask_nik`` / ``audit.name_initials`` /
``audit.mask_file_name``, migration 003): NIK and KK numbers keep the 4-digit
region prefix only (``3171************``; the rest encodes birth date, sex
and a serial), names are shown by initials (``B. A.``), file names without
names or NIK-like numbers (``perbaikan NIK ****************.csv``). NIK-like
numbers in free text are scrubbed to ``3171**********01``. The identifier
rules themselves live in ``dtks.identifiers`` and are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dtks.identifiers import mask_file_name, mask_identifier, mask_nik

__all__ = [
    "initials",
    "mask_file_name",
    "mask_identifier",
    "mask_nik",
    "mask_record",
    "mask_value_sent",
    "scrub_identifiers",
]

# A sha256 (64 hex characters) is kept whole; any other run of 13+ digits (a NIK,
# a KK, a NIK with lost leading zeros or a '.0' suffix) is masked.
_HASH_OR_DIGITS = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])|(?<![0-9])[0-9]{13,}(?![0-9])")
_WORD = re.compile(r"\S+")
_PERSONAL_NAME_HEADER = re.compile(
    r"^(nama|name|nama_lengkap|full_name|nama_ibu|nama_ibu_kandung|mother_name|"
    r"alamat|address|tempat_lahir|birth_place)$"
)
_CODE_FIELDS = {
    "jenis_kelamin",
    "hubungan_keluarga",
    "kode_desa",
    "status_keberadaan",
    "tanggal_verifikasi",
    "pkh",
    "bpnt",
    "pbi",
    "rt",
    "rw",
}


def initials(name: str | None) -> str:
    """'BUDI ASTUTI' -> 'B. A.': names are shown by initials only."""
    words = [w for w in _WORD.findall(name or "") if any(ch.isalnum() for ch in w)]
    return " ".join(w[0].upper() + "." for w in words)


def scrub_identifiers(text: str) -> str:
    """Mask every NIK/KK-like run of 13+ digits in free text (sha256 hashes are left whole)."""

    def repl(m: re.Match[str]) -> str:
        s = m.group(0)
        return s if len(s) == 64 and not s.isdigit() else mask_identifier(s)

    return _HASH_OR_DIGITS.sub(repl, text)


def mask_value_sent(field: str | None, value: str | None) -> str | None:
    """A value as a district sent it, as an auditor may see it (same rule as SQL audit.mask_value_sent)."""
    if value is None:
        return None
    field = (field or "").strip().lower()
    if field in ("nik", "no_kk", "id_dtks"):
        return mask_nik(value)
    if field in ("nama", "nama_ibu_kandung"):
        return initials(value)
    if field in _CODE_FIELDS:
        return scrub_identifiers(value)
    return re.sub(r"[^\W\d_]", "x", re.sub(r"[0-9]", "9", value))


def mask_record(header: list[str], row: Sequence[str | None]) -> list[str]:
    """One row of a tabular file (e.g. a district feedback file) with personal columns masked.

    Identifier columns are masked, name and address columns reduced to
    initials, a "value as sent" column masked by the field it belongs to, and
    every other cell scrubbed of NIK-like numbers.
    """
    names = [h.strip().lower() for h in header]
    # a feedback file's header is bilingual ("Kolom / Column"): its first word names the column
    field_col = next(
        (i for i, h in enumerate(names) if h.split(" / ")[0] in ("field", "kolom", "column", "kolom_field")), None
    )
    out = []
    for i, cell in enumerate(row):
        h = names[i] if i < len(names) else ""
        text = "" if cell is None else str(cell)
        if re.search(r"(^|_)(nik|kk|no_kk|nomor_kk|nomor_nik|id_dtks)($|_)", h):
            out.append(mask_nik(text))
        elif _PERSONAL_NAME_HEADER.search(h):
            out.append(initials(text))
        elif re.search(r"value|nilai", h):
            field = row[field_col] if field_col is not None and field_col < len(row) else ""
            out.append(mask_value_sent(str(field or ""), text) or "")
        else:
            out.append(scrub_identifiers(text))
    return out
