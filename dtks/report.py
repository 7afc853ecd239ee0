"""A round's outputs from its metric rows: CSV, XLSX, a self-contained HTML report, a terminal table.

Pure functions, no database access. Inputs are plain dicts as returned by
``dtks.metrics`` (values may be Decimal, datetime, bool or None). The HTML
works offline: inline CSS, charts as inline SVG drawn here, no scripts.
"""

from __future__ import annotations

import csv
import os
import re
import statistics
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from dtks.metrics import DISTRICT_COLUMNS
from dtks.spreadsheet_safety import neutralise_formula
from dtks.workbook import deterministic_xlsx

_JAKARTA = ZoneInfo("Asia/Jakarta")
INDEX_THRESHOLDS = (0.70, 0.75)  # IGD-style thresholds shown on the report (2025 / 2026 minimums)

CLASS_LABELS = {"never": "Belum pernah / Never", "under_50": "< 50%", "50_plus": "≥ 50%"}
CLASS_COLOURS = {"never": "#c62828", "under_50": "#e08e0b", "50_plus": "#2e7d32"}
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
    "first_accepted_at": ("Waktu kiriman pertama yang diterima (UTC)", "Time of first accepted submission (UTC)"),
    "on_time": ("Tepat waktu (diterima paling lambat pada batas waktu)", "On time (first accepted file by the cut-off)"),
    "days_late": ("Hari keterlambatan setelah batas waktu (dalam masa tenggang)",
                  "Days late after the cut-off (within the grace days)"),
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
    "update_index": ("Indeks: 0,50·cakupan24 + 0,25·tepat waktu + 0,25·penerimaan",
                     "Index: 0.50·coverage24m + 0.25·on-time rate + 0.25·acceptance rate"),
    "index_ge_070": ("Indeks ≥ 0,70", "Index at or above 0.70"),
    "index_ge_075": ("Indeks ≥ 0,75", "Index at or above 0.75"),
}


# ---------------------------------------------------------------- value helpers
def _f(v) -> float | None:
    return None if v is None else float(v)


def pct(v, digits: int = 1) -> str:
    return "–" if v is None else f"{float(v) * 100:.{digits}f}%"


def num(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, Decimal)) and v == int(v) and not isinstance(v, bool):
        return f"{int(v):,}".replace(",", "\u202f")
    return f"{float(v):.1f}" if isinstance(v, (float, Decimal)) else str(v)


def yes_no(v) -> str:
    return "–" if v is None else ("ya" if v else "tidak")


def _plain(v) -> str:
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


def _get(obj, key):
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _by_place(districts: list[dict]) -> list[dict]:
    return sorted(districts, key=lambda d: (str(d.get("province_code") or ""), str(d.get("kabkota_code") or "")))


def _atomic(path: Path):
    return path.with_name(f".{path.name}.tmp")


# ---------------------------------------------------------------- CSV / XLSX
def write_district_csv(path: Path, districts: list[dict]) -> None:
    path = Path(path)
    tmp = _atomic(path)
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(DISTRICT_COLUMNS)
        for d in districts:
            writer.writerow([_plain(d.get(c)) for c in DISTRICT_COLUMNS])
    os.replace(tmp, path)


def _xlsx_value(v):
    if isinstance(v, datetime) and v.tzinfo is not None:  # Excel has no time zones: store UTC
        return v.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(v, str):
        return neutralise_formula(v)
    return v


