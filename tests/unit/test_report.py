"""The round outputs (CSV, XLSX, HTML report, terminal table) from hand-built metric rows; no database."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal as D
from html import unescape

import openpyxl
import pytest

from dtks.display import INDEX_THRESHOLDS
from dtks.metrics import DISTRICT_COLUMNS
from dtks.report import (
    render_round_report,
    write_district_csv,
    write_district_xlsx,
    write_round_outputs,
)

ROUND = {
    "round_id": "2026-02",
    "opens_on": date(2026, 2, 1),
    "cutoff_on": date(2026, 2, 20),
    "grace_days": 3,
    "penetapan_on": date(2026, 3, 15),
}


def _district(code, name, prov, prov_name, **kw):
    row = dict(
        round_id="2026-02",
        province_code=prov,
        province_name=prov_name,
        kabkota_code=code,
        kabkota_name=name,
        expected=True,
        submitted=True,
        accepted=True,
        submissions_received=1,
        first_accepted_at=datetime(2026, 2, 10, 3, 4, 5, tzinfo=UTC),
        on_time=True,
        days_late=0,
        submission_lag_days=0,
        active_records=100,
        coverage_12m=D("0.5000"),
        coverage_24m=D("0.8000"),
        record_age_median_days=D("120.0"),
        record_age_p90_days=D("400.5"),
        rows_submitted=100,
        rows_accepted=95,
        acceptance_rate=D("0.9500"),
        missed_rounds=0,
        updated_since_baseline=D("0.6000"),
        update_class="50_plus",
        on_time_rate_12r=D("1.0000"),
        update_index=D("0.8000"),
        index_ge_070=True,
        index_ge_075=True,
    )
    row.update(kw)
    if row["update_index"] is not None:
        row["index_ge_070"], row["index_ge_075"] = row["update_index"] >= D("0.70"), row["update_index"] >= D("0.75")
    else:
        row["index_ge_070"] = row["index_ge_075"] = None
    assert tuple(row) == DISTRICT_COLUMNS
    return row


# Follow-up, computed by hand:
#   1101 accepted on time, index 0.8412            -> none
#   1102 accepted 3 days late, index 0.7255        -> late + index below 0.75 (the 2026 minimum)
#   1201 submitted, nothing accepted, index 0.4125 -> not accepted + index below 0.70
#   1202 did not submit, 4 rounds missed in a row,
#        index 0.0500                              -> not submitted + 4 rounds missed + index below 0.70
#   1203 not expected                               -> none (not in the round's expected set)
DISTRICTS = [
    _district(
        "1102",
        '=HYPERLINK("http://x","klik")',
        "11",
        "Aceh",
        on_time=False,
        days_late=3,
        coverage_24m=D("0.7210"),
        update_index=D("0.7255"),
    ),
    _district(
        "1101",
        "Kabupaten Simeulue Dengan Nama Sangat Panjang Sekali",
        "11",
        "Aceh",
        coverage_12m=D("0.4617"),
        coverage_24m=D("0.8123"),
        update_index=D("0.8412"),
    ),
    _district(
        "1201",
        "-Nias",
        "12",
        "Sumatera Utara",
        accepted=False,
        first_accepted_at=None,
        on_time=False,
        days_late=None,
        submissions_received=2,
        rows_accepted=0,
        acceptance_rate=D("0.0000"),
        coverage_24m=D("0.5500"),
        update_class="under_50",
        update_index=D("0.4125"),
    ),
    _district(
        "1202",
        "Tapanuli Tengah",
        "12",
        "Sumatera Utara",
        submitted=False,
        accepted=False,
        submissions_received=0,
        first_accepted_at=None,
        on_time=False,
        days_late=None,
        rows_submitted=0,
        rows_accepted=0,
        acceptance_rate=None,
        missed_rounds=4,
        coverage_12m=D("0.0200"),
        coverage_24m=D("0.1000"),
        update_class="never",
        update_index=D("0.0500"),
    ),
    _district(
        "1203",
        "<b>Kota Baru</b>",
        "12",
        "Sumatera Utara",
        expected=False,
        submitted=False,
        accepted=False,
        submissions_received=0,
        first_accepted_at=None,
        on_time=False,
        days_late=None,
        active_records=0,
        coverage_12m=None,
        coverage_24m=None,
        record_age_median_days=None,
        record_age_p90_days=None,
        rows_submitted=0,
        rows_accepted=0,
        acceptance_rate=None,
        updated_since_baseline=None,
        update_class="never",
        on_time_rate_12r=None,
        update_index=None,
    ),
]
PROVINCES = [
    dict(
        round_id="2026-02",
        province_code="11",
        province_name="Aceh",
        expected_districts=2,
        submitted_districts=2,
        accepted_districts=2,
        on_time_districts=1,
        reporting_rate=D("1.0000"),
        on_time_rate=D("0.5000"),
        active_records=200,
        coverage_12m=D("0.4809"),
        coverage_24m=D("0.7667"),
        acceptance_rate=D("0.9500"),
    ),
    dict(
        round_id="2026-02",
        province_code="12",
        province_name="Sumatera Utara",
        expected_districts=2,
        submitted_districts=1,
        accepted_districts=0,
        on_time_districts=0,
        reporting_rate=D("0.0000"),
        on_time_rate=D("0.0000"),
        active_records=200,
        coverage_12m=D("0.2600"),
        coverage_24m=D("0.3250"),
        acceptance_rate=D("0.0000"),
    ),
]
TREND = [
    dict(
        round_id="2026-01",
        expected_districts=4,
        submitted_districts=3,
        accepted_districts=3,
        on_time_districts=2,
        reporting_rate=D("0.7500"),
        on_time_rate=D("0.5000"),
        active_records=400,
        coverage_12m=D("0.3000"),
        coverage_24m=D("0.5000"),
        acceptance_rate=D("0.9000"),
    ),
    dict(
        round_id="2026-02",
        expected_districts=4,
        submitted_districts=3,
        accepted_districts=2,
        on_time_districts=1,
        reporting_rate=D("0.5000"),
        on_time_rate=D("0.2500"),
        active_records=400,
        coverage_12m=D("0.3705"),
        coverage_24m=D("0.5458"),
        acceptance_rate=D("0.6333"),
    ),
]
EXPECTED_FOLLOW_UP = {
    "1102": ["Terlambat 3 hari", "Indeks pemutakhiran di bawah 0,75"],
    "1201": ["Kiriman ada, tetapi tidak ada yang diterima", "Indeks pemutakhiran di bawah 0,70"],
    "1202": [
        "Tidak mengirim data",
        "4 putaran berturut-turut tanpa kiriman diterima",
        "Indeks pemutakhiran di bawah 0,70",
    ],
}
EXPECTED_FOLLOW_UP_EN = {
    "1102": ["Submitted 3 days late", "Update index below 0.75"],
    "1201": ["Submitted, but nothing accepted", "Update index below 0.70"],
    "1202": ["Did not submit", "4 rounds in a row without an accepted submission", "Update index below 0.70"],
}


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


@pytest.fixture(scope="module")
def html() -> str:
    return render_round_report(ROUND, DISTRICTS, PROVINCES, TREND, links={"Data Docs": "../data_docs/index.html"})


def test_thresholds():
    assert INDEX_THRESHOLDS == (0.70, 0.75)


def test_csv_values_and_formula_neutralising(tmp_path):
    path = tmp_path / "d.csv"
    write_district_csv(path, DISTRICTS)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == DISTRICT_COLUMNS
    assert len(rows) == 1 + len(DISTRICTS)
    by_code = {r[DISTRICT_COLUMNS.index("kabkota_code")]: dict(zip(DISTRICT_COLUMNS, r)) for r in rows[1:]}
    assert by_code["1101"]["coverage_12m"] == "0.4617"
    assert by_code["1101"]["coverage_24m"] == "0.8123"
    assert by_code["1101"]["update_index"] == "0.8412"
    assert by_code["1101"]["record_age_median_days"] == "120.0"
    assert by_code["1101"]["expected"] == "true" and by_code["1203"]["expected"] == "false"
    assert by_code["1101"]["first_accepted_at"] == "2026-02-10T03:04:05+00:00"
    assert by_code["1203"]["coverage_24m"] == "" and by_code["1201"]["days_late"] == ""
    assert by_code["1102"]["kabkota_name"] == """'=HYPERLINK("http://x","klik")"""
    assert by_code["1201"]["kabkota_name"] == "'-Nias"
    assert by_code["1203"]["kabkota_name"] == "<b>Kota Baru</b>"


