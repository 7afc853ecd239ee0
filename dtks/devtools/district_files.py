"""District files as districts' tools export them: CSV dialects, the XLSX with a title row, JSON manifests.

One export format per district (``EXPORT_FORMATS``), the same values in
every format; XLSX through ``dtks.workbook.plain_sheet_xlsx`` (fixed zip
times), so the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from dtks.schema import CANONICAL_COLUMNS
from dtks.workbook import plain_sheet_xlsx

# How districts export (one per district, fixed across rounds), with relative frequency.
EXPORT_FORMATS: tuple[tuple[str, float], ...] = (
    ("csv", 0.55),  # comma, UTF-8, ISO dates
    ("csv_semicolon", 0.15),  # semicolon, UTF-8 with BOM, DD-MM-YYYY
    ("csv_pipe_cp1252", 0.12),  # pipe, all quoted, Windows-1252, SIKS-NG headers, sex 1/2, DD/MM/YYYY
    ("xlsx_title", 0.18),  # XLSX, title row above the header, date cells and Excel serials
)
# SIKS-NG style header spellings (declared in include/mapping/column_aliases.json).
SIKS_HEADER = {
    "id_dtks": "ID DTKS",
    "no_kk": "No. KK",
    "nik": "NIK",
    "nama": "Nama Lengkap",
    "jenis_kelamin": "JENIS KELAMIN",
    "tempat_lahir": "Tempat Lahir",
    "tanggal_lahir": "Tgl Lahir",
    "hubungan_keluarga": "SHDK",
    "nama_ibu_kandung": "Nama Ibu Kandung",
    "alamat": "Alamat",
    "rt": "RT",
    "rw": "RW",
    "kode_desa": "Kode Desa/Kelurahan",
    "status_keberadaan": "Status Keberadaan",
    "tanggal_verifikasi": "Tgl Verval",
    "pkh": "PKH",
    "bpnt": "BPNT",
    "pbi": "PBI-JK",
}
_EXCEL_EPOCH = date(1899, 12, 30)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_json(path: Path, payload: Any) -> None:
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


def write_submission(path: Path, rows: Sequence[dict[str, str]], export_format: str, title: str = "") -> None:
    """One district file in the district's export format (the values are the same in every format)."""
    if export_format == "xlsx_title":
        sheet: list[list[object]] = [[title or "DATA PEMUTAKHIRAN DTKS"], [], list(CANONICAL_COLUMNS)]
        for row in rows:
            out: list[object] = []
            for column in CANONICAL_COLUMNS:
                value = row[column]
                if column == "tanggal_lahir" and _excel_serial(value) is not None:
                    out.append(("date", _excel_serial(value)))  # a date cell
                elif column == "tanggal_verifikasi" and _excel_serial(value) is not None:
                    out.append(_excel_serial(value))  # a date typed as a bare number
                elif column in ("hubungan_keluarga", "status_keberadaan", "pkh", "bpnt", "pbi") and value.isdigit():
                    out.append(int(value))
                else:
                    out.append(value)
            sheet.append(out)
        path.write_bytes(plain_sheet_xlsx(sheet))
        return
    if export_format == "csv":
        write_csv(path, CANONICAL_COLUMNS, ([r[c] for c in CANONICAL_COLUMNS] for r in rows))
        return
    buf = io.StringIO()
    if export_format == "csv_semicolon":
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerow(CANONICAL_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    _day_first(r[c], "-") if c in ("tanggal_lahir", "tanggal_verifikasi") else r[c]
                    for c in CANONICAL_COLUMNS
                ]
            )
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    elif export_format == "csv_pipe_cp1252":
        writer = csv.writer(buf, delimiter="|", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow([SIKS_HEADER[c] for c in CANONICAL_COLUMNS])
        sex = {"L": "1", "P": "2"}
        for r in rows:
            writer.writerow(
                [
                    _day_first(r[c], "/")
                    if c in ("tanggal_lahir", "tanggal_verifikasi")
                    else sex.get(r[c], r[c])
                    if c == "jenis_kelamin"
                    else r[c]
                    for c in CANONICAL_COLUMNS
                ]
            )
        path.write_bytes(buf.getvalue().encode("cp1252"))
    else:  # pragma: no cover
        raise ValueError(export_format)
