"""Reading district files as sent: delimiters, encodings, column spellings, XLSX title rows."""

import pytest

from dtks.parsing import column_mapping, open_submission
from dtks.reasons import SubmissionRejected
from dtks.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

HEADER_VARIANTS = ["NIK", "No. KK", "Nama", "JENIS KELAMIN", "Tgl Lahir", "hubungan_keluarga", "kode desa",
                   "status_keberadaan", "tanggal_verifikasi"]
ROW = ["3578010403800001", "3578010201150001", "ADI", "L", "04-03-1980", "1", "35.78.01.1001", "1", "05/08/2026"]


def _rows(path):
    parsed = open_submission(path)
    return [(n, dict(zip(CANONICAL_COLUMNS, values))) for n, values in parsed.rows()]


@pytest.mark.parametrize("delimiter", [",", ";", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_variants_map_to_canonical_columns(tmp_path, delimiter, encoding):
    path = tmp_path / "f.csv"
    name = "ADI SÉTIAWAN" if encoding != "cp1252" else "ADI SÉTIAWAN"
    row = ROW[:2] + [name] + ROW[3:]
    path.write_bytes((delimiter.join(HEADER_VARIANTS) + "\r\n" + delimiter.join(row) + "\r\n\r\n").encode(encoding))
    rows = _rows(path)
    assert len(rows) == 1 and rows[0][0] == 1
    values = rows[0][1]
    assert values["nik"] == "3578010403800001"
    assert values["nama"] == "ADI SÉTIAWAN"
    assert values["kode_desa"] == "35.78.01.1001"          # passed on as sent
    assert values["tanggal_verifikasi"] == "05/08/2026"
    assert values["pkh"] is None                          # column absent in the file


def test_quoted_csv_with_embedded_delimiter(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(",".join(f'"{h}"' for h in HEADER_VARIANTS + ["alamat"]) + "\n"
                    + ",".join(f'"{v}"' for v in ROW + ["JL. MAWAR, NO. 3"]) + "\n", encoding="utf-8")
    assert _rows(path)[0][1]["alamat"] == "JL. MAWAR, NO. 3"


def test_missing_required_column_is_a_critical_rejection(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",".join(HEADER_VARIANTS[1:]) + "\n" + ",".join(ROW[1:]) + "\n", encoding="utf-8")
    with pytest.raises(SubmissionRejected) as info:
        open_submission(path)
    assert info.value.code == "file_missing_columns"
    assert "nik" in info.value.message_en and "nik" in info.value.message_id


@pytest.mark.parametrize("content, code", [
    (b"", "file_empty"),
    (b"   \n  \n", "file_empty"),
    (bytes(range(256)) * 40, "file_unreadable"),
])
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
    # Excel keeps 15 significant digits: the NIK typed as a number is stored as this double
    ws.append([3578010403800000.0, "3578010201150001", "ADI", "L", datetime.datetime(1980, 3, 4), 1,
               "3578011001", 1, datetime.date(2026, 8, 5)])
    path = tmp_path / "s.xlsx"
    wb.save(path)
    (_, values), = _rows(path)
    assert values["tanggal_lahir"] == "1980-03-04"
    assert values["tanggal_verifikasi"] == "2026-08-05"
    assert values["hubungan_keluarga"] == "1"
    # a NIK typed as a number has lost precision in Excel: it must not come back looking valid
    assert values["nik"] == "3.5780104038e+15"


def test_mapping_declares_every_required_column():
    mapping = column_mapping()
    assert set(REQUIRED_COLUMNS) <= set(mapping.alias_to_column.values())
    assert mapping.canonical("Nomor_KK") == "no_kk" and mapping.canonical(" JENIS  KELAMIN ") == "jenis_kelamin"
