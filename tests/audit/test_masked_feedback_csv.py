"""The auditor page's masked view of a district feedback CSV: every row kept, formulas still neutralised (issue 13.8)."""

import csv
import io

import pytest

from dtks import feedback
from dtks.spreadsheet_safety import neutralise_formula
from tests.builders import SURABAYA

pytestmark = pytest.mark.postgres


def test_feedback_csv_with_apostrophes_and_formulas_keeps_every_row_and_the_guard(auditor_client, three_rounds):
    # Messages with apostrophes made the old sniffer pick ' as the quote character:
    # eight lines came out as six rows and '=1+1 lost its protective quote.
    rows = [
        {
            "file_row": 1,
            "line_in_file": 2,
            "field": "status_keberadaan",
            "value_sent": "=1+1",
            "severity": "error",
            "reason_code": "status_code_unknown",
            "alasan": "kode 'status' tidak dikenal",
            "reason": "the 'status' isn't known",
        },
        {
            "file_row": 2,
            "line_in_file": 3,
            "field": "hubungan_keluarga",
            "value_sent": "@SUM(A1)",
            "severity": "error",
            "reason_code": "relationship_code_unknown",
            "alasan": "kode 'hubungan' salah",
            "reason": "it's not a code",
        },
        {
            "file_row": 3,
            "line_in_file": 4,
            "field": "nik",
            "value_sent": "3578014108900001",
            "severity": "error",
            "reason_code": "nik_duplicate",
            "alasan": "NIK ganda",
            "reason": "the NIK's repeated",
        },
        {
            "file_row": 4,
            "line_in_file": 5,
            "field": "kode_desa",
            "value_sent": "-2+3",
            "severity": "error",
            "reason_code": "village_unknown",
            "alasan": "desa 'x' tidak ada",
            "reason": "village 'x' doesn't exist",
        },
        {
            "file_row": 5,
            "line_in_file": 6,
            "field": "pkh",
            "value_sent": "+62",
            "severity": "warning",
            "reason_code": "flag_unknown",
            "alasan": "a, b 'c'",
            "reason": "it's, really",
        },
        {
            "file_row": 6,
            "line_in_file": 7,
            "field": "rt",
            "value_sent": "-1",
            "severity": "warning",
            "reason_code": "rt_invalid",
            "alasan": "rt 'negatif'",
            "reason": "rt's negative",
        },
        {
            "file_row": 7,
            "line_in_file": 8,
            "field": "rw",
            "value_sent": '=HYPERLINK("x","klik")',
            "severity": "error",
            "reason_code": "rw_invalid",
            "alasan": "rw 'x'",
            "reason": 'rw\'s "quoted"',
        },
    ]
    rows = [{**r, "sheet_row": r["line_in_file"]} for r in rows]
    written = feedback.csv_bytes(feedback.ROW_FIELDS, rows)
    assert written.decode("utf-8-sig").count("\r\n") == 8  # header and seven rows
    target = three_rounds["dirs"]["outbox"] / "2026-09" / SURABAYA / "feedback_apostrophes.csv"
    target.write_bytes(written)
    try:
        response = auditor_client.get(f"/feedback/2026-09/{SURABAYA}/feedback_apostrophes.csv")
    finally:
        target.unlink()
    assert response.status_code == 200
    got = list(csv.reader(io.StringIO(response.text, newline="")))
    assert len(got) == 8
    assert got[0] == [label for _, label in feedback.ROW_FIELDS]
    by_row = {line["file_row"]: line for line in (dict(zip(feedback.ROW_COLUMNS, r)) for r in got[1:])}
    assert by_row["1"]["value_sent"] == "'=1+1"  # the guard the file carried, kept
    assert by_row["2"]["value_sent"] == "'@SUM(A1)"
    assert by_row["3"]["value_sent"] == "3578************"  # masked identifier: region only
    assert by_row["4"]["value_sent"] == "'-2+3"
    assert by_row["5"]["value_sent"] == "+62" and by_row["6"]["value_sent"] == "-1"  # plain numbers stay numbers
    assert by_row["7"]["value_sent"] == '\'=HYPERLINK("x","klik")'
    assert by_row["1"]["alasan"] == "kode 'status' tidak dikenal" and by_row["7"]["reason"] == 'rw\'s "quoted"'
    for r in got:  # nothing leaves unguarded
        assert all(c == neutralise_formula(c) or c.startswith("'") for c in r)
        assert all(not c.startswith(("=", "@")) for c in r)


@pytest.mark.parametrize(
    "text, safe",
    [
        ("=1+1", "'=1+1"),
        ("+62 Kota", "'+62 Kota"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("\r=x", "'\r=x"),
        ("-1", "-1"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("1e5", "1e5"),
        ("-2+3", "'-2+3"),
        ("Kota -Baru", "Kota -Baru"),
        ("", ""),
    ],
)
def test_one_formula_rule(text, safe):
    assert neutralise_formula(text) == safe


def test_every_writer_uses_the_one_rule():
    """feedback, report and the auditor's CSVs share dtks.spreadsheet_safety (no private copies left)."""
    from pathlib import Path

    import dtks

    root = Path(dtks.__file__).parent
    for name in ("feedback_sheets.py", "report.py", "audit_export.py"):
        source = (root / name).read_text(encoding="utf-8")
        assert "neutralise_formula" in source, name
        assert '("=", "+", "-", "@"' not in source, name
