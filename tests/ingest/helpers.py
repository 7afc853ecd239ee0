"""Feeding real files through the real ingest path: register → stage → validate → merge → feedback.

Nothing here shortcuts the pipeline: files are written into a landing
folder, the functions the DAG's tasks call run against the real PostgreSQL,
and the outcome is read back from the warehouse.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from dtks import feedback, ingest, rounds
from dtks.identifiers import build_kk, build_nik
from dtks.schema import CANONICAL_COLUMNS
from tests.builders import WIB, Person

ROUND = "2026-08"
ARRIVAL = datetime(2026, 8, 10, 10, 0, tzinfo=WIB)  # within round 2026-08 (cut-off 14 Aug)
RUN = "run-ingest-1"


def create_round(eng, round_id: str = ROUND) -> None:
    rounds.create_round(eng, rounds.default_round(round_id))


def villages(eng, kabkota: str, n: int = 2) -> list[str]:
    """Real village codes of a district (for rows that must pass the village checks)."""
    with eng.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT code FROM ref.village WHERE kabkota_code = :k AND retired_in IS NULL ORDER BY code LIMIT :n"
                ),
                {"k": kabkota, "n": n},
            ).scalars()
        )


def family(
    village: str,
    kk_serial: int,
    first_serial: int,
    size: int = 2,
    verified: str = "2026-08-05",
    surname: str = "SANTOSO",
) -> list[Person]:
    """A household: a head (male, 1980) and size-1 members; NIKs and KK valid for the village's kecamatan."""
    kec = village[:6]
    people = []
    for i in range(size):
        female = i % 2 == 1
        born = date(1980 + i * 3, 3 + i % 9, 4 + i)
        people.append(
            Person(
                nik=build_nik(kec, born, female, first_serial + i),
                no_kk=build_kk(kec, date(2015, 1, 2), kk_serial),
                nama=f"{'SITI' if female else 'ADI'} {surname}",
                jenis_kelamin="P" if female else "L",
                tanggal_lahir=born.isoformat(),
                hubungan_keluarga="1" if i == 0 else ("2" if i == 1 else "3"),
                kode_desa=village,
                tanggal_verifikasi=verified,
            )
        )
    return people


def rows_of(people: list[Person]) -> list[dict]:
    return [p.row() for p in people]


def csv_bytes(
    rows: list[dict],
    columns=CANONICAL_COLUMNS,
    delimiter: str = ",",
    encoding: str = "utf-8",
    quoting: int = csv.QUOTE_MINIMAL,
    header: list[str] | None = None,
    title: str | None = None,
    line_end: str = "\r\n",
) -> bytes:
    buf = io.StringIO()
    if title:
        buf.write(title + line_end)
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=line_end)
    writer.writerow(header or list(columns))
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list[str], title_rows: list[list] | None = None) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for t in title_rows or []:
        ws.append(t)
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def land_bytes(
    landing: Path,
    district: str,
    name: str | bytes,
    data: bytes,
    round_id: str = ROUND,
    received_at: datetime = ARRIVAL,
    manifest: dict | None = None,
) -> Path:
    folder = landing / round_id / district
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode())))
    path.write_bytes(data)
    if manifest is not None:
        m = path.with_name(path.stem + ".manifest.json")
        m.write_text(json.dumps(manifest), encoding="utf-8")
        os.utime(m, (received_at.timestamp(), received_at.timestamp()))
    os.utime(path, (received_at.timestamp(), received_at.timestamp()))
    return path


def good_manifest(district: str, round_id: str = ROUND) -> dict:
    return {
        "round_id": round_id,
        "kabkota_code": district,
        "musdes_ref": f"BA-MUSDES/{district}/001",
        "pengesahan_no": f"400.9/12/KPTS/{district}/2026",
        "pengesahan_date": "2026-08-08",
    }


def run_pipeline(eng, dirs: dict, run_id: str = RUN) -> list[int]:
    """Every landed file through register → stage → validate → merge → feedback; the new submission ids."""
    run = ingest.process_landed(
        eng, dirs["landing"], run_id, archive_dir=dirs["archive"], feedback_outbox=dirs["outbox"]
    )
    return [r.submission_id for r in run.registered]


@dataclass
class Outcome:
    submission_id: int
    file_name: str
    kabkota_code: str | None
    status: str
    reject_reason: str | None
    reject_detail: str | None
    rows_in: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    rows_warned: int | None
    archive_path: str | None
    sha256: str
    issues: dict[int, set[str]]  # file_row -> reason codes (every severity)
    errors: dict[int, set[str]]  # file_row -> error reason codes
    values: dict[tuple[int, str], str]  # (file_row, reason) -> value as sent


def outcomes(eng) -> dict[str, Outcome]:
    """Every district submission by the file name it was sent under."""
    found = {}
    with eng.connect() as conn:
        subs = (
            conn.execute(sa.text("SELECT * FROM audit.submission WHERE kind = 'district' ORDER BY submission_id"))
            .mappings()
            .all()
        )
        issues = conn.execute(
            sa.text("SELECT submission_id, file_row, reason_code, severity, value_sent FROM quarantine.row_issue")
        ).all()
    for s in subs:
        mine = [i for i in issues if i.submission_id == s["submission_id"]]
        all_, errors = {}, {}
        for i in mine:
            all_.setdefault(i.file_row, set()).add(i.reason_code)
            if i.severity == "error":
                errors.setdefault(i.file_row, set()).add(i.reason_code)
        found[s["file_name"]] = Outcome(
            s["submission_id"],
            s["file_name"],
            s["kabkota_code"],
            s["status"],
            s["reject_reason"],
            s["reject_detail"],
            s["rows_in"],
            s["rows_accepted"],
            s["rows_quarantined"],
            s["rows_warned"],
            s["archive_path"],
            s["sha256"],
            all_,
            errors,
            {(i.file_row, i.reason_code): i.value_sent for i in mine},
        )
    return found


def registry(eng, nik: str) -> dict | None:
    with eng.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM registry.individual WHERE nik = :n"), {"n": nik}).mappings().first()
    return dict(row) if row else None


def feedback_lines(path: Path, fields=feedback.ROW_FIELDS) -> list[dict]:
    """A feedback CSV read back by column key (its header row is the bilingual labels); severities as codes."""
    by_label = {label: key for key, label in fields}
    severity = {label: code for code, label in feedback.SEVERITY_LABEL.items()}
    lines = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert lines == [] or set(lines[0]) == set(by_label), sorted(lines[0])
    out = []
    for line in lines:
        row = {by_label[label]: value for label, value in line.items()}
        if "severity" in row:
            row["severity"] = severity.get(row["severity"], row["severity"])
        out.append(row)
    return out
