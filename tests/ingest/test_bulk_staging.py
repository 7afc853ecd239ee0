"""The bulk staging path (PostgreSQL COPY of a plain CSV, mapped in SQL) stages what the parser would.

Each file is registered and staged through ``dtks.staging.stage``; the staged
rows are read back and compared, value by value, with what
``dtks.parsing.open_submission`` yields for the same archived file. The
``staged`` event says which path ran.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import intake, landed_files, staging
from dtks.csv_reading import bulk_copy_plan
from dtks.parsing import open_submission
from dtks.schema import STAGED_COLUMNS
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

NBSP = "\u00a0"
HEADER = "ID DTKS;No. KK;NIK;Nama Lengkap;JENIS KELAMIN;Tgl Lahir;SHDK;Kode Desa/Kelurahan;Status Keberadaan;Tgl Verval;Catatan"


def _lines(village: str) -> list[str]:
    kec = village[:6]
    return [
        f"DT1;{kec}0201150001;{kec}0403800001;  ADI SANTOSO ;L;1980-03-04;1;{village};1;2026-08-05;ok",
        ";;;;;;;;;;",  # a line without a value: not a row
        f"DT2;{kec}0201150001;{kec}4504830002;SITI{NBSP};P;1983-04-05;2;{village};1;05-08-2026;",
        f"   ;{kec}0201150001;3.57801E+15;ANAK\t;L; 2010-01-01;3;{village} ;1;2026-08-05;x",
    ]


def _stage(wh, dirs, district: str, name: str, data: bytes) -> tuple[int, str, list[tuple]]:
    h.create_round(wh)
    h.land_bytes(dirs["landing"], district, name, data)
    (landed,) = landed_files.discover(dirs["landing"])
    ref = intake.register(wh, landed, "bulk-test", dirs["archive"])
    outcome = staging.stage(wh, ref.submission_id, "bulk-test")
    assert outcome["status"] == "staged", outcome
    with wh.connect() as conn:
        path = conn.execute(
            sa.text("SELECT detail->>'path' FROM audit.submission_event WHERE submission_id = :s AND event = 'staged'"),
            {"s": ref.submission_id},
        ).scalar_one()
        staged = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    f"SELECT file_row, source_line, {', '.join(STAGED_COLUMNS)} FROM staging.submission_row"
                    " WHERE submission_id = :s ORDER BY file_row"
                ),
                {"s": ref.submission_id},
            )
        ]
    return ref.submission_id, path, staged


def _parsed(wh, submission_id: int) -> list[tuple]:
    with wh.connect() as conn:
        archived = conn.execute(
            sa.text("SELECT archive_path FROM audit.submission WHERE submission_id = :s"), {"s": submission_id}
        ).scalar_one()
    # (staging keeps an empty value as NULL, whichever path staged it)
    return [
        (file_row, line, *(v or None for v in values))
        for file_row, line, values in open_submission(Path(archived)).records()
    ]


@pytest.mark.parametrize("encoding, line_end", [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("cp1252", "\r\n")])
def test_a_plain_csv_is_copied_directly_and_staged_as_the_parser_reads_it(wh, dirs, encoding, line_end):
    village = h.villages(wh, "3578", 1)[0]
    title = "DATA PEMUTAKHIRAN DTKS KOTA SURABAYA" + ";" * 10
    lines = [title, HEADER, *_lines(village)]
    if encoding == "cp1252":
        lines[2] = lines[2].replace("ADI SANTOSO", "ÉLIS SÉTIAWAN – ADI")
    data = (line_end.join(lines) + line_end).encode(encoding)
    sid, path, staged = _stage(wh, dirs, "3578", "plain.csv", data)
    assert path == "bulk"
    expected = _parsed(wh, sid)
    assert staged == expected
    # spot checks against the hand-written file: numbering, lines, trimming, absent and unmapped columns
    assert [(r[0], r[1]) for r in staged] == [(1, 3), (2, 5), (3, 6)]
    row = dict(zip(("file_row", "source_line", *STAGED_COLUMNS), staged[1]))
    assert row["nama"] == "SITI" and row["pkh"] is None and row["nama_desa"] is None and row["id_dtks"] == "DT2"
    last = dict(zip(("file_row", "source_line", *STAGED_COLUMNS), staged[2]))
    assert last["tanggal_lahir"] == "2010-01-01" and last["id_dtks"] is None


def test_a_quoted_csv_goes_through_the_parser(wh, dirs):
    village = h.villages(wh, "3578", 1)[0]
    data = "\n".join([HEADER, *(line.replace("  ADI SANTOSO ", '"SANTOSO; ADI"') for line in _lines(village))]) + "\n"
    data = data.encode()
    assert bulk_copy_plan_for(data, dirs) is None
    sid, path, staged = _stage(wh, dirs, "3578", "quoted.csv", data)
    assert path == "parser"
    assert staged == _parsed(wh, sid)
    assert staged[0][2 + STAGED_COLUMNS.index("nama")] == "SANTOSO; ADI"


def test_a_file_copy_refuses_falls_back_to_the_parser(wh, dirs):
    # plain bytes, but one row is short of fields: COPY refuses, the parser pads it (as before)
    village = h.villages(wh, "3578", 1)[0]
    lines = [HEADER, *_lines(village)]
    lines.append(lines[1].rsplit(";", 3)[0])
    data = ("\n".join(lines) + "\n").encode()
    assert bulk_copy_plan_for(data, dirs) is not None
    sid, path, staged = _stage(wh, dirs, "3578", "short_row.csv", data)
    assert path == "parser"
    assert staged == _parsed(wh, sid)
    assert len(staged) == 4, staged


def test_row_limit_applies_to_the_bulk_path(wh, dirs, monkeypatch):
    monkeypatch.setenv("DTKS_MAX_ROWS", "2")
    village = h.villages(wh, "3578", 1)[0]
    data = ("\n".join([HEADER, *_lines(village)]) + "\n").encode()
    h.create_round(wh)
    h.land_bytes(dirs["landing"], "3578", "many.csv", data)
    (landed,) = landed_files.discover(dirs["landing"])
    ref = intake.register(wh, landed, "bulk-test", dirs["archive"])
    outcome = staging.stage(wh, ref.submission_id, "bulk-test")
    assert outcome == {"submission_id": ref.submission_id, "status": "rejected", "reason": "file_too_many_rows"}
    with wh.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM staging.submission_row WHERE submission_id = :s"),
                {"s": ref.submission_id},
            ).scalar_one()
            == 0
        )


def bulk_copy_plan_for(data: bytes, dirs) -> object:
    probe = dirs["archive"].parent / "probe.csv"
    probe.write_bytes(data)
    return bulk_copy_plan(probe)


WORDED_HEADER = "No. KK;NIK;Nama Lengkap;JENIS KELAMIN;Tgl Lahir;SHDK;Kode Desa/Kelurahan;Status Keberadaan;Tgl Verval;PKH;BPNT;PBI-JK"
CODED = ("jenis_kelamin", "hubungan_keluarga", "status_keberadaan", "pkh", "bpnt", "pbi")


def _worded_lines(village: str) -> list[str]:
    kec = village[:6]
    kk = f"{kec}0201150001"
    return [
        f"{kk};{kec}0403800001;ADI;Laki-Laki;1980-03-04; Kepala Keluarga ;{village};DITEMUKAN;2026-08-05;Ya;tidak;Y",
        f"{kk};{kec}4504830002;SITI;PEREMPUAN;1983-04-05;ISTRI{NBSP};{village};di temukan;2026-08-05;YA;T;1",
        f"{kk};{kec}0101100003;BUDI;l;2010-01-01;Anak-Kandung;{village};Meninggal Dunia;2026-08-05;;0;Tdk.",
        f"{kk};{kec}0101100004;WATI;Wanita;2012-01-01;Sepupu;{village};Hilang;2026-08-05;mungkin;;-",
    ]


def test_worded_values_are_staged_alike_and_normalised_to_the_same_codes(wh, dirs):
    """Words in coded columns: both paths stage them as sent, and the staging view reads the same codes."""
    village = h.villages(wh, "3578", 1)[0]
    plain = ("\n".join([WORDED_HEADER, *_worded_lines(village)]) + "\n").encode()
    lines = [line.replace(";ADI;", ';"ADI";') for line in _worded_lines(village)]
    quoted = "\n".join([WORDED_HEADER, *lines]) + "\n"
    normalised = {}
    for name, data, expected_path in (
        ("plain_words.csv", plain, "bulk"),
        ("quoted_words.csv", quoted.encode(), "parser"),
    ):
        sid, path, staged = _stage(wh, dirs, "3578", name, data)
        assert path == expected_path
        assert staged == _parsed(wh, sid)
        with wh.connect() as conn:
            normalised[path] = [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        f"SELECT {', '.join(CODED)} FROM staging.normalised_row WHERE submission_id = :s ORDER BY file_row"
                    ),
                    {"s": sid},
                )
            ]
    assert (
        normalised["bulk"]
        == normalised["parser"]
        == [
            ("L", "1", "1", "1", "0", "1"),
            ("P", "2", "1", "1", "0", "1"),
            ("L", "3", "3", "0", "0", "0"),
            ("P", "Sepupu", "Hilang", "mungkin", "0", "-"),  # not declared: as sent, for the checks to name
        ]
    )
