"""A round's outputs from its metric rows: CSV, XLSX, a self-contained HTML report, a terminal table.

Pure functions, no database access. Inputs are plain dicts as returned by
``dtks.metrics`` (values may be Decimal, datetime, bool or None). The HTML
works offline as one file: inline CSS, charts as inline SVG (dtks.report_charts),
and one small inline filter script that the page's Content-Security-Policy
allows by its hash (nothing else runs, nothing is fetched).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dtks.display import CLASS_LABELS, INDEX_THRESHOLDS, wib
from dtks.display import by_place as _by_place
from dtks.metrics import DISTRICT_COLUMNS, follow_up, league
from dtks.report_charts import (
    MAP_BANDS,
    class_bars_svg,
    coverage_strip_svg,
    district_anchor,
    map_band,
    pct,
    province_map_svg,
    province_trend_svg,
    trend_svg,
)
from dtks.spreadsheet_safety import neutralise_formula
from dtks.workbook import deterministic_xlsx

if TYPE_CHECKING:
    from dtks.rounds import Round

_FRACTION_COLUMNS = {"coverage_12m", "coverage_24m", "acceptance_rate", "updated_since_baseline", "on_time_rate_12r"}

COLUMN_NOTES = {  # column -> (Bahasa Indonesia, English)
    "round_id": ("Putaran pemutakhiran (tahun-bulan)", "Update round (year-month)"),
    "province_code": ("Kode provinsi (Kepmendagri)", "Province code (Kepmendagri)"),
    "province_name": ("Nama provinsi", "Province name"),
    "kabkota_code": ("Kode kabupaten/kota", "District (kabupaten/kota) code"),
    "kabkota_name": ("Nama kabupaten/kota", "District name"),
    "expected": ("Termasuk daftar wajib lapor putaran ini", "In the round's expected set"),
    "submitted": ("Ada kiriman yang diterima sistem", "At least one submission received"),
    "accepted": ("Ada kiriman yang diterima (digabung)", "At least one submission accepted (merged)"),
    "submissions_received": ("Jumlah kiriman", "Number of submissions received"),
    "first_accepted_at": (
        "Waktu kiriman pertama yang diterima (UTC; Excel tidak menyimpan zona waktu)",
        "Time of first accepted submission (UTC; Excel keeps no time zone)",
    ),
    "on_time": (
        "Tepat waktu (diterima paling lambat pada batas waktu)",
        "On time (first accepted file by the cut-off)",
    ),
    "days_late": (
        "Hari keterlambatan setelah batas waktu (dalam masa tenggang)",
        "Days late after the cut-off (within the grace days)",
    ),
    "submission_lag_days": ("Hari sejak kiriman terakhir yang diterima", "Days since last accepted submission"),
    "active_records": ("Jumlah rekaman aktif", "Active records"),
    "coverage_12m": ("Proporsi rekaman diverifikasi dalam 12 bulan", "Share of records verified within 12 months"),
    "coverage_24m": ("Proporsi rekaman diverifikasi dalam 24 bulan", "Share of records verified within 24 months"),
    "record_age_median_days": ("Median umur rekaman (hari)", "Median record age (days)"),
    "record_age_p90_days": ("Persentil ke-90 umur rekaman (hari)", "90th percentile record age (days)"),
    "rows_submitted": ("Baris dikirim", "Rows submitted"),
    "rows_accepted": ("Baris diterima", "Rows accepted"),
    "acceptance_rate": ("Baris diterima / baris dikirim", "Accepted rows / submitted rows"),
    "missed_rounds": ("Putaran berturut-turut tanpa kiriman diterima", "Consecutive rounds without acceptance"),
    "updated_since_baseline": ("Proporsi rekaman dimutakhirkan sejak baseline", "Share updated since the baseline"),
    "update_class": ("Kelas: never / under_50 / 50_plus", "Class: never / under 50% / 50% or more"),
    "on_time_rate_12r": ("Tingkat tepat waktu 12 putaran terakhir", "On-time rate over the last 12 rounds"),
    "update_index": (
        "Indeks: 0,50·cakupan24 + 0,25·tepat waktu + 0,25·penerimaan",
        "Index: 0.50·coverage24m + 0.25·on-time rate + 0.25·acceptance rate",
    ),
    "index_ge_070": ("Indeks ≥ 0,70", "Index at or above 0.70"),
    "index_ge_075": ("Indeks ≥ 0,75", "Index at or above 0.75"),
}


# ---------------------------------------------------------------- value helpers
def num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, Decimal)) and v == int(v) and not isinstance(v, bool):
        return f"{int(v):,}".replace(",", "\u202f")
    return f"{float(v):.1f}" if isinstance(v, (float, Decimal)) else str(v)


def yes_no(v: object) -> str:
    return "–" if v is None else ("ya" if v else "tidak")


def _plain(v: object) -> str:
    """A value as plain CSV text; strings that a spreadsheet would run as a formula get a ' prefix."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    return neutralise_formula(str(v))


