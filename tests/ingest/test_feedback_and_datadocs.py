"""Feedback files for districts, and the round's Data Docs site, from a real run.

The run: one district's file with errors, warnings and values a spreadsheet
would execute; one file rejected whole; one clean file. The feedback files
and the Data Docs are written by the same functions the DAG's summarise_run
task calls.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from dtks import datadocs, feedback, feedback_sheets, merging
from dtks.spreadsheet_safety import neutralise_formula
from dtks.validation import FILE_SUITE_FILE, ROW_SUITE_FILE, load_suite_spec
from tests import browser
from tests.builders import WIB, write_csv
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

DEFECTIVE, REJECTED, CLEAN, WRONG_FOLDER = "3501", "3502", "3503", "3504"


@pytest.fixture(scope="module")
def run(module_wh, module_dirs, tmp_path_factory):
    eng = module_wh
    h.create_round(eng)
    v = h.villages(eng, DEFECTIVE, 1)[0]
    baseline_family = h.family(v, 9, 90, 6, verified="2025-01-01")
    baseline = write_csv(tmp_path_factory.mktemp("b") / "baseline.csv", h.rows_of(baseline_family))
    merging.load_baseline(eng, baseline, "baseline", datetime(2026, 7, 31, 9, 0, tzinfo=WIB))

    people = h.family(v, 1, 1, 3)
    rows = h.rows_of(people)
    rows[1]["nama"] = "=1+1"  # no letters: nama_invalid, and a formula
    rows[2]["tanggal_lahir"] = "=NOW()"  # unreadable date, and a formula
    extra = h.rows_of(h.family(v, 2, 10, 1))
    extra[0]["kode_desa"] = "-" + extra[0]["kode_desa"]  # unknown village, starts with '-'
    moved = h.rows_of(baseline_family)
    for r in moved:
        r["tanggal_verifikasi"] = "2026-08-05"
    for r in moved[2:]:
        r["status_keberadaan"] = "2"  # the family shrinks 6 -> 2: a warning on the head's row
    h.land_bytes(module_dirs["landing"], DEFECTIVE, "defects.csv", h.csv_bytes(rows + extra + moved))
    h.land_bytes(module_dirs["landing"], REJECTED, "rusak.csv", b"\x00\x01garbage" * 50)
    h.land_bytes(
        module_dirs["landing"],
        CLEAN,
        "bersih.csv",
        h.csv_bytes(h.rows_of(h.family(h.villages(eng, CLEAN, 1)[0], 1, 1, 2))),
    )
    h.land_bytes(
        module_dirs["landing"],
        WRONG_FOLDER,
        "salah_folder.csv",  # rows of district 3503
        h.csv_bytes(h.rows_of(h.family(h.villages(eng, CLEAN, 1)[0], 5, 50, 2))),
    )
    ids = h.run_pipeline(eng, module_dirs)
    outcomes = h.outcomes(eng)
    return {
        "eng": eng,
        "ids": ids,
        "outcomes": outcomes,
        "outbox": module_dirs["outbox"],
        "out": module_dirs["out"],
        "family": baseline_family,
    }


def _paths(run, file_name):
    o = run["outcomes"][file_name]
    return feedback.feedback_paths(run["outbox"], h.ROUND, o.kabkota_code, o.submission_id), o


def _csv(path: Path, fields=feedback.ROW_FIELDS) -> list[dict]:
    return h.feedback_lines(path, fields)


def test_feedback_files_per_round_and_district(run):
    for name in ("defects.csv", "rusak.csv", "bersih.csv"):
        paths, o = _paths(run, name)
        assert paths["xlsx"].parent == run["outbox"] / h.ROUND / o.kabkota_code
        for p in paths.values():
            assert p.is_file(), p
        assert paths["xlsx"].name == f"feedback_{o.submission_id}.xlsx"


def test_feedback_lists_every_row_reason_bilingual_with_values_as_sent_neutralised(run):
    paths, _o = _paths(run, "defects.csv")
    lines = _csv(paths["csv"])
    got = {(int(ln["file_row"]), ln["reason_code"]): ln for ln in lines}
    assert set(got) == {
        (2, "nama_invalid"),
        (3, "birth_date_invalid"),
        (4, "village_unknown"),
        (5, "household_size_jump"),
    }
    assert got[(2, "nama_invalid")]["value_sent"] == "'=1+1"
    assert got[(3, "birth_date_invalid")]["value_sent"] == "'=NOW()"
    # a plain negative number is read as that number, never as a formula (dtks.spreadsheet_safety)
    assert re.fullmatch(r"-[0-9]{10}", got[(4, "village_unknown")]["value_sent"])
    assert got[(5, "household_size_jump")]["severity"] == "warning"
    assert got[(2, "nama_invalid")]["severity"] == "error"
    assert got[(2, "nama_invalid")]["field"] == "nama" and got[(2, "nama_invalid")]["sheet_row"] == "3"
    spec = load_suite_spec(ROW_SUITE_FILE)
    rule = spec.rule("nama_invalid")
    assert (
        got[(2, "nama_invalid")]["alasan"] == rule.message_id and got[(2, "nama_invalid")]["reason"] == rule.message_en
    )
    assert "6 → 2" in got[(5, "household_size_jump")]["alasan"]
    summary = [
        (ln["severity"], ln["reason_code"], int(ln["rows"]))
        for ln in _csv(paths["summary_csv"], feedback.SUMMARY_FIELDS)
    ]
    # worst first: rows not accepted (by count, then code), then warnings
    assert summary == [
        ("error", "birth_date_invalid", 1),
        ("error", "nama_invalid", 1),
        ("error", "village_unknown", 1),
        ("warning", "household_size_jump", 1),
    ]


def test_feedback_workbook_for_the_district_officer(run):
    paths, o = _paths(run, "defects.csv")
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Ringkasan", "Kesalahan", "Peringatan"]
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert cell.value == neutralise_formula(cell.value), cell.value  # text cells, guarded
    first = list(wb["Ringkasan"].iter_rows(values_only=True))
    top = {r[1]: r[2] for r in first[2:6]}  # the officer's questions, in this order, right under the title
    assert list(top) == ["District", "Round", "Arrived", "Outcome"]
    assert top["District"] == f"{DEFECTIVE} Kabupaten Pacitan" and top["Round"] == h.ROUND
    received = h.ARRIVAL.astimezone(WIB)
    assert top["Arrived"] == received.strftime("%Y-%m-%d %H:%M WIB")
    assert top["Outcome"].startswith("Berkas diterima: 7 dari 10 baris masuk DTKS; 3 baris ditolak")
    assert "File accepted: 7 of 10 rows entered DTKS; 3 rows not accepted" in top["Outcome"]
    summary = {r[0]: r for r in first if r and r[0]}
    assert summary["ID kiriman"][2] == o.submission_id
    assert summary["Baris ditolak"][2] == 3 and summary["Baris dengan peringatan"][2] == 1
    head = first.index(feedback_sheets.SUMMARY_HEADERS)
    counts = [(r[0], r[1], r[4]) for r in first[head + 1 :]]
    assert counts == [
        ("baris ditolak / row not accepted", 1, "birth_date_invalid"),
        ("baris ditolak / row not accepted", 1, "nama_invalid"),
        ("baris ditolak / row not accepted", 1, "village_unknown"),
        ("peringatan / warning", 1, "household_size_jump"),
    ]

    sent = {(int(ln["file_row"]), ln["reason_code"]): ln for ln in _csv(paths["csv"])}
    for name, severities in (("Kesalahan", {"error", "critical"}), ("Peringatan", {"warning"})):
        sheet = wb[name]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == feedback_sheets.ROW_HEADERS  # one bilingual header row, nothing above it
        assert sheet.auto_filter.ref == f"A1:I{len(rows)}" and sheet.freeze_panes == "A2"
        # the sheet holds exactly the CSV lines of its severities, value for value
        want = [ln for ln in _csv(paths["csv"]) if ln["severity"] in severities]
        assert len(rows) - 1 == len(want)
        for got, line in zip(rows[1:], want):
            assert [("" if v is None else str(v)) for v in got] == [
                feedback.SEVERITY_LABEL[line["severity"]] if k == "severity" else line[k] for k in feedback.ROW_COLUMNS
            ]
    errors = {(r[8], r[4]): r for r in list(wb["Kesalahan"].iter_rows(values_only=True))[1:]}
    assert set(errors) == {(2, "nama_invalid"), (3, "birth_date_invalid"), (4, "village_unknown")}
    # the row as the district's spreadsheet numbers it (header on row 1), and the value as sent
    assert errors[(2, "nama_invalid")][0] == 3 and errors[(2, "nama_invalid")][3] == "'=1+1"
    assert errors[(2, "nama_invalid")][7].startswith("Baris ini tidak masuk DTKS. Ikuti petunjuk")
    assert [(r[8], r[4]) for r in list(wb["Peringatan"].iter_rows(values_only=True))[1:]] == [
        (5, "household_size_jump")
    ]
    assert set(sent) == set(errors) | {(5, "household_size_jump")}


def test_whole_file_rejection_feedback(run):
    paths, _o = _paths(run, "rusak.csv")
    lines = _csv(paths["csv"])
    assert [(ln["file_row"], ln["severity"], ln["reason_code"]) for ln in lines] == [
        ("", "critical", "file_unreadable")
    ]
    assert lines[0]["alasan"].startswith("Berkas tidak dapat dibaca") and lines[0]["reason"].startswith("The file")
    wb = openpyxl.load_workbook(paths["xlsx"])
    first = list(wb["Ringkasan"].iter_rows(values_only=True))
    counts = [r for r in first if r and r[4] == "file_unreadable"]
    assert counts and counts[0][:2] == ("berkas ditolak / file refused", 1)
    outcome = next(r[2] for r in first if r and r[1] == "Outcome")
    assert outcome.startswith("Seluruh berkas ditolak, tidak ada baris yang masuk DTKS: Berkas tidak dapat dibaca")
    refused = list(wb["Kesalahan"].iter_rows(values_only=True))
    assert len(refused) == 2 and refused[1][4] == "file_unreadable" and refused[1][0] is None
    assert refused[1][7].startswith("Perbaiki berkas lalu kirim ulang seluruh berkas")


def test_clean_file_feedback_says_so(run):
    paths, _o = _paths(run, "bersih.csv")
    assert _csv(paths["csv"]) == []
    wb = openpyxl.load_workbook(paths["xlsx"])
    values = [c for r in wb["Ringkasan"].iter_rows(values_only=True) for c in r if c]
    assert "Tidak ada masalah / No problems found" in values
    assert any(str(v).startswith("Berkas diterima seluruhnya: 2 baris masuk DTKS") for v in values)
    assert [len(list(wb[n].iter_rows())) for n in ("Kesalahan", "Peringatan")] == [1, 1]  # header rows only


def test_rewriting_feedback_gives_the_same_bytes(run):
    paths, o = _paths(run, "defects.csv")
    before = {k: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for k, p in paths.items()}
    import time

    time.sleep(1.1)  # a clock-dependent writer would now produce other bytes
    again = feedback.write_run_feedback(run["eng"], "another-run", run["ids"], run["outbox"])
    assert o.submission_id in again["submissions"]
    after = {k: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for k, p in paths.items()}
    assert after == before
    # a deleted feedback file is written again by the next run, whatever that run did
    paths["csv"].unlink()
    feedback.write_run_feedback(run["eng"], "later-run", [], run["outbox"])
    assert hashlib.sha256(paths["csv"].read_bytes()).hexdigest() == before["csv"][0]


def test_data_docs_site_for_the_round_works_offline(run):
    index = datadocs.build_round_site(run["eng"], h.ROUND, run["out"])
    assert index == run["out"] / h.ROUND / "data_docs" / "index.html"
    text = index.read_text(encoding="utf-8")
    rows_suite, file_suite = load_suite_spec(ROW_SUITE_FILE), load_suite_spec(FILE_SUITE_FILE)
    for o in run["outcomes"].values():
        assert f"<td>{o.submission_id}</td>" in text
    assert f"{rows_suite.name} {rows_suite.version}" in text and f"{file_suite.name} {file_suite.version}" in text
    assert "file_unreadable" in text and "nama_invalid (1)" in text
    links = re.findall(r'href="([^"]+)"', text)
    pages = [ln for ln in links if ln.startswith("validations/")]
    # a page per suite that ran: the file suite on each staged submission (the garbage file was never
    # staged), the row suite where the file passed it (not the file sent to the wrong folder)
    assert len(pages) == 3 + 2
    assert sum(1 for p in pages if p.startswith("validations/dtks_submission_file_")) == 3
    assert "file_wrong_district (1)" in text
    site = index.parent
    for link in links:
        assert (site / link).is_file(), link
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", html), page  # nothing fetched from the network
        for person in run["family"]:
            assert person.nik not in html and person.no_kk not in html  # no personal data
    # a rebuild brings the site up to date without failing
    assert datadocs.build_round_site(run["eng"], h.ROUND, run["out"]) == index


def test_data_docs_read_as_a_person_expects(run):
    index = datadocs.build_round_site(run["eng"], h.ROUND, run["out"])
    site, text = index.parent, index.read_text(encoding="utf-8")
    defects, refused = run["outcomes"]["defects.csv"], run["outcomes"]["rusak.csv"]
    # the index: arrival in WIB, statuses in Indonesian (and English), the GX version
    assert h.ARRIVAL.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB") in text and " UTC" not in text
    assert "digabung / merged" in text and "ditolak / rejected" in text
    import great_expectations as gx

    assert f"Great Expectations {gx.__version__}" in text
    row_page = site / next(
        ln
        for ln in re.findall(r'href="([^"]+)"', text)
        if ln.startswith("validations/dtks_submission_rows_") and f"-{defects.submission_id}/" in ln
    )
    page = row_page.read_text(encoding="utf-8")
    # GX's own stylesheets, shipped under the site and linked from the page
    for target in datadocs._VENDORED.values():
        assert (site / "static" / "vendor" / target).is_file()
        assert f'href="../../../../static/vendor/{target}"' in page
    assert (site / "static" / "vendor" / "fontawesome-free-6.6.0" / "webfonts" / "fa-solid-900.woff2").is_file()
    assert 'class="fas fa-check-circle' in page and "fa-times" in page  # status icons
    assert "newsletter" not in page.lower() and "Subscribe" not in page
    assert re.search(rf"Great Expectations Version</div></td><td[^>]*><div[^>]*>{re.escape(gx.__version__)}<", page)
    assert not re.search(r"\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)", page) and " WIB" in page
    # each rule described by its meta messages, in both languages
    rule = load_suite_spec(ROW_SUITE_FILE).rule("nama_invalid")
    assert (
        html.escape(
            f"nama_invalid · baris ditolak / row not accepted — {rule.message_id} / {rule.message_en}", quote=False
        )
        in page
    )
    # the file suite has pages too, a file refused by it included
    wrong = run["outcomes"]["salah_folder.csv"]
    file_page = next(site.glob(f"validations/dtks_submission_file_*/submission-{wrong.submission_id}/*/*.html"))
    assert "file_wrong_district" in file_page.read_text(encoding="utf-8")
    assert (
        site
        / "expectations"
        / f"dtks_submission_file_v{load_suite_spec(FILE_SUITE_FILE).version.replace('.', '_')}.html"
    ).is_file()
    assert f"<td>{refused.submission_id}</td>" in text  # refused by the parser: in the index, no GX page


@browser.needs_chromium
def test_data_docs_pages_styled_and_fitting_in_chromium(run, tmp_path):
    index = datadocs.build_round_site(run["eng"], h.ROUND, run["out"])
    site = index.parent
    defects = run["outcomes"]["defects.csv"]
    row_page = next(site.glob(f"validations/dtks_submission_rows_*/submission-{defects.submission_id}/*/*.html"))
    for page in (index, row_page, next(site.glob("expectations/dtks_submission_rows_*.html"))):
        browser.assert_fits(browser.measure(tmp_path, page, 1280))
        browser.assert_fits(browser.measure(tmp_path, page, print_layout=True))
    figures = browser.measure(tmp_path, row_page, 1280)
    assert figures["smallCellPadding"] == "4.8px"  # Bootstrap's .table-sm applied
    assert figures["iconFont"] == '"Font Awesome 6 Free"' and figures["iconFontLoaded"] and figures["iconWidth"] > 0
    pdf = browser.print_pdf(tmp_path, row_page.as_uri(), tmp_path / "page.pdf")
    assert browser.pdf_pages(pdf)