def write_district_xlsx(path: Path, districts: list[dict]) -> None:
    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "districts"
    ws.append(list(DISTRICT_COLUMNS))
    for d in districts:
        ws.append([_xlsx_value(d.get(c)) for c in DISTRICT_COLUMNS])
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
    for idx, col in enumerate(DISTRICT_COLUMNS, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        ws.column_dimensions[letter].width = max(10, min(30, len(col) + 2))
        fmt = ("0.00%" if col in _FRACTION_COLUMNS else "0.0000" if col == "update_index"
               else "yyyy-mm-dd hh:mm:ss" if col == "first_accepted_at" else None)
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
    tmp.write_bytes(deterministic_xlsx(wb, datetime(2000, 1, 1, tzinfo=timezone.utc)))
    os.replace(tmp, path)


# ---------------------------------------------------------------- follow-up and league
def follow_up(districts: list[dict]) -> list[dict]:
    """Expected districts needing follow-up, each with reasons as (Indonesian, English) pairs."""
    out = []
    for d in _by_place(districts):
        if not d.get("expected"):
            continue
        reasons = []
        if not d.get("submitted"):
            reasons.append(("Tidak mengirim data", "Did not submit"))
        if (d.get("days_late") or 0) > 0:
            n = int(d["days_late"])
            reasons.append((f"Terlambat {n} hari", f"Submitted {n} day{'s' if n != 1 else ''} late"))
        if d.get("submitted") and not d.get("accepted"):
            reasons.append(("Kiriman ada, tetapi tidak ada yang diterima", "Submitted, but nothing accepted"))
        missed = int(d.get("missed_rounds") or 0)
        if missed >= 2:
            reasons.append((f"{missed} putaran berturut-turut tanpa kiriman diterima",
                            f"{missed} rounds in a row without an accepted submission"))
        idx = _f(d.get("update_index"))
        below = [t for t in INDEX_THRESHOLDS if idx is not None and idx < t]
        if below:
            reasons.append((f"Indeks pemutakhiran di bawah {below[0]:.2f}".replace(".", ","),
                            f"Update index below {below[0]:.2f}"))
        if reasons:
            out.append({**d, "reasons": reasons})
    return out


def league(districts: list[dict]) -> list[dict]:
    """Districts by update_index descending (None last; ties by code)."""
    ranked = sorted(districts, key=lambda d: (d.get("update_index") is None, -(_f(d.get("update_index")) or 0.0),
                                              str(d.get("kabkota_code") or "")))
    return [{**d, "rank": i, "meets": [d.get("update_index") is not None and float(d["update_index"]) >= t
                                       for t in INDEX_THRESHOLDS]} for i, d in enumerate(ranked, start=1)]


def _national(round_id, trend: list[dict], districts: list[dict]) -> dict:
    for row in trend:
        if row.get("round_id") == round_id:
            return row
    exp = [d for d in districts if d.get("expected")]  # fallback: derive from the district rows

    def share(num_key, den_key, rows):
        den = sum(float(r.get(den_key) or 0) for r in rows)
        return None if not den else sum(float(r.get(num_key) or 0) for r in rows) / den

    def weighted(key):
        rows = [d for d in exp if d.get(key) is not None and d.get("active_records")]
        tot = sum(d["active_records"] for d in rows)
        return None if not tot else sum(float(d[key]) * d["active_records"] for d in rows) / tot

    n = len(exp)
    counts = {k: sum(1 for d in exp if d.get(k)) for k in ("submitted", "accepted", "on_time")}
    return {"round_id": round_id, "expected_districts": n, "submitted_districts": counts["submitted"],
            "accepted_districts": counts["accepted"], "on_time_districts": counts["on_time"],
            "reporting_rate": counts["accepted"] / n if n else None,
            "on_time_rate": counts["on_time"] / n if n else None,
            "active_records": sum(d.get("active_records") or 0 for d in exp),
            "coverage_12m": weighted("coverage_12m"), "coverage_24m": weighted("coverage_24m"),
            "acceptance_rate": share("rows_accepted", "rows_submitted", exp)}


# ---------------------------------------------------------------- SVG charts
def _svg_text(x, y, text, anchor="start", cls="lbl", extra="") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}"{extra}>{escape(text)}</text>'


