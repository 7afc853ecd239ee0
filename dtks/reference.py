"""Load the Kemendagri region codes (idn-area-data CSVs) into ``ref.*``.

Re-runnable: a new edition updates names, adds codes, and marks codes that
disappeared as retired (never deletes them, so older records still resolve).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR
from dtks.warehouse import read_sql

SOURCE = "npm idn-area-data {version} (Kepmendagri 300.2.2-2138/2025), ODbL"


@dataclass(frozen=True)
class ReferenceCounts:
    edition: str
    provinces: int
    kabkota: int
    kecamatan: int
    villages: int


def _undot(code: str) -> str:
    return code.replace(".", "")


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [tuple(r[c] for c in columns) for r in csv.DictReader(f)]


def _copy(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    buf.seek(0)
    with conn.connection.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buf)


def load_reference(eng: Engine, edition: str = DEFAULT_REFERENCE_EDITION,
                   reference_dir: Path = REFERENCE_DIR) -> ReferenceCounts:
    folder = reference_dir / edition
    provinces = [(_undot(c), n) for c, n in _rows(folder / "provinces.csv", ("code", "name"))]
    kabkota = [
        (_undot(c), _undot(p), n, "kota" if n.startswith("Kota") else "kabupaten")
        for c, p, n in _rows(folder / "regencies.csv", ("code", "province_code", "name"))
    ]
    kecamatan = [(_undot(c), _undot(k), n) for c, k, n in _rows(folder / "districts.csv", ("code", "regency_code", "name"))]
    villages = [
        # digit 7 of the 10-digit code: 1 kelurahan, 2 desa
        (_undot(c), _undot(k), _undot(c)[:4], n, "kelurahan" if _undot(c)[6] == "1" else "desa")
        for c, k, n in _rows(folder / "villages.csv", ("code", "district_code", "name"))
    ]
    counts = ReferenceCounts(edition, len(provinces), len(kabkota), len(kecamatan), len(villages))
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE load_province (code text, name text) ON COMMIT DROP"))
        conn.execute(sa.text("CREATE TEMP TABLE load_kabkota (code text, province_code text, name text, kind text) ON COMMIT DROP"))
        conn.execute(sa.text("CREATE TEMP TABLE load_kecamatan (code text, kabkota_code text, name text) ON COMMIT DROP"))
        conn.execute(sa.text("CREATE TEMP TABLE load_village (code text, kecamatan_code text, kabkota_code text, name text, kind text) ON COMMIT DROP"))
        _copy(conn, "load_province", ("code", "name"), provinces)
        _copy(conn, "load_kabkota", ("code", "province_code", "name", "kind"), kabkota)
        _copy(conn, "load_kecamatan", ("code", "kabkota_code", "name"), kecamatan)
        _copy(conn, "load_village", ("code", "kecamatan_code", "kabkota_code", "name", "kind"), villages)
        conn.execute(
            sa.text(
                "INSERT INTO ref.edition (edition, source, provinces, kabkota, kecamatan, villages) "
                "VALUES (:e, :s, :p, :k, :c, :v) ON CONFLICT (edition) DO UPDATE SET loaded_at = now(), "
                "provinces = EXCLUDED.provinces, kabkota = EXCLUDED.kabkota, "
                "kecamatan = EXCLUDED.kecamatan, villages = EXCLUDED.villages"
            ),
            {"e": edition, "s": SOURCE.format(version=edition.rsplit("-", 1)[-1]), "p": counts.provinces,
             "k": counts.kabkota, "c": counts.kecamatan, "v": counts.villages},
        )
        conn.execute(sa.text(read_sql("load_reference_edition.sql")), {"edition": edition})
    return counts