@pytest.mark.parametrize(
    "name, written",
    [
        ("+62 Kota", "'+62 Kota"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("=1+1", "'=1+1"),
        ("-1", "-1"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("Kota -Baru", "Kota -Baru"),
        ("", ""),
    ],
)
def test_csv_formula_rule(tmp_path, name, written):
    path = tmp_path / "d.csv"
    write_district_csv(path, [_district("1101", name, "11", "Aceh", missed_rounds=-1)])
    with path.open(encoding="utf-8", newline="") as fh:
        row = dict(zip(DISTRICT_COLUMNS, list(csv.reader(fh))[1]))
    assert row["kabkota_name"] == written
    assert row["missed_rounds"] == "-1"


def test_xlsx(tmp_path):
    path = tmp_path / "d.xlsx"
    write_district_xlsx(path, DISTRICTS)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["districts", "keterangan"]
    ws = wb["districts"]
    assert ws.max_row == 1 + len(DISTRICTS)
    assert tuple(c.value for c in ws[1]) == DISTRICT_COLUMNS
    names = {ws.cell(row=i, column=5).value for i in range(2, ws.max_row + 1)}
    assert """'=HYPERLINK("http://x","klik")""" in names and "'-Nias" in names
    assert all(ws.cell(row=i, column=5).data_type == "s" for i in range(2, ws.max_row + 1))
    cov = {
        ws.cell(row=i, column=4).value: ws.cell(row=i, column=DISTRICT_COLUMNS.index("coverage_12m") + 1).value
        for i in range(2, ws.max_row + 1)
    }
    assert float(cov["1101"]) == pytest.approx(0.4617)
    notes = wb["keterangan"]
    assert notes.max_row == 1 + len(DISTRICT_COLUMNS)
    assert all(
        notes.cell(row=i, column=2).value and notes.cell(row=i, column=3).value for i in range(2, notes.max_row + 1)
    )


def test_html_sections_and_offline(html):
    for sid in ("summary", "coverage-by-province", "trend", "league", "follow-up", "districts", "links"):
        assert f'id="{sid}"' in html
    assert "http://" not in html.replace("HYPERLINK(&#34;http://x", "") and "https://" not in html
    assert "<link" not in html.lower() and "@import" not in html and "src=" not in html
    assert "&lt;b&gt;Kota Baru&lt;/b&gt;" in html and "<b>Kota Baru" not in html


def test_html_runs_only_its_own_filter_script_under_a_strict_csp(html):
    """One inline script (the filter boxes); the page's CSP allows exactly that script, by its hash."""
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and html.lower().count("<script") == 1
    csp = unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1))
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe-eval" not in csp
    assert "script-src 'unsafe-inline'" not in csp and "connect-src" not in csp


