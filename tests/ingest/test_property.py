"""Property: whatever a district sends, the pipeline answers with rows or a reason — never a crash.

Random bytes and random tables (random headers, spellings, delimiters,
encodings, formats and values, from plausible to hostile) are fed to the
parser (many examples), and through the whole real path — register,
stage, GX suites in PostgreSQL, merge, feedback — (fewer examples, a few
files each). Properties: no uncaught exception; every file is either
accepted (every row merged or quarantined with a reason) or rejected with
a known reason; every file is archived, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import random
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtks.parsing import open_submission
from dtks.reasons import CRITICAL_REASONS, SubmissionRejected
from dtks.schema import CANONICAL_COLUMNS, STAGED_COLUMNS
from tests.ingest import helpers as h

ALIASES = {
    "nik": ["NIK", "nomor_nik"],
    "no_kk": ["No. KK", "nomor_kk"],
    "jenis_kelamin": ["JENIS KELAMIN", "jk"],
    "tanggal_lahir": ["Tgl Lahir"],
    "kode_desa": ["Kode Desa/Kelurahan"],
    "nama": ["Nama Lengkap"],
}
ODD_VALUES = [
    "",
    " ",
    "=1+1",
    "+62811",
    "-",
    "@SUM(A1)",
    "\tx",
    "NULL",
    "3.57801E+15",
    "3501010403800001.0",
    "35010104038000011",
    "31-02-2020",
    "2026-08-05",
    "05/08/2026",
    "46239",
    "1800-01-01",
    "9999-12-31",
    "L",
    "P",
    "1",
    "2",
    "9",
    "0",
    "X",
    "ÉLIS",
    "\u200b",
    "'",
    '"',
    "a,b;c|d",
    "x\ny",
    "\x00",
    "\x1b[31m",
]
values = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=12))


@st.composite
def tables(draw, village: str = "3501012001"):
    """(header, rows) of a district-like table: valid rows, then mutated."""
    n_people = draw(st.integers(0, 6))
    people = h.family(village, draw(st.integers(1, 500)), draw(st.integers(1, 5000)), max(n_people, 1))[:n_people]
    rows = [p.row() for p in people]
    for row in rows:
        for column in draw(st.lists(st.sampled_from(CANONICAL_COLUMNS), max_size=3)):
            row[column] = draw(values)
    columns = list(CANONICAL_COLUMNS)
    dropped = draw(st.lists(st.sampled_from(columns), max_size=2, unique=True))
    columns = [c for c in columns if c not in dropped] + draw(
        st.lists(st.sampled_from(["junk", "Catatan"]), max_size=1)
    )
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from([c, *ALIASES.get(c, [])])) for c in columns]
    return header, [[r.get(c, draw(values)) for c in columns] for r in rows]


@st.composite
def files(draw, village: str = "3501012001") -> bytes:
    kind = draw(st.sampled_from(["bytes", "csv", "csv", "xlsx"]))
    if kind == "bytes":
        return draw(st.binary(max_size=3000))
    header, rows = draw(tables(village))
    if kind == "xlsx":
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        clean = [[ILLEGAL_CHARACTERS_RE.sub("", str(v)) for v in r] for r in rows]
        title = [["DATA PEMUTAKHIRAN"], []] if draw(st.booleans()) else []
        return h.xlsx_bytes(clean, header, title_rows=title)
    buf = io.StringIO()
    writer = csv.writer(
        buf,
        delimiter=draw(st.sampled_from([",", ";", "|", "\t"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator="\r\n",
    )
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return buf.getvalue().encode(encoding, errors="replace")


def _parse_all(data: bytes, suffix: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        try:
            parsed = open_submission(path)
            last = 0
            for file_row, source_line, vals in parsed.records():
                assert file_row == last + 1 and source_line >= file_row
                assert len(vals) == len(STAGED_COLUMNS)
                assert all(v is None or (isinstance(v, str) and "\x00" not in v) for v in vals)
                last = file_row
            return "read"
        except SubmissionRejected as why:
            assert why.code in CRITICAL_REASONS
            assert why.message_id and why.message_en  # the details fill every placeholder
            return why.code


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.binary(max_size=5000), suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]))
def test_random_bytes_are_read_or_rejected_with_a_reason(data, suffix):
    _parse_all(data, suffix)


@settings(max_examples=120, deadline=None, database=None)
@given(data=files(), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_tables_are_read_or_rejected_with_a_reason(data, suffix):
    _parse_all(data, suffix)


# ---------------------------------------------------------------- the whole path
_counter = itertools.count()


@pytest.mark.postgres
@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(files(), min_size=1, max_size=4))
def test_every_file_through_the_pipeline_is_accepted_or_rejected_with_a_reason_and_archived(wh, dirs, batch):
    with wh.connect() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM audit.round")).scalar() == 0:
            h.create_round(wh)
        districts = list(
            conn.execute(
                sa.text(
                    "SELECT k.code, min(v.code) FROM ref.kabkota k JOIN ref.village v ON v.kabkota_code = k.code"
                    " GROUP BY k.code ORDER BY k.code"
                )
            ).all()
        )
    landed = {}
    for data in batch:
        code, village = districts[next(_counter) % len(districts)]
        # rows of the district's own villages, so some files pass the checks
        data = data.replace(b"3501012001", village.encode())
        name = f"kiriman_{random.Random(len(data)).randrange(10**6)}{'.xlsx' if data[:2] == b'PK' else '.csv'}"
        path = h.land_bytes(dirs["landing"], code, name, data)
        landed[str(path)] = hashlib.sha256(data).hexdigest()
    run_id = f"prop-{next(_counter)}"
    ids = h.run_pipeline(wh, dirs, run_id)
    with wh.connect() as conn:
        subs = (
            conn.execute(
                sa.text(
                    "SELECT submission_id, landing_path, status, reject_reason, archive_path, sha256, rows_in,"
                    " rows_accepted, rows_quarantined FROM audit.submission WHERE registered_by_run = :r"
                ),
                {"r": run_id},
            )
            .mappings()
            .all()
        )
        duplicates = (
            conn.execute(sa.text("SELECT landing_path FROM audit.duplicate_upload WHERE run_id = :r"), {"r": run_id})
            .scalars()
            .all()
        )
        for s in subs:
            if s["status"] in ("merged", "superseded"):
                assert s["rows_in"] == s["rows_accepted"] + s["rows_quarantined"]
                unexplained = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM quarantine.rejected_row r WHERE r.submission_id = :s AND NOT EXISTS ("
                        " SELECT 1 FROM quarantine.row_issue q WHERE q.submission_id = r.submission_id"
                        " AND q.file_row = r.file_row AND q.severity = 'error')"
                    ),
                    {"s": s["submission_id"]},
                ).scalar()
                assert unexplained == 0
            else:
                assert s["status"] == "rejected" and s["reject_reason"] in CRITICAL_REASONS, dict(s)
            archived = Path(s["archive_path"])
            assert hashlib.sha256(archived.read_bytes()).hexdigest() == s["sha256"]
            assert next(dirs["outbox"].rglob(f"feedback_{s['submission_id']}.csv"))
    # every landed file is a submission of this run or a recorded duplicate; none is left in landing
    assert set(landed) == {s["landing_path"] for s in subs} | set(duplicates)
    assert all(not Path(p).exists() for p in landed)
    assert sorted(ids) == sorted(s["submission_id"] for s in subs)
