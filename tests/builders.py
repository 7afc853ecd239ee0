"""Small, hand-readable fixtures: people, households and submission files."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from dtks.identifiers import build_kk, build_nik
from dtks.schema import CANONICAL_COLUMNS

WIB = timezone(timedelta(hours=7))

# Real Kemendagri codes used by the fixtures (idn-area-data 4.0.1).
SURABAYA = "3578"  # Kota Surabaya, Jawa Timur
SURABAYA_KEC = "357801"  # Kec. Karang Pilang
SURABAYA_VILLAGE = "3578011001"
PACITAN = "3501"  # Kabupaten Pacitan, Jawa Timur
PACITAN_KEC = "350101"  # Kec. Donorojo
PACITAN_VILLAGE = "3501012001"
JAKPUS = "3171"  # Kota Adm. Jakarta Pusat, DKI Jakarta
JAKPUS_KEC = "317101"  # Kec. Gambir
JAKPUS_VILLAGE = "3171011001"
MALANG = "3573"  # Kota Malang, Jawa Timur
MALANG_KEC = "357301"  # Kec. Blimbing
MALANG_VILLAGE = "3573011001"  # Balearjosari


@dataclass(frozen=True)
class Person:
    nik: str
    no_kk: str
    nama: str
    jenis_kelamin: str
    tanggal_lahir: str
    hubungan_keluarga: str
    kode_desa: str
    tanggal_verifikasi: str
    status_keberadaan: str = "1"
    rt: str = "001"
    rw: str = "002"
    alamat: str = "JL. MELATI 1"
    pkh: str = "0"
    bpnt: str = "0"
    pbi: str = "0"
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        values = dict.fromkeys(CANONICAL_COLUMNS, "")
        values.update({k: v for k, v in self.__dict__.items() if k in values})
        values["id_dtks"] = "DT" + self.nik[-8:]
        values["tempat_lahir"] = "SURABAYA"
        values["nama_ibu_kandung"] = "SITI"
        values.update(self.extra)
        return values

    def but(self, **changes) -> Person:
        return replace(self, **changes)


def person(
    kec: str, village: str, kk_serial: int, serial: int, nama: str, sex: str, born: date, relation: str, verified: str
) -> Person:
    return Person(
        nik=build_nik(kec, born, sex == "P", serial),
        no_kk=build_kk(kec, date(2015, 1, 2), kk_serial),
        nama=nama,
        jenis_kelamin=sex,
        tanggal_lahir=born.isoformat(),
        hubungan_keluarga=relation,
        kode_desa=village,
        tanggal_verifikasi=verified,
    )


def write_csv(
    path: Path,
    rows: list[dict],
    received_at: datetime | None = None,
    columns: tuple[str, ...] = CANONICAL_COLUMNS,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if received_at is not None:
        set_arrival(path, received_at)
    return path


def set_arrival(path: Path, received_at: datetime) -> None:
    """Give a landed file its arrival time to the microsecond (a float timestamp can be off by one)."""
    ns = (received_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
    os.utime(path, ns=(ns, ns))


def land(landing: Path, round_id: str, district: str, name: str, people: list[Person], received_at: datetime) -> Path:
    """Drop a submission file into landing/<round>/<district>/ with its arrival time."""
    return write_csv(landing / round_id / district / name, [p.row() for p in people], received_at)