def test_no_inner_scroll_boxes_and_a_print_stylesheet(html):
    assert "max-height" not in html and not re.search(r"overflow(-[xy])?:\s*(auto|scroll)", html)
    assert "position:sticky" in html  # headers stay while the page scrolls
    printing = html[html.index("@media print") :]
    assert "@page{size:A4 landscape" in html
    assert "break-before:page" in printing and "thead{display:table-header-group}" in printing


def test_html_offline_strict():
    """Without a formula-looking name carrying a URL, the page contains no URL at all."""
    clean = [dict(d, kabkota_name="Kab. Contoh") if d["kabkota_code"] == "1102" else d for d in DISTRICTS]
    page = render_round_report(ROUND, clean, PROVINCES, TREND)
    assert "http://" not in page and "https://" not in page
    assert 'id="links"' not in page


def test_html_summary(html):
    summary = _section(html, "summary")
    for text in ("50.0%", "25.0%", "37.0%", "54.6%", "63.3%", ">4<", ">3<", ">2<"):
        assert text in summary


def test_coverage_chart(html):
    sec = _section(html, "coverage-by-province")
    assert sec.count("<svg") == 1
    plotted = [d for d in DISTRICTS if d["coverage_24m"] is not None]
    assert sec.count('<circle class="dot"') == len(plotted) == 4
    assert sec.count('class="median"') == 2  # one per province
    assert sec.count('class="thr"') == 2  # 70% and 75%
    assert "81.2%" in sec and "Sumatera Utara" in sec  # tooltip and province table
    assert "76.7%" in sec and "32.5%" in sec
    # every dot links to its district's row in the district table, and its title names the district
    links = re.findall(r'<a href="#d-(\d+)"><circle class="dot"[^>]*><title>(.*?)</title>', sec)
    assert sorted(links) == [
        ("1101", "1101 Kabupaten Simeulue Dengan Nama Sangat Panjang Sekali: 81.2%"),
        ("1102", "1102 =HYPERLINK(&#34;http://x&#34;,&#34;klik&#34;): 72.1%"),
        ("1201", "1201 -Nias: 55.0%"),
        ("1202", "1202 Tapanuli Tengah: 10.0%"),
    ]
    for code, _ in links:
        assert f'<tr id="d-{code}"' in html
    # the lowest district of each province is named beside the chart (for paper, where nothing hovers)
    assert re.findall(r'class="lowest">(.*?)</text>', sec) == [
        "=HYPERLINK(&#34;http://x&#34;,&#34;klik&#34;) 72.1%",
        "Tapanuli Tengah 10.0%",
    ]


