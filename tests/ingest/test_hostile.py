"""Bad input never crashes the run or loses data.

Hostile files land beside good files of other districts; one run of the
real pipeline must record a clear reason for each bad one, archive every
file, and process the good ones normally. Limits are set low for this run
(``DTKS_MAX_FILE_BYTES``, ``DTKS_MAX_ROWS``) so the limit cases stay small.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import intake, landed_files
from dtks.reasons import CRITICAL_REASONS
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

MAX_BYTES = 3_000_000
MAX_ROWS = 40
GOOD = ["3501", "3502"]
EXPECTED: dict[str, tuple[str, str]] = {}  # case -> (file name, reason code)


def _valid_xlsx(eng, district) -> bytes:
    from dtks.schema import CANONICAL_COLUMNS

    people = h.family(h.villages(eng, district, 1)[0], 1, 1, 2)
    return h.xlsx_bytes([[p.row()[c] for c in CANONICAL_COLUMNS] for p in people], list(CANONICAL_COLUMNS))


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A workbook-looking zip with a 64 MiB part of zeros (about 1000:1), written without holding it in memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as member:
            block = b"\0" * (1 << 20)
            for _ in range(64):
                member.write(block)
    return buf.getvalue()


def _with_dtd(xlsx: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                data = data.replace(b"?>", b"?>" + dtd, 1) if data.startswith(b"<?xml") else dtd + data
            dst.writestr(info.filename, data)
    return out.getvalue()


def _cases(eng, landing: Path) -> None:
    rng = random.Random(3)
    v = {d: h.villages(eng, d, 1)[0] for d in ["3503", "3504", "3505", "3506"]}
    good_rows = h.rows_of(h.family(v["3503"], 1, 1, 3))

    def bad(case: str, district: str, name: str, data: bytes, reason: str):
        h.land_bytes(landing, district, name, data)
        EXPECTED[case] = (name, reason)

    bad("zero_bytes", "3503", "kosong.csv", b"", "file_empty")
    bad("whitespace_only", "3503", "spasi.csv", b"  \r\n \n\t\n", "file_empty")
    bad("header_only", "3503", "header.csv", h.csv_bytes([]), "file_empty")
    bad(
        "binary_garbage_named_csv",
        "3504",
        "garbage.csv",
        bytes(rng.randrange(256) for _ in range(5000)),
        "file_unreadable",
    )
    bad(
        "high_bytes_no_nul",
        "3504",
        "high.csv",
        b"nik,nama\n" + bytes([0x81, 0x8D, 0xFF, 0xC3]) * 500,
        "file_unreadable",
    )
    bad("zip_bomb", "3504", "bomb.xlsx", _zip_bomb(), "file_archive_unsafe")
    bad("xml_entities", "3504", "entities.xlsx", _with_dtd(_valid_xlsx(eng, "3504")), "file_archive_unsafe")
    bad("truncated_xlsx", "3504", "truncated.xlsx", _valid_xlsx(eng, "3504")[:3000], "file_unreadable")
    bad("legacy_xls", "3505", "lama.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), "file_format_unsupported")
    bad("pdf", "3505", "scan.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "file_format_unsupported")
    bad(
        "html_disguised_as_xls",
        "3505",
        "export.xls",
        b"<html><body><table><tr><td>nik</td></tr></table></body></html>",
        "file_format_unsupported",
    )
    bad(
        "docx",
        "3505",
        "surat.docx",
        _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
        "file_format_unsupported",
    )
    bad(
        "missing_columns",
        "3505",
        "kurang.csv",
        h.csv_bytes(good_rows, columns=[c for c in good_rows[0] if c != "nik"]),
        "file_missing_columns",
    )
    bad("too_large", "3506", "besar.csv", h.csv_bytes(good_rows[:1]) + b"#" * (MAX_BYTES + 1), "file_too_large")
    many = h.rows_of([p for k in range(MAX_ROWS // 2 + 1) for p in h.family(v["3506"], 10 + k, 10 + 2 * k, 2)])
    bad("too_many_rows", "3506", "banyak.csv", h.csv_bytes(many), "file_too_many_rows")
    bad("endless_line", "3506", "baris_panjang.csv", h.csv_bytes(good_rows[:1]) + b"x" * (2 << 20), "file_unreadable")
    nul_rows = h.rows_of(h.family(v["3506"], 60, 60, 2))
    nul_rows[0]["alamat"] = "JL. PANJANG " * 6000  # 72 KB: the NUL comes after the sniffed head
    nul_rows[1]["nama"] = "ADI\x00"
    bad("nul_inside_a_value", "3506", "nul.csv", h.csv_bytes(nul_rows), "file_unreadable")
    # where the folders say nothing sensible
    folderless = landing / "lepas.csv"
    folderless.write_bytes(h.csv_bytes(h.rows_of(h.family(v["3503"], 2, 5, 2))))
    os.utime(folderless, (h.ARRIVAL.timestamp(),) * 2)
    EXPECTED["file_outside_round_folders"] = ("lepas.csv", "file_misplaced")
    h.land_bytes(landing, "9999", "kode_salah.csv", h.csv_bytes(h.rows_of(h.family(v["3503"], 3, 8, 2))))
    EXPECTED["unknown_district_folder"] = ("kode_salah.csv", "district_unknown")


HOSTILE_NAMES = {
    "3507": "data\\..\\..\\etc\\passwd.csv",
    "3508": "baris\nbaru\x1b[31mmerah\r.csv",
    "3509": '=HYPERLINK("x";"klik").csv',
    "3510": "n" * 240 + ".csv",
    "3511": b"caf\xe9-bukan-utf8.csv",
    "3512": "data.xlsx",  # a CSV with a wrong extension
    "3513": "tanpa_ekstensi",
}


@pytest.fixture(scope="module")
def run(module_wh, module_dirs, tmp_path_factory):
    eng = module_wh
    landing = module_dirs["landing"]
    h.create_round(eng)
    _cases(eng, landing)
    goods = {}
    for district in GOOD:
        people = h.family(h.villages(eng, district, 1)[0], 1, 1, 3)
        goods[district] = h.land_bytes(landing, district, f"baik_{district}.csv", h.csv_bytes(h.rows_of(people)))
    # the same content again under another name: a duplicate upload
    duplicate = h.land_bytes(landing, GOOD[0], "baik_lagi.csv", goods[GOOD[0]].read_bytes())
    hostile = {}
    for district, name in HOSTILE_NAMES.items():
        people = h.family(h.villages(eng, district, 1)[0], 1, 1, 2)
        hostile[district] = h.land_bytes(landing, district, name, h.csv_bytes(h.rows_of(people)))
    # never read: links (to a file and a folder outside landing), a fifo, partial and hidden uploads
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "rahasia.csv"
    secret.write_bytes(h.csv_bytes(h.rows_of(h.family(h.villages(eng, "3514", 1)[0], 1, 1, 2))))
    (landing / h.ROUND / "3514").mkdir(parents=True)
    (landing / h.ROUND / "3514" / "link.csv").symlink_to(secret)
    (landing / h.ROUND / "3515").symlink_to(outside, target_is_directory=True)
    os.mkfifo(landing / h.ROUND / "3514" / "pipa.csv")
    skipped = [
        h.land_bytes(landing, "3516", "unggah.csv.part", b"nik,"),
        h.land_bytes(landing, "3516", ".unggah.csv.swp", b"nik,"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DTKS_MAX_FILE_BYTES", str(MAX_BYTES))
        mp.setenv("DTKS_MAX_ROWS", str(MAX_ROWS))
        ids = h.run_pipeline(eng, module_dirs)
    return {
        "ids": ids,
        "outcomes": h.outcomes(eng),
        "goods": goods,
        "duplicate": duplicate,
        "secret": secret,
        "skipped": skipped,
        "landing": landing,
        "archive": module_dirs["archive"],
        "outbox": module_dirs["outbox"],
    }


@pytest.mark.parametrize(
    "case",
    [
        "zero_bytes",
        "whitespace_only",
        "header_only",
        "binary_garbage_named_csv",
        "high_bytes_no_nul",
        "zip_bomb",
        "xml_entities",
        "truncated_xlsx",
        "legacy_xls",
        "pdf",
        "html_disguised_as_xls",
        "docx",
        "missing_columns",
        "too_large",
        "too_many_rows",
        "endless_line",
        "nul_inside_a_value",
        "file_outside_round_folders",
        "unknown_district_folder",
    ],
)
def test_bad_file_rejected_with_reason_and_archived(run, case):
    name, reason = EXPECTED[case]
    outcome = run["outcomes"][name]
    assert (outcome.status, outcome.reject_reason) == ("rejected", reason)
    message_id, _, message_en = outcome.reject_detail.partition(" / ")
    assert message_id and message_en and "{" not in outcome.reject_detail
    archived = Path(outcome.archive_path)
    assert archived.is_file() and archived.resolve().is_relative_to(run["archive"].resolve())
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == outcome.sha256
    feedback_csv = next(run["outbox"].rglob(f"feedback_{outcome.submission_id}.csv"))
    assert reason in feedback_csv.read_text(encoding="utf-8-sig")


def test_specific_details(run):
    o = run["outcomes"]
    assert "XLS/DOC" in o["lama.xls"].reject_detail and "PDF" in o["scan.pdf"].reject_detail
    assert "DOCX" in o["surat.docx"].reject_detail and "HTML" in o["export.xls"].reject_detail
    assert "nik" in o["kurang.csv"].reject_detail
    assert str(MAX_BYTES) in o["besar.csv"].reject_detail and str(MAX_ROWS) in o["banyak.csv"].reject_detail
    assert "rasio" in o["bomb.xlsx"].reject_detail and "DTD" in o["entities.xlsx"].reject_detail


def test_good_files_and_hostile_names_are_processed_normally(run):
    o = run["outcomes"]
    for district in GOOD:
        assert o[f"baik_{district}.csv"].status == "merged" and o[f"baik_{district}.csv"].rows_accepted == 3
    by_district = {x.kabkota_code: x for x in o.values()}
    for district in HOSTILE_NAMES:
        outcome = by_district[district]
        assert outcome.status == "merged" and outcome.rows_accepted == 2, (district, outcome.reject_reason)
        archived = Path(outcome.archive_path)
        assert archived.resolve().is_relative_to(run["archive"].resolve())
        assert archived.is_file() and len(archived.name) <= 140
        assert all(ch.isalnum() or ch in "._-" for ch in archived.name)
    assert by_district["3511"].file_name == "caf\\xe9-bukan-utf8.csv"  # bytes that are not UTF-8, escaped
    assert by_district["3508"].file_name == "baris\nbaru\x1b[31mmerah\r.csv"  # kept as sent, for the record
    # a name a spreadsheet would run never reaches the district's feedback file: file names are shown masked
    # (dtks.identifiers.mask_file_name keeps no word outside its list) and every cell is neutralised anyway
    xlsx = next(run["outbox"].rglob(f"feedback_{by_district['3509'].submission_id}.xlsx"))
    import openpyxl

    sheet = openpyxl.load_workbook(xlsx)["Ringkasan"]
    names = [row[2] for row in sheet.iter_rows(values_only=True) if row and row[1] == "File name"]
    assert names == ["berkas.csv"]


def test_duplicate_upload_recorded_not_applied(run, module_wh):
    original = run["outcomes"][f"baik_{GOOD[0]}.csv"]
    assert "baik_lagi.csv" not in run["outcomes"]
    with module_wh.connect() as conn:
        dup = conn.execute(sa.text("SELECT duplicate_of, file_name, sha256 FROM audit.duplicate_upload")).all()
        versions = conn.execute(
            sa.text("SELECT count(*) FROM registry.individual_version WHERE submission_id = :s"),
            {"s": original.submission_id},
        ).scalar()
    assert [tuple(d) for d in dup] == [(original.submission_id, "baik_lagi.csv", original.sha256)]
    assert versions == 3
    assert any(p.name.endswith("baik_lagi.csv") for p in run["archive"].rglob("*"))  # archived too


def test_nothing_outside_landing_read_and_waiting_files_left(run, module_wh):
    assert run["secret"].exists()
    with module_wh.connect() as conn:
        names = set(conn.execute(sa.text("SELECT file_name FROM audit.submission")).scalars())
        paths = list(conn.execute(sa.text("SELECT landing_path FROM audit.submission")).scalars())
    assert not {"link.csv", "pipa.csv", "rahasia.csv", "unggah.csv.part", ".unggah.csv.swp"} & names
    assert all(p.startswith(str(run["landing"])) or "baseline" in p for p in paths)
    for path in run["skipped"]:
        assert path.exists()  # partial/hidden uploads wait in landing
    left = {p.name for p in run["landing"].rglob("*") if p.is_file() and not p.is_symlink()}
    assert left == {"unggah.csv.part", ".unggah.csv.swp"}


def test_every_reason_code_has_both_languages():
    for reason in CRITICAL_REASONS.values():
        assert reason.message_id and reason.message_en and reason.message_id != reason.message_en


def test_file_still_being_written_waits_for_a_later_run(wh, dirs):
    h.create_round(wh)
    path = h.land_bytes(
        dirs["landing"],
        "3501",
        "tumbuh.csv",
        h.csv_bytes(h.rows_of(h.family(h.villages(wh, "3501", 1)[0], 1, 1, 2))) + b"x" * (4 << 20),
    )
    stop = threading.Event()

    def keep_writing():
        with path.open("ab") as f:
            while not stop.is_set():
                f.write(b"\n")
                f.flush()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        landed = landed_files.discover(dirs["landing"])
        assert [f.path for f in landed] == [path]
        assert intake.register(wh, landed[0], "run-1", dirs["archive"]) is None
    finally:
        stop.set()
        writer.join()
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.submission")).scalar() == 0
    assert path.exists()
    assert [p for p in dirs["archive"].rglob("*") if p.is_file()] == []
    # a settle time keeps a just-touched file waiting; once quiet it is taken
    assert landed_files.discover(dirs["landing"], settle_seconds=3600) == []
    os.utime(path, (h.ARRIVAL.timestamp(),) * 2)
    landed = landed_files.discover(dirs["landing"], settle_seconds=3600)
    assert intake.register(wh, landed[0], "run-2", dirs["archive"]) is not None
    assert not path.exists()
