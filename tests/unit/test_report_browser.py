"""The round report in headless chromium: fits 1280 px and A4 landscape, no inner scroll box, filter works."""

from __future__ import annotations

import re
from decimal import Decimal as D

from dtks.report import write_round_outputs
from dtks.report_charts import PROVINCE_TILES
from tests import browser
from tests.unit.test_report import PROVINCES, ROUND, TREND, _district

pytestmark = browser.needs_chromium

LONG = "Daerah Khusus Ibukota Jakarta Dengan Nama Panjang"


def _national_round():
    """Every province of the tile map, eight districts each, long names, a spread of figures."""
    districts, provinces = [], []
    for n, code in enumerate(sorted(PROVINCE_TILES)):
        name = LONG if code == "31" else f"Provinsi {PROVINCE_TILES[code][2].title()}"
        for i in range(8):
            cov = D(str(round(((n * 8 + i) * 37 % 100) / 100, 4)))
            districts.append(
                _district(
                    f"{code}{i + 1:02d}",
                    f"Kabupaten Kepulauan Contoh Nama Panjang {code}{i}",
                    code,
                    name,
                    coverage_24m=cov,
                    update_index=cov,
                    update_class="never" if i == 0 else "50_plus",
                    on_time=i % 2 == 0,
                    days_late=0 if i % 2 == 0 else 2,
                )
            )
        provinces.append(dict(PROVINCES[0], province_code=code, province_name=name, coverage_24m=D("0.7100")))
    return districts, provinces


def _report(tmp_path):
    districts, provinces = _national_round()
    history = [dict(p, round_id="2026-01", coverage_24m=D("0.5")) for p in provinces] + provinces
    return write_round_outputs(tmp_path, ROUND, districts, provinces, TREND, province_trend=history)["html"]


def test_report_fits_the_screen_and_a4_landscape_without_scroll_boxes(tmp_path):
    page = _report(tmp_path)
    for width in (1280, 1400):
        browser.assert_fits(browser.measure(tmp_path, page, width))
    browser.assert_fits(browser.measure(tmp_path, page, print_layout=True))


def test_report_prints_on_a4_landscape_pages(tmp_path):
    page = _report(tmp_path)
    pdf = browser.print_pdf(tmp_path, page.as_uri(), tmp_path / "report.pdf")
    pages = browser.pdf_pages(pdf)
    assert len(pages) >= 8  # a page break before each section, long tables continue
    for w, h in pages:  # A4 landscape: 842 × 595 pt
        assert abs(w - 842) < 2 and abs(h - 595) < 2, (w, h)


def test_filter_box_runs_under_the_pages_csp(tmp_path):
    """The filter script runs in chromium under the page's own CSP (report.html?q=… pre-fills the boxes)."""
    page = _report(tmp_path)
    dom = browser.dump_dom(tmp_path, page.as_uri() + "?q=Kepulauan%20Contoh%20Nama%20Panjang%20312")
    table = re.search(r'<table id="district-table".*?</table>', dom, re.S).group(0)
    rows = re.findall(r'<tr id="d-(\d+)" data-p="[^"]*"( hidden="")?>', table)
    assert len(rows) == 8 * len(PROVINCE_TILES)  # rows stay in the page; the filter hides the others
    assert [code for code, hidden in rows if not hidden] == ["3103"]
    groups = dict(re.findall(r'<tr class="group" data-group="([^"]+)"( hidden="")?', table))
    assert [g for g, h in groups.items() if not h] == [LONG]
    assert "<output>1</output>" in re.search(r'<section id="districts">.*?</section>', dom, re.S).group(0)