def coverage_strip_svg(districts: list[dict], provinces: list[dict]) -> Markup:
    """One row per province: a dot per district's coverage_24m, the median as a tick, 70%/75% lines."""
    names = {str(p.get("province_code")): p.get("province_name") for p in provinces}
    groups: dict[str, list[dict]] = {}
    for d in _by_place(districts):
        names.setdefault(str(d.get("province_code")), d.get("province_name"))
        groups.setdefault(str(d.get("province_code")), [])
        if d.get("coverage_24m") is not None:
            groups[str(d.get("province_code"))].append(d)
    for code in names:
        groups.setdefault(code, [])
    codes = sorted(groups)
    left, right, top, row_h, width = 190, 20, 30, 34, 760
    plot_w = width - left - right
    height = top + row_h * max(len(codes), 1) + 30
    xs = lambda v: left + plot_w * max(0.0, min(1.0, v))  # noqa: E731
    parts = [f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
             f' aria-label="Cakupan 24 bulan per kabupaten/kota / 24-month coverage by district">']
    for t in range(0, 101, 10):
        x = xs(t / 100)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 26}" class="grid"/>')
        parts.append(_svg_text(x, height - 10, f"{t}%", "middle", "axis"))
    for thr in INDEX_THRESHOLDS:
        x = xs(thr)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 10}" x2="{x:.1f}" y2="{height - 26}" class="thr"/>')
        parts.append(_svg_text(x + (-3 if thr == INDEX_THRESHOLDS[0] else 3), top - 14, f"{thr:.0%}",
                               "end" if thr == INDEX_THRESHOLDS[0] else "start", "thrlbl"))
    for i, code in enumerate(codes):
        cy = top + row_h * i + row_h / 2
        if i % 2 == 0:
            parts.append(f'<rect x="0" y="{cy - row_h / 2:.1f}" width="{width}" height="{row_h}" class="band"/>')
        label = f"{names.get(code) or code}"
        parts.append(_svg_text(left - 10, cy + 4, label[:26], "end"))
        vals = [float(d["coverage_24m"]) for d in groups[code]]
        for j, d in enumerate(groups[code]):
            jitter = ((j % 5) - 2) * 3.2
            colour = CLASS_COLOURS.get(d.get("update_class"), "#555")
            tip = f'{d.get("kabkota_code")} {d.get("kabkota_name")}: {pct(d["coverage_24m"])}'
            parts.append(f'<circle class="dot" cx="{xs(float(d["coverage_24m"])):.1f}" cy="{cy + jitter:.1f}" r="4.5"'
                         f' fill="{colour}"><title>{escape(tip)}</title></circle>')
        if vals:
            m = xs(statistics.median(vals))
            parts.append(f'<line class="median" x1="{m:.1f}" y1="{cy - 12:.1f}" x2="{m:.1f}" y2="{cy + 12:.1f}">'
                         f'<title>median {pct(statistics.median(vals))}</title></line>')
        else:
            parts.append(_svg_text(left + 6, cy + 4, "tidak ada data / no data", "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


_TREND_SERIES = (("reporting_rate", "s1", "Tingkat pelaporan / Reporting rate"),
                 ("on_time_rate", "s2", "Tepat waktu / On-time rate"),
                 ("coverage_24m", "s3", "Cakupan 24 bln / Coverage 24m"))


def class_bars_svg(districts: list[dict], provinces: list[dict]) -> Markup:
    """One stacked bar per province: its expected districts by update class (never / < 50% / ≥ 50%)."""
    names = {str(p.get("province_code")): p.get("province_name") for p in provinces}
    counts: dict[str, dict[str, int]] = {}
    for d in _by_place(districts):
        if not d.get("expected"):
            continue
        code = str(d.get("province_code"))
        names.setdefault(code, d.get("province_name"))
        bucket = counts.setdefault(code, {c: 0 for c in CLASS_LABELS})
        if d.get("update_class") in bucket:
            bucket[d["update_class"]] += 1
    codes = sorted(counts)
    left, right, top, row_h, width = 190, 20, 10, 30, 760
    plot_w = width - left - right
    height = top + row_h * max(len(codes), 1) + 10
    parts = [f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
             ' aria-label="Kelas pemutakhiran per provinsi / update class by province">']
    for i, code in enumerate(codes):
        y = top + row_h * i
        total = sum(counts[code].values()) or 1
        parts.append(_svg_text(left - 10, y + row_h / 2 + 4, str(names.get(code) or code)[:26], "end"))
        x = float(left)
        for cls, n in counts[code].items():
            if not n:
                continue
            w = plot_w * n / total
            tip = f"{names.get(code) or code} – {CLASS_LABELS[cls]}: {n}"
            parts.append(f'<rect class="seg" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}"'
                         f' fill="{CLASS_COLOURS[cls]}"><title>{escape(tip)}</title></rect>')
            if w > 18:
                parts.append(_svg_text(x + w / 2, y + row_h / 2 + 4, str(n), "middle", "seglbl"))
            x += w
    if not codes:
        parts.append(_svg_text(left, top + row_h / 2, "tidak ada data / no data", "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_svg(trend: list[dict]) -> Markup:
    """Reporting, on-time and 24-month coverage rates per round, 0-100%; points only when there is a single round."""
    width, height, left, right, top, bottom = 760, 260, 50, 40, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(trend)
    xs = lambda i: left + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))  # noqa: E731
    ys = lambda v: top + plot_h * (1 - max(0.0, min(1.0, v)))  # noqa: E731
    parts = [f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
             ' aria-label="Tren tingkat pelaporan / reporting rate trend">']
    for t in range(0, 101, 25):
        y = ys(t / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(_svg_text(left - 6, y + 4, f"{t}%", "end", "axis"))
    step = max(1, n // 12)
    for i, row in enumerate(trend):
        if i % step == 0 or i == n - 1:
            parts.append(_svg_text(xs(i), height - bottom + 18, str(row.get("round_id")), "middle", "axis"))
    for key, cls, label in _TREND_SERIES:
        pts = [(xs(i), ys(float(r[key])), r) for i, r in enumerate(trend) if r.get(key) is not None]
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            parts.append(f'<polyline class="line {cls}" points="{coords}"/>')
        for x, y, r in pts:
            tip = f'{r.get("round_id")} – {label}: {pct(r[key])}'
            parts.append(f'<circle class="pt {cls}" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{escape(tip)}</title>'
                         '</circle>')
    for k, (_key, cls, label) in enumerate(_TREND_SERIES):
        lx = left + 10 + k * 235
        parts.append(f'<rect class="key {cls}" x="{lx}" y="{height - 18}" width="14" height="4"/>')
        parts.append(_svg_text(lx + 20, height - 12, label, "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- HTML
_TEMPLATE = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Laporan pemutakhiran DTKS {{ r.round_id }} / DTKS update report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#1f2933;
background:#f5f7fa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px}
header{background:#12355b;color:#fff;padding:28px 24px}header div{max-width:1100px;margin:0 auto}
h1{margin:0 0 6px;font-size:1.7rem}h2{font-size:1.25rem;margin:0 0 12px;color:#12355b}
.en{color:#6b7785;font-weight:normal}header .en{color:#c7d6e8}
section{background:#fff;border-radius:10px;padding:20px 22px;margin:0 0 22px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px}
.tile{background:#eef3f9;border-radius:8px;padding:12px 14px}.tile .v{font-size:1.8rem;font-weight:700;color:#12355b}
.tile .k{font-size:.82rem;color:#52606d}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;
text-align:left;vertical-align:top}th{background:#f0f4f8;font-weight:600;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto;max-height:640px;overflow-y:auto}
.cls{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.78rem;white-space:nowrap}
.cls-never{background:#c62828}.cls-under_50{background:#e08e0b}.cls-50_plus{background:#2e7d32}
.bar{background:#e4e7eb;border-radius:3px;height:10px;width:140px;position:relative}
.bar span{display:block;height:10px;border-radius:3px;background:#3e7cb1}
.bar i{position:absolute;top:-3px;bottom:-3px;border-left:1px dashed #9a3412}
.ok{color:#2e7d32;font-weight:700}.no{color:#c62828}
svg.chart{width:100%;height:auto;font-size:12px}.grid{stroke:#e4e7eb}.axis{fill:#6b7785;font-size:11px}
.lbl{fill:#1f2933}.band{fill:#f7f9fb}.thr{stroke:#9a3412;stroke-dasharray:4 3}.thrlbl{fill:#9a3412;font-size:11px}
.median{stroke:#111;stroke-width:3}.dot{fill-opacity:.8;stroke:#fff;stroke-width:.8}
.line{fill:none;stroke-width:2.5}.line.s1{stroke:#3e7cb1}.line.s2{stroke:#e08e0b}
.line.s3{stroke:#2e7d32;stroke-dasharray:6 4}
.pt.s1,.key.s1{fill:#3e7cb1}.pt.s2,.key.s2{fill:#e08e0b}.pt.s3,.key.s3{fill:#2e7d32}
.seg{stroke:#fff;stroke-width:1}.seglbl{fill:#fff;font-size:11px;font-weight:700}
.legend span{margin-right:14px;font-size:.82rem}.note{font-size:.82rem;color:#52606d}
ul.reasons{margin:0;padding-left:18px}
</style></head><body>
<header><div><h1>Pemutakhiran DTKS — putaran {{ r.round_id }} <span class="en">/ DTKS update round {{ r.round_id }}</span></h1>
<div>Dibuka / opens {{ r.opens_on or "–" }} · batas waktu / cut-off {{ r.cutoff_on or "–" }}
(+{{ r.grace_days if r.grace_days is not none else "–" }} hari tenggang / grace days{% if r.last_grace_day %}, ditutup / closes
akhir {{ r.last_grace_day }} WIB{% endif %}) · penetapan {{ r.penetapan_on or "–" }}</div>
</div></header><main>
<section id="summary"><h2>Ringkasan nasional <span class="en">/ National summary</span></h2><div class="tiles">
{% for v, k in tiles %}<div class="tile"><div class="v">{{ v }}</div><div class="k">{{ k }}</div></div>{% endfor %}
</div></section>
<section id="coverage-by-province"><h2>Cakupan 24 bulan per provinsi <span class="en">/ 24-month coverage by province</span></h2>
<p class="note">Satu titik per kabupaten/kota; garis hitam = median; garis putus-putus = ambang 70% dan 75%.
<span class="en">One dot per district; black tick = median; dashed lines = 70% and 75% thresholds.</span></p>
<div class="legend">{% for c, l in classes %}<span><span class="cls cls-{{ c }}">{{ l }}</span></span>{% endfor %}
<span class="note">kelas pemutakhiran / update class</span></div>
{{ strip }}
<div class="scroll"><table><thead><tr><th>Provinsi / Province</th><th class="n">Wajib / Expected</th>
<th class="n">Diterima / Accepted</th><th class="n">Pelaporan / Reporting</th><th class="n">Tepat waktu / On time</th>
<th class="n">Cakupan 12 bln</th><th class="n">Cakupan 24 bln</th><th class="n">Penerimaan / Acceptance</th></tr></thead><tbody>
{% for p in provinces %}<tr><td>{{ p.province_name }}</td><td class="n">{{ num(p.expected_districts) }}</td>
<td class="n">{{ num(p.accepted_districts) }}</td><td class="n">{{ pct(p.reporting_rate) }}</td>
<td class="n">{{ pct(p.on_time_rate) }}</td><td class="n">{{ pct(p.coverage_12m) }}</td>
<td class="n">{{ pct(p.coverage_24m) }}</td><td class="n">{{ pct(p.acceptance_rate) }}</td></tr>{% endfor %}
</tbody></table></div></section>
<section id="update-class"><h2>Kelas pemutakhiran per provinsi <span class="en">/ Update class by province</span></h2>
<p class="note">Kab/kota wajib lapor menurut proporsi rekaman yang dimutakhirkan sejak baseline.
<span class="en">Expected districts by the share of their records updated since the baseline.</span></p>
{{ class_chart }}</section>
<section id="trend"><h2>Tren per putaran <span class="en">/ Trend by round</span></h2>{{ trend_chart }}</section>
<section id="league"><h2>Peringkat indeks pemutakhiran <span class="en">/ Update index league table</span></h2>
<div class="scroll"><table><thead><tr><th class="n">#</th><th>Kode</th><th>Kabupaten/Kota</th><th>Provinsi</th>
<th class="n">Indeks / Index</th><th></th>{% for t in thresholds %}<th>≥ {{ "%.2f"|format(t) }}</th>{% endfor %}
<th>Kelas / Class</th></tr></thead><tbody>
{% for d in league %}<tr data-code="{{ d.kabkota_code }}"><td class="n">{{ d.rank }}</td><td>{{ d.kabkota_code }}</td>
<td>{{ d.kabkota_name }}</td><td>{{ d.province_name }}</td><td class="n">{{ idx(d.update_index) }}</td>
<td><div class="bar"><span style="width:{{ width(d.update_index) }}%"></span>{% for t in thresholds %}<i style="left:{{ (t * 100)|round(1) }}%"></i>{% endfor %}</div></td>
{% for ok in d.meets %}<td>{% if ok %}<span class="ok" title="memenuhi / meets">✓</span>{% else %}<span class="no" title="belum / not met">✗</span>{% endif %}</td>{% endfor %}
<td><span class="cls cls-{{ d.update_class }}">{{ class_label(d.update_class) }}</span></td></tr>{% endfor %}
</tbody></table></div></section>
<section id="follow-up"><h2>Perlu tindak lanjut <span class="en">/ Follow-up</span></h2>
{% if follow %}<div class="scroll"><table><thead><tr><th>Kode</th><th>Kabupaten/Kota</th><th>Provinsi</th>
<th>Alasan</th><th>Reason</th></tr></thead><tbody>
{% for d in follow %}<tr data-code="{{ d.kabkota_code }}"><td>{{ d.kabkota_code }}</td><td>{{ d.kabkota_name }}</td>
<td>{{ d.province_name }}</td><td><ul class="reasons">{% for id_, en in d.reasons %}<li>{{ id_ }}</li>{% endfor %}</ul></td>
<td><ul class="reasons">{% for id_, en in d.reasons %}<li class="en">{{ en }}</li>{% endfor %}</ul></td></tr>{% endfor %}
</tbody></table></div>{% else %}<p>Tidak ada. <span class="en">None.</span></p>{% endif %}</section>
{% if pen %}<section id="penetapan"><h2>Penetapan <span class="en">/ Registry as determined</span></h2>
<p class="note">Registri sebagaimana ditetapkan pada putaran ini: setiap rekaman seperti pada saat putaran ditutup
({{ wib(pen.as_of) }}), dibekukan (snapshot #{{ pen.snapshot_no }}, hash {{ pen.registry_hash[:12] }}).
<span class="en">The registry as this round determined it: every record as it stood when the round closed; frozen.</span></p>
<div class="scroll"><table><thead><tr><th>Provinsi / Province</th><th class="n">Kab/kota</th><th class="n">Individu aktif / Active</th>
<th class="n">Keluarga / Households</th><th class="n">Nonaktif / Inactive</th><th class="n">PKH</th><th class="n">BPNT</th>
<th class="n">PBI</th></tr></thead><tbody>
{% for p in pen_rows %}<tr><td>{{ p.name }}</td><td class="n">{{ num(p.districts) }}</td><td class="n">{{ num(p.active_individuals) }}</td>
<td class="n">{{ num(p.households) }}</td><td class="n">{{ num(p.inactive_individuals) }}</td><td class="n">{{ num(p.pkh) }}</td>
<td class="n">{{ num(p.bpnt) }}</td><td class="n">{{ num(p.pbi) }}</td></tr>{% endfor %}
</tbody></table></div></section>{% endif %}
<section id="districts"><h2>Semua kabupaten/kota <span class="en">/ All districts</span></h2><div class="scroll"><table>
<thead><tr>{% for label, _ in dcols %}<th>{{ label }}</th>{% endfor %}</tr></thead><tbody>
{% for d in districts %}<tr>{% for _, f in dcols %}{{ f(d) }}{% endfor %}</tr>{% endfor %}
</tbody></table></div></section>
{% if links %}<section id="links"><h2>Tautan <span class="en">/ Links</span></h2><ul>
{% for label, url in links.items() %}<li><a href="{{ url }}">{{ label }}</a></li>{% endfor %}</ul></section>{% endif %}
<p class="note">Indeks / index = 0,50·cakupan 24 bln + 0,25·tepat waktu 12 putaran + 0,25·penerimaan
(0.50·coverage 24m + 0.25·on-time rate 12 rounds + 0.25·acceptance rate). Tidak memuat data pribadi / contains no personal data.</p>
</main></body></html>"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_ENV.globals.update(num=num, pct=pct)
_COMPILED = _ENV.from_string(_TEMPLATE)


def _td(value, numeric=False) -> Markup:
    return Markup('<td class="n">{}</td>' if numeric else "<td>{}</td>").format(value)


_DISTRICT_HTML_COLUMNS = [
    ("Kode", lambda d: _td(d.get("kabkota_code"))),
    ("Kabupaten/Kota", lambda d: _td(d.get("kabkota_name"))),
    ("Provinsi", lambda d: _td(d.get("province_name"))),
    ("Dikirim / Submitted", lambda d: _td(yes_no(d.get("submitted")))),
    ("Diterima / Accepted", lambda d: _td(yes_no(d.get("accepted")))),
    ("Kiriman", lambda d: _td(num(d.get("submissions_received")), True)),
    ("Tepat waktu / On time", lambda d: _td(yes_no(d.get("on_time")))),
    ("Hari terlambat / Days late", lambda d: _td(num(d.get("days_late")), True)),
    ("Jeda / Lag (hari)", lambda d: _td(num(d.get("submission_lag_days")), True)),
    ("Rekaman aktif / Active", lambda d: _td(num(d.get("active_records")), True)),
    ("Cakupan 12 bln", lambda d: _td(pct(d.get("coverage_12m")), True)),
    ("Cakupan 24 bln", lambda d: _td(pct(d.get("coverage_24m")), True)),
    ("Median umur / age (hari)", lambda d: _td(num(d.get("record_age_median_days")), True)),
    ("P90 umur / age", lambda d: _td(num(d.get("record_age_p90_days")), True)),
    ("Baris dikirim / Rows sent", lambda d: _td(num(d.get("rows_submitted")), True)),
    ("Baris diterima / accepted", lambda d: _td(num(d.get("rows_accepted")), True)),
    ("Penerimaan / Acceptance", lambda d: _td(pct(d.get("acceptance_rate")), True)),
    ("Putaran terlewat / Missed", lambda d: _td(num(d.get("missed_rounds")), True)),
    ("Sejak baseline / Since baseline", lambda d: _td(pct(d.get("updated_since_baseline")), True)),
    ("Kelas / Class", lambda d: Markup('<td><span class="cls cls-{}">{}</span></td>').format(
        d.get("update_class"), CLASS_LABELS.get(d.get("update_class"), d.get("update_class") or "–"))),
    ("Tepat waktu 12 putaran", lambda d: _td(pct(d.get("on_time_rate_12r")), True)),
    ("Indeks / Index", lambda d: _td(_idx(d.get("update_index")), True)),
]


def _idx(v) -> str:
    return "–" if v is None else f"{float(v):.3f}"


def _wib(value) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(_JAKARTA).strftime("%Y-%m-%d %H:%M WIB")
    return "–" if value is None else str(value)


def _penetapan_rows(penetapan: dict | None, districts: list[dict], provinces: list[dict]) -> list[dict]:
    if not penetapan:
        return []
    names = {str(d.get("province_code")): d.get("province_name") for d in districts}
    names.update({str(p.get("province_code")): p.get("province_name") for p in provinces})
    keys = ("active_individuals", "households", "inactive_individuals", "pkh", "bpnt", "pbi")
    rows: dict[str, dict] = {}
    for d in penetapan.get("districts", []):
        code = str(d.get("province_code"))
        row = rows.setdefault(code, {"code": code, "name": names.get(code) or code, "districts": 0,
                                     **{k: 0 for k in keys}})
        row["districts"] += 1
        for k in keys:
            row[k] += int(d.get(k) or 0)
    return [rows[c] for c in sorted(rows)]


def render_round_report(round_info: dict, districts: list[dict], provinces: list[dict], trend: list[dict],
                        links: dict[str, str] | None = None, penetapan: dict | None = None) -> str:
    r = {k: _get(round_info, k) for k in ("round_id", "opens_on", "cutoff_on", "grace_days", "penetapan_on",
                                          "last_grace_day")}
    nat = _national(r["round_id"], trend, districts)
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
    return _COMPILED.render(
        r=r, tiles=tiles, classes=list(CLASS_LABELS.items()), thresholds=INDEX_THRESHOLDS,
        strip=coverage_strip_svg(districts, provinces), trend_chart=trend_svg(trend),
        class_chart=class_bars_svg(districts, provinces),
        pen=penetapan, pen_rows=_penetapan_rows(penetapan, districts, provinces), wib=_wib,
        provinces=sorted(provinces, key=lambda p: str(p.get("province_code"))),
        league=league(districts), follow=follow_up(districts), districts=_by_place(districts),
        dcols=_DISTRICT_HTML_COLUMNS, links=links, idx=_idx,
        width=lambda v: 0 if v is None else round(max(0.0, min(1.0, float(v))) * 100, 1),
        class_label=lambda c: CLASS_LABELS.get(c, c or "–"))


def write_round_outputs(out_dir: Path, round_info, districts, provinces, trend, links=None,
                        penetapan: dict | None = None) -> dict[str, Path]:
    """Write <out_dir>/<round_id>/district_metrics.csv, .xlsx and report.html; the report links the two tables."""
    round_id = str(_get(round_info, "round_id"))
    if not round_id or not re.fullmatch(r"[A-Za-z0-9_.-]+", round_id) or round_id.strip(".") == "":
        raise ValueError(f"round id {round_id!r} cannot name an output folder")
    folder = Path(out_dir) / round_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / "district_metrics.csv", "xlsx": folder / "district_metrics.xlsx",
             "html": folder / "report.html"}
    write_district_csv(paths["csv"], districts)
    write_district_xlsx(paths["xlsx"], districts)
    all_links = {"Tabel kab/kota / District table (CSV)": paths["csv"].name,
                 "Tabel kab/kota / District table (XLSX)": paths["xlsx"].name, **(links or {})}
    html = render_round_report(round_info, districts, provinces, trend, all_links, penetapan=penetapan)
    tmp = _atomic(paths["html"])
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, paths["html"])
    return paths


# ---------------------------------------------------------------- terminal
_TERMINAL_COLUMNS = (  # header, width, right-aligned, formatter
    ("kode", 4, False, lambda d: str(d.get("kabkota_code") or "–")),
    ("kabupaten/kota", 28, False, lambda d: str(d.get("kabkota_name") or "–")[:28]),
    ("diterima", 8, False, lambda d: yes_no(d.get("accepted"))),
    ("tepat", 5, False, lambda d: yes_no(d.get("on_time"))),
    ("telat", 5, True, lambda d: num(d.get("days_late"))),
    ("jeda", 5, True, lambda d: num(d.get("submission_lag_days"))),
    ("cak12", 6, True, lambda d: pct(d.get("coverage_12m"))),
    ("cak24", 6, True, lambda d: pct(d.get("coverage_24m"))),
    ("umur", 6, True, lambda d: num(d.get("record_age_median_days"))),
    ("terima", 6, True, lambda d: pct(d.get("acceptance_rate"))),
    ("kelas", 8, False, lambda d: str(d.get("update_class") or "–")),
    ("indeks", 6, True, lambda d: _idx(d.get("update_index"))),
)


def format_district_table(districts: list[dict], limit: int | None = None) -> str:
    """Fixed-width table: a header line, then one line per district (by province, then code).

    With ``limit``, only the first ``limit`` districts are shown and a last line says how many were left out.
    """
    rows = _by_place(districts)
    shown = rows if limit is None else rows[:max(0, limit)]

    def line(cells):
        return "  ".join(c.rjust(w) if right else c.ljust(w)
                         for c, (_h, w, right, _fmt) in zip(cells, _TERMINAL_COLUMNS)).rstrip()

    lines = [line([h for h, *_ in _TERMINAL_COLUMNS])]
    lines += [line([fmt(d).replace("\u202f", "") for *_, fmt in _TERMINAL_COLUMNS]) for d in shown]
    if len(shown) < len(rows):
        lines.append(f"… {len(rows) - len(shown)} lainnya / more")
    return "\n".join(lines)
