"""Reading district files as sent: delimiters, encodings, column spellings, XLSX title rows."""

import pytest

from dtks.parsing import open_submission
from dtks.reading import column_mapping
from dtks.reasons import SubmissionRejected
from dtks.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

HEADER_VARIANTS = [
    "NIK",
    "No. KK",
    "Nama",
    "JENIS KELAMIN",
    "Tgl Lahir",
    "hubungan_keluarga",
    "kode desa",
    "status_keberadaan",
    "tanggal_verifikasi",
]
ROW = ["3578010403800001", "3578010201150001", "ADI", "L", "04-03-1980", "1", "35.78.01.1001", "1", "05/08/2026"]


def _rows(path):
    parsed = open_submission(path)
    return [(n, dict(zip(CANONICAL_COLUMNS, values))) for n, values in parsed.rows()]


@pytest.mark.parametrize("delimiter", [",", ";", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_variants_map_to_canonical_columns(tmp_path, delimiter, encoding):
    path = tmp_path / "f.csv"
    name = "ADI SÉTIAWAN"
    row = [*ROW[:2], name, *ROW[3:]]
    path.write_bytes((delimiter.join(HEADER_VARIANTS) + "\r\n" + delimiter.join(row) + "\r\n\r\n").encode(encoding))
    rows = _rows(path)
    assert len(rows) == 1 and rows[0][0] == 1
    values = rows[0][1]
    assert values["nik"] == "3578010403800001"
    assert values["nama"] == "ADI SÉTIAWAN"
    assert values["kode_desa"] == "35.78.01.1001"  # passed on as sent
    assert values["tanggal_verifikasi"] == "05/08/2026"
    assert values["pkh"] is None  # column absent in the file


def test_quoted_csv_with_embedded_delimiter(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        ",".join(f'"{h}"' for h in [*HEADER_VARIANTS, "alamat"])
        + "\n"
        + ",".join(f'"{v}"' for v in [*ROW, "JL. MAWAR, NO. 3"])
        + "\n",
        encoding="utf-8",
    )
    assert _rows(path)[0][1]["alamat"] == "JL. MAWAR, NO. 3"


def test_missing_required_column_is_a_critical_rejection(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",".join(HEADER_VARIANTS[1:]) + "\n" + ",".join(ROW[1:]) + "\n", encoding="utf-8")
    with pytest.raises(SubmissionRejected) as info:
        open_submission(path)
    assert info.value.code == "file_missing_columns"
    assert "nik" in info.value.message_en and "nik" in info.value.message_id


@pytest.mark.parametrize(
    "content, code",
    [
        (b"", "file_empty"),
        (b"   \n  \n", "file_empty"),
        (bytes(range(256)) * 40, "file_unreadable"),
    ],
)
def test_unreadable_inputs(tmp_path, content, code):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SubmissionRejected) as info:
        open_submission(path)
    assert info.value.code == code


def test_xlsx_with_title_rows_and_excel_dates_and_numeric_nik(tmp_path):
    import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DATA PEMUTAKHIRAN DTKS KOTA SURABAYA"])
    ws.append([])
    ws.append(HEADER_VARIANTS)
    born = datetime.datetime(1980, 3, 4)  # noqa: DTZ001 - a sheet's date has no zone
    # Excel keeps 15 significant digits: the NIK typed as a number is stored as this double
    ws.append([3578010403800000.0, "3578010201150001", "ADI", "L", born, 1, "3578011001", 1, datetime.date(2026, 8, 5)])
    path = tmp_path / "s.xlsx"
    wb.save(path)
    ((_, values),) = _rows(path)
    assert values["tanggal_lahir"] == "1980-03-04"
    assert values["tanggal_verifikasi"] == "2026-08-05"
    assert values["hubungan_keluarga"] == "1"
    # a NIK typed as a number has lost precision in Excel: it must not come back looking valid
    assert values["nik"] == "3.5780104038e+15"


def test_mapping_declares_every_required_column():
    mapping = column_mapping()
    assert set(REQUIRED_COLUMNS) <= set(mapping.alias_to_column.values())
    assert mapping.canonical("Nomor_KK") == "no_kk" and mapping.canonical(" JENIS  KELAMIN ") == "jenis_kelamin"


# ---------------------------------------------------------------- formats, encodings, limits (issue 3)
import io  # noqa: E402
import zipfile  # noqa: E402

from dtks.reading import Limits, missing_columns, sniff_format  # noqa: E402
from dtks.schema import STAGED_COLUMNS  # noqa: E402
from dtks.xlsx_reading import check_xlsx_archive  # noqa: E402


def _staged(path, **kw):
    return [(n, line, dict(zip(STAGED_COLUMNS, v))) for n, line, v in open_submission(path, **kw).records()]


@pytest.mark.parametrize(
    "head, kind",
    [
        (b"PK\x03\x04rest", "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "XLS/DOC Microsoft Office 97-2003"),
        (b"%PDF-1.7", "PDF"),
        (b"  <html><table>", "HTML/XML"),
        (b"\xef\xbb\xbf<?xml version", "HTML/XML"),
        (b"\x1f\x8b\x08", "GZIP"),
        (b"nik;nama", "csv"),
        (b"PK\x05\x06", "ZIP"),
    ],
)
def test_format_is_sniffed_from_content(head, kind):
    assert sniff_format(head) == kind


def test_title_lines_above_a_csv_header_and_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "DATA PEMUTAKHIRAN DTKS\n\n" + ";".join(HEADER_VARIANTS) + "\n" + ";".join(ROW) + "\n\n" + ";".join(ROW) + "\n",
        encoding="utf-8",
    )
    rows = _staged(path)
    assert [(n, line) for n, line, _ in rows] == [(1, 4), (2, 6)]
    assert rows[0][2]["nik"] == ROW[0]


def test_cp1252_detected_from_the_whole_file(tmp_path):
    path = tmp_path / "late.csv"
    body = "\n".join(",".join(ROW) for _ in range(1500))
    path.write_bytes(
        (",".join(HEADER_VARIANTS) + "\n" + body + "\n" + ",".join([*ROW[:2], "SÉTIAWAN", *ROW[3:]])).encode("cp1252")
    )
    assert path.stat().st_size > 64 * 1024
    parsed = open_submission(path)
    assert parsed.encoding == "cp1252"
    assert list(parsed.rows())[-1][1][3] == "SÉTIAWAN"


def test_utf8_then_something_else_is_unreadable_not_guessed(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        (",".join(HEADER_VARIANTS) + "\n" + ",".join([*ROW[:2], "SÉTIAWAN", *ROW[3:]]) + "\n").encode("utf-8")
        + b"x" * 70000
        + "\nÉ".encode("cp1252")
    )
    with pytest.raises(SubmissionRejected) as info:
        list(open_submission(path).records())
    assert info.value.code == "file_unreadable"


def test_utf16_excel_unicode_text(tmp_path):
    path = tmp_path / "u.txt"
    path.write_bytes(("\t".join(HEADER_VARIANTS) + "\r\n" + "\t".join(ROW) + "\r\n").encode("utf-16"))
    ((_, _, values),) = _staged(path)
    assert values["nik"] == ROW[0] and values["tanggal_verifikasi"] == "05/08/2026"


def test_place_names_may_replace_the_village_code():
    names = {
        c: i
        for i, c in enumerate(
            [
                "nik",
                "no_kk",
                "nama",
                "jenis_kelamin",
                "tanggal_lahir",
                "hubungan_keluarga",
                "status_keberadaan",
                "tanggal_verifikasi",
                "nama_kabkota",
                "nama_kecamatan",
                "nama_desa",
            ]
        )
    }
    assert missing_columns(names) == []
    del names["nama_kecamatan"]
    assert missing_columns(names) == ["kode_desa (nama_kabkota + nama_kecamatan + nama_desa)"]


def test_row_and_line_limits(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text(",".join(HEADER_VARIANTS) + "\n" + "\n".join(",".join(ROW) for _ in range(5)) + "\n")
    with pytest.raises(SubmissionRejected) as info:
        list(open_submission(path, Limits(max_rows=4)).records())
    assert info.value.code == "file_too_many_rows" and "4" in info.value.message_en
    with pytest.raises(SubmissionRejected) as info:
        open_submission(path, Limits(max_file_bytes=100))
    assert info.value.code == "file_too_large"
    long = tmp_path / "long.csv"
    long.write_text(",".join(HEADER_VARIANTS) + "\n" + "x" * 5000 + "\n")
    with pytest.raises(SubmissionRejected) as info:
        list(open_submission(long, Limits(max_line_chars=1000)).records())
    assert info.value.code == "file_unreadable"


def test_zip_bomb_refused_before_expanding(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (12 << 20))
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(SubmissionRejected) as info:
        check_xlsx_archive(path)
    assert info.value.code == "file_archive_unsafe"
    with pytest.raises(SubmissionRejected) as info:
        check_xlsx_archive(path, Limits(max_xlsx_expanded_bytes=1 << 20))
    assert info.value.code == "file_archive_unsafe"


def test_an_xlsx_with_a_csv_name_and_no_header_rows(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["hanya judul"])
    path = tmp_path / "x.csv"
    wb.save(path)
    with pytest.raises(SubmissionRejected) as info:
        open_submission(path)
    assert info.value.code == "file_missing_columns"
    empty = tmp_path / "e.xlsx"
    openpyxl.Workbook().save(empty)
    with pytest.raises(SubmissionRejected) as info:
        open_submission(empty)
    assert info.value.code == "file_empty"