def test_full_province_names_in_every_chart():
    long_name = "Daerah Khusus Ibukota Jakarta"
    provinces = [dict(p, province_name=long_name) if p["province_code"] == "11" else p for p in PROVINCES]
    districts = [dict(d, province_name=long_name) if d["province_code"] == "11" else d for d in DISTRICTS]
    page = render_round_report(ROUND, districts, provinces, TREND)
    for sid in ("coverage-by-province", "update-class", "province-trends"):
        assert f">{long_name}<" in _section(page, sid) or f">{long_name}\n" in _section(page, sid), sid


def test_province_trend_lines():
    history = [dict(PROVINCES[0], round_id="2026-01", coverage_24m=D("0.6000"), on_time_rate=D("0.2500")), PROVINCES[0]]
    page = render_round_report(ROUND, DISTRICTS, PROVINCES, TREND, province_trend=history)
    sec = _section(page, "province-trends")
    figures = re.findall(r"<figure>(.*?)</figure>", sec, re.S)
    assert len(figures) == 2  # Aceh and Sumatera Utara
    aceh, sumut = figures
    assert aceh.count("<polyline") == 2  # coverage and on-time rate, over two rounds
    assert "Aceh 2026-01 – Cakupan 24 bln / Coverage 24m: 60.0%" in aceh
    assert "Aceh 2026-02 – Tepat waktu / On-time rate: 50.0%" in aceh
    assert "76.7% · 50.0%" in aceh  # the latest round's figures
    assert "<polyline" not in sumut and sumut.count('<circle class="pt') == 2  # one round: points only
    assert "2026-01 – 2026-02" in sec


def test_province_tile_map():
    sec = _section(render_round_report(ROUND, DISTRICTS, PROVINCES, TREND), "map")
    tiles = re.findall(r'<a href="#p-(\d+)"><g class="tile"><title>(.*?)</title><rect [^>]*fill="(#[0-9a-f]+)"', sec)
    # Aceh 76.7% (≥ 75%: green), Sumatera Utara 32.5% (< 50%: red)
    assert [(c, colour) for c, _, colour in tiles] == [("11", "#2e7d32"), ("12", "#c62828")]
    assert tiles[0][1].startswith("Aceh: cakupan 24 bln / coverage 24m 76.7%")
    assert sec.count('class="tile out"') == 38 - 2  # the other provinces, outlined for orientation


def test_trend_chart(html):
    sec = _section(html, "trend")
    assert sec.count("<svg") == 1
    # three series: reporting rate, on-time rate, 24-month coverage
    assert sec.count('<circle class="pt') == 3 * len(TREND)
    assert sec.count("<polyline") == 3
    assert (
        "2026-02 – Tepat waktu / On-time rate: 25.0%" in sec and "2026-01 – Cakupan 24 bln / Coverage 24m: 50.0%" in sec
    )