def _get(obj: object, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _atomic(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


# ---------------------------------------------------------------- CSV / XLSX
def write_district_csv(path: Path, districts: list[dict[str, Any]]) -> None:
    path = Path(path)
    tmp = _atomic(path)
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        write_district_csv_to(fh, districts)
    os.replace(tmp, path)


def write_district_csv_to(fh: IO[str], districts: list[dict[str, Any]]) -> None:
    """The district table as CSV (header, one row per district) on an open text stream."""
    writer = csv.writer(fh)
    writer.writerow(DISTRICT_COLUMNS)
    for d in districts:
        writer.writerow([_plain(d.get(c)) for c in DISTRICT_COLUMNS])


def _xlsx_value(v: object) -> object:
    if isinstance(v, datetime) and v.tzinfo is not None:  # Excel has no time zones: store UTC
        return v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(v, str):
        return neutralise_formula(v)
    return v


def write_district_xlsx(path: Path, districts: list[dict[str, Any]]) -> None:
    path = Path(path)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "districts"
    ws.append(list(DISTRICT_COLUMNS))
    for d in districts:
        ws.append([_xlsx_value(d.get(c)) for c in DISTRICT_COLUMNS])
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
    for idx, col in enumerate(DISTRICT_COLUMNS, start=1):
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = max(10, min(30, len(col) + 2))
        fmt = (
            "0.00%"
            if col in _FRACTION_COLUMNS
            else "0.0000"
            if col == "update_index"
            else "yyyy-mm-dd hh:mm:ss"
            if col == "first_accepted_at"
            else None
        )
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell.number_format = fmt
    ws.freeze_panes = "F2"
    ws.auto_filter.ref = ws.dimensions
    notes = wb.create_sheet("keterangan")
    notes.append(["kolom / column", "keterangan (Bahasa Indonesia)", "description (English)"])
    for cell in notes[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
    for col in DISTRICT_COLUMNS:
        notes.append([col, *COLUMN_NOTES.get(col, ("", ""))])
    for letter, width in (("A", 26), ("B", 60), ("C", 60)):
        notes.column_dimensions[letter].width = width
    tmp = _atomic(path)
    # the same metrics give the same bytes (no clock in the file), like the districts' feedback workbooks
    tmp.write_bytes(deterministic_xlsx(wb, datetime(2000, 1, 1, tzinfo=UTC)))
    os.replace(tmp, path)


def _national(round_id: str, trend: list[dict[str, Any]]) -> dict[str, Any]:
    """The round's national row (metrics.national_round, through the trend): the SQL's rollup, never re-derived."""
    return next((row for row in trend if row.get("round_id") == round_id), {})


# ---------------------------------------------------------------- HTML
# The report's one script: the filter boxes (and ?q= in the address pre-fills them). The page's
# Content-Security-Policy allows exactly this script by its hash, and nothing from the network.
_FILTER_SCRIPT = """(function(){
var q=new URLSearchParams(location.search).get('q')||'';
function apply(box){
var t=document.getElementById(box.getAttribute('data-filter')),s=box.value.trim().toLowerCase(),seen={},n=0;
t.querySelectorAll('tbody tr:not([data-group])').forEach(function(r){
var hit=!s||(r.textContent+' '+(r.getAttribute('data-p')||'')).toLowerCase().indexOf(s)>=0;
r.hidden=!hit;if(hit){n++;seen[r.getAttribute('data-p')]=1;}});
t.querySelectorAll('tbody tr[data-group]').forEach(function(g){g.hidden=!seen[g.getAttribute('data-group')];});
var out=box.closest('.filter').querySelector('output');if(out)out.textContent=n;}
document.querySelectorAll('input[data-filter]').forEach(function(box){
box.addEventListener('input',function(){apply(box);});if(q){box.value=q;apply(box);}});
})();"""
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "script-src 'sha256-" + base64.b64encode(hashlib.sha256(_FILTER_SCRIPT.encode()).digest()).decode() + "'"
)
_TEMPLATE = (Path(__file__).with_name("report_template.html")).read_text(encoding="utf-8")

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_ENV.globals.update(num=num, pct=pct)
_COMPILED = _ENV.from_string(_TEMPLATE)


def _td(value: object, numeric: bool = False) -> Markup:
    return Markup('<td class="n">{}</td>' if numeric else "<td>{}</td>").format(value)


def _rows_cell(d: dict[str, Any]) -> Markup:
    return _td(f"{num(d.get('rows_accepted'))} / {num(d.get('rows_submitted'))}", True)


def submission_status(d: dict[str, Any]) -> tuple[str, str]:
    """What a district did this round, in words (Bahasa Indonesia, English)."""
    files = int(d.get("submissions_received") or 0)
    if not d.get("submitted"):
        said = ("tidak mengirim", "nothing sent")
    elif not d.get("accepted"):
        said = (f"{files} berkas, tidak ada yang diterima", f"{files} file(s), none accepted")
    elif d.get("on_time"):
        said = ("diterima tepat waktu", "accepted on time")
    else:
        late = int(d.get("days_late") or 0)
        said = (f"diterima, terlambat {late} hari", f"accepted {late} day{'s' if late != 1 else ''} late")
    if not d.get("expected"):
        said = ("tidak wajib lapor; " + said[0], "not expected; " + said[1])
    return said


def _status_cell(d: dict[str, Any]) -> Markup:
    id_, en = submission_status(d)
    return Markup('<td>{} <span class="en">/ {}</span></td>').format(id_, en)


_DISTRICT_HTML_COLUMNS = [  # the CSV/XLSX hold every column (P90 record age too)
    ("Kode", lambda d: _td(d.get("kabkota_code"))),
    ("Kabupaten/Kota", lambda d: _td(d.get("kabkota_name"))),
    ("Kiriman / Submission", _status_cell),
    ("Jeda / Lag (hari / days)", lambda d: _td(num(d.get("submission_lag_days")), True)),
    ("Rekaman aktif / Active records", lambda d: _td(num(d.get("active_records")), True)),
    ("Cakupan 12 bln / Coverage 12m", lambda d: _td(pct(d.get("coverage_12m")), True)),
    ("Cakupan 24 bln / Coverage 24m", lambda d: _td(pct(d.get("coverage_24m")), True)),
    ("Median umur / Median age (hari / days)", lambda d: _td(num(d.get("record_age_median_days")), True)),
    ("Baris diterima / dikirim · Rows accepted / sent", _rows_cell),
    ("Penerimaan / Acceptance", lambda d: _td(pct(d.get("acceptance_rate")), True)),
    ("Putaran terlewat / Rounds missed", lambda d: _td(num(d.get("missed_rounds")), True)),
    ("Sejak baseline / Since baseline", lambda d: _td(pct(d.get("updated_since_baseline")), True)),
    (
        "Kelas / Class",
        lambda d: Markup('<td><span class="cls cls-{}">{}</span></td>').format(
            d.get("update_class"), CLASS_LABELS.get(d.get("update_class"), d.get("update_class") or "–")
        ),
    ),
    ("Tepat waktu 12 putaran / On time, 12 rounds", lambda d: _td(pct(d.get("on_time_rate_12r")), True)),
    ("Indeks / Index", lambda d: _td(_idx(d.get("update_index")), True)),
]


def _district_groups(districts: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for d in _by_place(districts):
        code = str(d.get("province_code") or "")
        groups.setdefault(code, (str(d.get("province_name") or code), []))[1].append(d)
    return [groups[c] for c in sorted(groups)]


def _province_trends(
    provinces: list[dict[str, Any]], province_trend: list[dict[str, Any]] | None, round_id: str
) -> tuple[list[tuple[str, str, Markup]], str]:
    """(full name, last figures, small chart) per province, and the rounds spanned; the current round's
    province rows stand in for a missing history."""
    history: dict[str, list[dict[str, Any]]] = {}
    for row in province_trend or []:
        history.setdefault(str(row.get("province_code")), []).append(row)
    for p in provinces:
        rows = history.setdefault(str(p.get("province_code")), [])
        if not any(r.get("round_id") == round_id for r in rows):
            rows.append(p)
    out: list[tuple[str, str, Markup]] = []
    rounds_seen: set[str] = set()
    names = {str(p.get("province_code")): p.get("province_name") for p in provinces}
    for code in sorted(history):
        rows = history[code]
        rounds_seen.update(str(r.get("round_id")) for r in rows)
        name = str(names.get(code) or rows[-1].get("province_name") or code)
        last = rows[-1]
        figures = f"{pct(last.get('coverage_24m'))} · {pct(last.get('on_time_rate'))}"
        out.append((name, figures, province_trend_svg(name, rows)))
    span = " – ".join(sorted({min(rounds_seen), max(rounds_seen)})) if rounds_seen else "–"
    return out, span


def _idx(v: Any) -> str:
    return "–" if v is None else f"{float(v):.3f}"


def _penetapan_rows(
    penetapan: dict[str, Any] | None, districts: list[dict[str, Any]], provinces: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if not penetapan:
        return []
    names = {str(d.get("province_code")): d.get("province_name") for d in districts}
    names.update({str(p.get("province_code")): p.get("province_name") for p in provinces})
    keys = ("active_individuals", "households", "inactive_individuals", "pkh", "bpnt", "pbi")
    rows: dict[str, dict[str, Any]] = {}
    for d in penetapan.get("districts", []):
        code = str(d.get("province_code"))
        row = rows.setdefault(
            code, {"code": code, "name": names.get(code) or code, "districts": 0, **dict.fromkeys(keys, 0)}
        )
        row["districts"] += 1
        for k in keys:
            row[k] += int(d.get(k) or 0)
    return [rows[c] for c in sorted(rows)]


def render_round_report(
    round_info: Round | dict[str, Any],
    districts: list[dict[str, Any]],
    provinces: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    links: dict[str, str] | None = None,
    penetapan: dict[str, Any] | None = None,
    province_trend: list[dict[str, Any]] | None = None,
    new_districts: list[dict[str, Any]] | None = None,
) -> str:
    """The report as one offline HTML file; ``province_trend`` is metrics.province_trend (oldest first);
    ``new_districts`` is metrics.new_districts (districts created by a split)."""
    r = {
        k: _get(round_info, k)
        for k in ("round_id", "opens_on", "cutoff_on", "grace_days", "penetapan_on", "last_grace_day")
    }
    nat = _national(r["round_id"], trend)
    tiles = [
        (num(nat.get("expected_districts")), "Kab/kota wajib lapor / Expected districts"),
        (num(nat.get("submitted_districts")), "Mengirim / Submitted"),
        (num(nat.get("accepted_districts")), "Diterima / Accepted"),
        (pct(nat.get("reporting_rate")), "Tingkat pelaporan / Reporting rate"),
        (pct(nat.get("on_time_rate")), "Tepat waktu / On-time rate"),
        (pct(nat.get("coverage_12m")), "Cakupan 12 bulan / Coverage 12m"),
        (pct(nat.get("coverage_24m")), "Cakupan 24 bulan / Coverage 24m"),
        (pct(nat.get("acceptance_rate")), "Baris diterima / Acceptance rate"),
    ]
    expected = [d for d in districts if d.get("expected")]
    late = sum(1 for d in expected if d.get("accepted") and not d.get("on_time"))
    tiles.insert(5, (num(late), "Terlambat (masa tenggang) / Late, within grace"))
    for t in INDEX_THRESHOLDS:
        meets = sum(1 for d in expected if d.get("update_index") is not None and float(d["update_index"]) >= t)
        tiles.append((num(meets), f"Indeks ≥ {t:.2f} / Index at or above {t:.2f}".replace("≥ 0.", "≥ 0,", 1)))
    trends, span = _province_trends(provinces, province_trend, r["round_id"])
    return _COMPILED.render(
        r=r,
        tiles=tiles,
        classes=list(CLASS_LABELS.items()),
        thresholds=INDEX_THRESHOLDS,
        strip=coverage_strip_svg(districts, provinces),
        trend_chart=trend_svg(trend),
        class_chart=class_bars_svg(districts, provinces),
        pen=penetapan,
        pen_rows=_penetapan_rows(penetapan, districts, provinces),
        wib=wib,
        provinces=sorted(provinces, key=lambda p: str(p.get("province_code"))),
        league=league(districts),
        follow=follow_up(districts),
        districts=_by_place(districts),
        dcols=_DISTRICT_HTML_COLUMNS,
        links=links,
        idx=_idx,
        width=lambda v: 0 if v is None else round(max(0.0, min(1.0, float(v))) * 100, 1),
        class_label=lambda c: CLASS_LABELS.get(c, c or "–"),
        anchor=district_anchor,
        district_groups=_district_groups(districts),
        province_map=province_map_svg(provinces),
        map_legend=[(colour, label) for _, colour, label in MAP_BANDS] + [map_band(None)],
        province_trends=trends,
        trend_span=span,
        csp=CSP,
        script=Markup(_FILTER_SCRIPT),
        new_districts=new_districts or [],
    )


def write_round_outputs(
    out_dir: Path,
    round_info: Round | dict[str, Any],
    districts: list[dict[str, Any]],
    provinces: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    links: dict[str, str] | None = None,
    penetapan: dict[str, Any] | None = None,
    province_trend: list[dict[str, Any]] | None = None,
    new_districts: list[dict[str, Any]] | None = None,
) -> dict[str, Path]:
    """Write <out_dir>/<round_id>/district_metrics.csv, .xlsx and report.html; the report links the two tables."""
    round_id = str(_get(round_info, "round_id"))
    if not round_id or not re.fullmatch(r"[A-Za-z0-9_.-]+", round_id) or round_id.strip(".") == "":
        raise ValueError(f"round id {round_id!r} cannot name an output folder")
    folder = Path(out_dir) / round_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": folder / "district_metrics.csv",
        "xlsx": folder / "district_metrics.xlsx",
        "html": folder / "report.html",
    }
    write_district_csv(paths["csv"], districts)
    write_district_xlsx(paths["xlsx"], districts)
    all_links = {
        "Tabel kab/kota / District table (CSV)": paths["csv"].name,
        "Tabel kab/kota / District table (XLSX)": paths["xlsx"].name,
        **(links or {}),
    }
    html = render_round_report(
        round_info,
        districts,
        provinces,
        trend,
        all_links,
        penetapan=penetapan,
        province_trend=province_trend,
        new_districts=new_districts,
    )
    tmp = _atomic(paths["html"])
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, paths["html"])
    return paths