def test_trend_single_round():
    page = render_round_report(ROUND, DISTRICTS, PROVINCES, TREND[1:])
    sec = _section(page, "trend")
    assert sec.count('<circle class="pt') == 3 and "<polyline" not in sec


def _tiles(page: str) -> dict[str, str]:
    found = re.findall(r'<div class="v">(.*?)</div><div class="k">(.*?)</div>', _section(page, "summary"))
    return {k: v for v, k in found}


def test_summary_is_the_national_row_never_re_derived():
    """The national tiles are metrics.national_round as metrics_district_round.sql computed it (the authority):
    the report does not re-derive them from the district rows, with or without that row."""
    row = dict(
        TREND[1], expected_districts=5, accepted_districts=4, reporting_rate=D("0.8000"), on_time_rate=D("0.6000")
    )
    tiles = _tiles(render_round_report(ROUND, DISTRICTS, PROVINCES, [TREND[0], row]))
    assert tiles["Kab/kota wajib lapor / Expected districts"] == "5"  # the district rows hold 4 expected
    assert tiles["Tingkat pelaporan / Reporting rate"] == "80.0%"  # they would give 2 of 4 = 50.0%
    assert tiles["Tepat waktu / On-time rate"] == "60.0%"  # they would give 1 of 4 = 25.0%
    bare = _tiles(render_round_report(ROUND, DISTRICTS, PROVINCES, []))
    for label in (
        "Kab/kota wajib lapor / Expected districts",
        "Tingkat pelaporan / Reporting rate",
        "Tepat waktu / On-time rate",
        "Cakupan 24 bulan / Coverage 24m",
    ):
        assert bare[label] == "–", label


def test_follow_up(html):
    sec = _section(html, "follow-up")
    rows = re.findall(r'<tr data-code="(\d+)">(.*?)</tr>', sec, re.S)
    assert [code for code, _ in rows] == sorted(EXPECTED_FOLLOW_UP)
    for code, body in rows:
        cells = re.findall(r"<td>(.*?)</td>", body, re.S)
        assert re.findall(r"<li>(.*?)</li>", cells[3]) == EXPECTED_FOLLOW_UP[code]
        assert re.findall(r'<li class="en">(.*?)</li>', cells[4]) == EXPECTED_FOLLOW_UP_EN[code]


def test_league_order(html):
    sec = _section(html, "league")
    codes = re.findall(r'<tr data-code="(\d+)">', sec)
    assert codes == ["1101", "1102", "1201", "1202", "1203"]
    assert sec.count('style="width:') == len(DISTRICTS)
    rows = dict(re.findall(r'<tr data-code="(\d+)">(.*?)</tr>', sec, re.S))
    assert rows["1101"].count('class="ok"') == 2  # 0.8412 meets 0.70 and 0.75
    assert rows["1102"].count('class="ok"') == 1  # 0.7255 meets 0.70 only
    assert rows["1201"].count('class="ok"') == 0
    assert rows["1203"].count('class="ok"') == 0 and "–" in rows["1203"]


def test_district_table_and_class_colours(html):
    sec = _section(html, "districts")
    rows = re.findall(r'<tr id="d-(\d+)" data-p="([^"]+)">', sec)
    assert rows == [
        ("1101", "Aceh"),
        ("1102", "Aceh"),
        ("1201", "Sumatera Utara"),
        ("1202", "Sumatera Utara"),
        ("1203", "Sumatera Utara"),
    ]
    groups = re.findall(r'<tr class="group" data-group="([^"]+)"><th colspan="\d+">(.*?)</th>', sec)
    assert groups == [("Aceh", "Aceh (2)"), ("Sumatera Utara", "Sumatera Utara (3)")]
    body = dict(re.findall(r'<tr id="d-(\d+)"[^>]*>(.*?)</tr>', sec, re.S))
    assert "diterima, terlambat 3 hari" in body["1102"] and "accepted 3 days late" in body["1102"]
    assert "2 berkas, tidak ada yang diterima" in body["1201"] and "tidak mengirim" in body["1202"]
    assert "tidak wajib lapor; tidak mengirim" in body["1203"]
    assert "95 / 100" in body["1101"]
    assert "cls-never" in sec and "cls-under_50" in sec and "cls-50_plus" in sec
    assert "46.2%" in sec


def test_write_round_outputs(tmp_path):
    paths = write_round_outputs(tmp_path, ROUND, DISTRICTS, PROVINCES, TREND, links={"Umpan balik": "feedback/"})
    assert set(paths) == {"csv", "xlsx", "html"}
    assert paths["csv"] == tmp_path / "2026-02" / "district_metrics.csv"
    assert paths["xlsx"] == tmp_path / "2026-02" / "district_metrics.xlsx"
    assert paths["html"] == tmp_path / "2026-02" / "report.html"
    assert all(p.is_file() for p in paths.values())
    links = _section(paths["html"].read_text(encoding="utf-8"), "links")
    assert 'href="district_metrics.csv"' in links and 'href="feedback/"' in links
    assert sorted(p.name for p in (tmp_path / "2026-02").iterdir()) == [
        "district_metrics.csv",
        "district_metrics.xlsx",
        "report.html",
    ]
    with pytest.raises(ValueError):
        write_round_outputs(tmp_path, dict(ROUND, round_id="../x"), DISTRICTS, PROVINCES, TREND)


def test_update_class_chart(html):
    sec = _section(html, "update-class")
    assert sec.count("<svg") == 1
    # expected districts by class: Aceh 2 × 50_plus; Sumatera Utara 1 under_50 + 1 never (1203 not expected)
    segments = re.findall(r'<rect class="seg"[^>]*><title>(.*?)</title>', sec)
    assert segments == ["Aceh – ≥ 50%: 2", "Sumatera Utara – Belum pernah / Never: 1", "Sumatera Utara – &lt; 50%: 1"]


def test_summary_tiles_late_and_thresholds(html):
    summary = _section(html, "summary")
    tiles = {k: v for v, k in re.findall(r'<div class="v">(.*?)</div><div class="k">(.*?)</div>', summary)}
    assert tiles["Terlambat (masa tenggang) / Late, within grace"] == "1"  # 1102
    assert tiles["Indeks ≥ 0,70 / Index at or above 0.70"] == "2"  # 1101, 1102
    assert tiles["Indeks ≥ 0,75 / Index at or above 0.75"] == "1"  # 1101


def test_penetapan_section():
    snapshot = {
        "round_id": "2026-02",
        "snapshot_no": 2,
        "as_of": datetime(2026, 2, 23, 17, tzinfo=UTC),
        "registry_hash": "0123456789abcdef" * 2,
        "active_individuals": 9,
        "households": 4,
        "districts": [
            dict(
                kabkota_code="1101",
                province_code="11",
                active_individuals=5,
                inactive_individuals=1,
                households=2,
                pkh=1,
                bpnt=2,
                pbi=3,
                registry_hash="x",
            ),
            dict(
                kabkota_code="1102",
                province_code="11",
                active_individuals=3,
                inactive_individuals=0,
                households=1,
                pkh=0,
                bpnt=0,
                pbi=1,
                registry_hash="y",
            ),
            dict(
                kabkota_code="1201",
                province_code="12",
                active_individuals=1,
                inactive_individuals=0,
                households=1,
                pkh=0,
                bpnt=0,
                pbi=0,
                registry_hash="z",
            ),
        ],
    }
    page = render_round_report(ROUND, DISTRICTS, PROVINCES, TREND, penetapan=snapshot)
    sec = _section(page, "penetapan")
    assert "snapshot #2" in sec and "0123456789ab" in sec and "2026-02-24 00:00 WIB" in sec
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", sec, re.S)[1:]]
    assert rows == [["Aceh", "2", "8", "3", "1", "1", "2", "4"], ["Sumatera Utara", "1", "1", "1", "0", "0", "0", "0"]]
    assert 'id="penetapan"' not in render_round_report(ROUND, DISTRICTS, PROVINCES, TREND)
