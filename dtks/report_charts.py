"""The round report's charts as inline SVG: coverage dots, class bars, trends, the province tile map.

Pure functions from the metric rows (plain dicts) to SVG markup; no scripts, no
network. Every mark carries a ``<title>`` (hover text), and a district's dot is a
link to its row in the report's district table (``#d-<code>``), so a dot can be
tied to a district on screen; on paper, the lowest district of each province is
named beside the chart.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

from dtks.display import CLASS_COLOURS, CLASS_LABELS, INDEX_THRESHOLDS, by_place


def pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{float(v) * 100:.{digits}f}%"


_LOWEST_CHARS = 34  # what fits beside the coverage chart; the full name is the label's title and row


def _svg_text(x: float, y: float, text: str, anchor: str = "start", cls: str = "lbl", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}"{extra}>{escape(text)}</text>'


def district_anchor(code: object) -> str:
    """The id of a district's row in the report's district table."""
    return f"d-{code}"


# ---------------------------------------------------------------- coverage dots
def coverage_strip_svg(districts: list[dict[str, Any]], provinces: list[dict[str, Any]]) -> Markup:
    """One row per province: a dot per district's coverage_24m (linked to its table row), the median as a
    tick, 70%/75% lines, and the province's lowest district named on the right."""
    names = {str(p.get("province_code")): p.get("province_name") for p in provinces}
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in by_place(districts):
        names.setdefault(str(d.get("province_code")), d.get("province_name"))
        groups.setdefault(str(d.get("province_code")), [])
        if d.get("coverage_24m") is not None:
            groups[str(d.get("province_code"))].append(d)
    for code in names:
        groups.setdefault(code, [])
    codes = sorted(groups)
    left, plot_w, gap, lowest_w, top, row_h = 250, 520, 16, 260, 30, 34
    width = left + plot_w + gap + lowest_w
    height = top + row_h * max(len(codes), 1) + 30

    def xs(v: float) -> float:
        return left + plot_w * max(0.0, min(1.0, v))

    parts = [
        f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
        f' aria-label="Cakupan 24 bulan per kabupaten/kota / 24-month coverage by district">'
    ]
    for t in range(0, 101, 10):
        x = xs(t / 100)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 26}" class="grid"/>')
        parts.append(_svg_text(x, height - 10, f"{t}%", "middle", "axis"))
    for thr in INDEX_THRESHOLDS:
        x = xs(thr)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 10}" x2="{x:.1f}" y2="{height - 26}" class="thr"/>')
        parts.append(
            _svg_text(
                x + (-3 if thr == INDEX_THRESHOLDS[0] else 3),
                top - 14,
                f"{thr:.0%}",
                "end" if thr == INDEX_THRESHOLDS[0] else "start",
                "thrlbl",
            )
        )
    parts.append(_svg_text(left + plot_w + gap, top - 14, "Terendah / lowest", "start", "axis"))
    for i, code in enumerate(codes):
        cy = top + row_h * i + row_h / 2
        if i % 2 == 0:
            parts.append(f'<rect x="0" y="{cy - row_h / 2:.1f}" width="{width}" height="{row_h}" class="band"/>')
        parts.append(_svg_text(left - 10, cy + 4, str(names.get(code) or code), "end"))
        members = groups[code]
        vals = [float(d["coverage_24m"]) for d in members]
        for j, d in enumerate(members):
            jitter = ((j % 5) - 2) * 3.2
            colour = CLASS_COLOURS.get(str(d.get("update_class")), "#555")
            tip = f"{d.get('kabkota_code')} {d.get('kabkota_name')}: {pct(d['coverage_24m'])}"
            parts.append(
                f'<a href="#{district_anchor(d.get("kabkota_code"))}"><circle class="dot"'
                f' cx="{xs(float(d["coverage_24m"])):.1f}" cy="{cy + jitter:.1f}" r="4.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle></a>"
            )
        if vals:
            m = xs(statistics.median(vals))
            parts.append(
                f'<line class="median" x1="{m:.1f}" y1="{cy - 12:.1f}" x2="{m:.1f}" y2="{cy + 12:.1f}">'
                f"<title>median {pct(statistics.median(vals))}</title></line>"
            )
            low = min(members, key=lambda d: (float(d["coverage_24m"]), str(d.get("kabkota_code"))))
            name = str(low.get("kabkota_name") or low.get("kabkota_code"))
            short = name if len(name) <= _LOWEST_CHARS else name[: _LOWEST_CHARS - 1].rstrip() + "…"
            parts.append(
                f'<a href="#{district_anchor(low.get("kabkota_code"))}"><title>{escape(name)}</title>'
                + _svg_text(left + plot_w + gap, cy + 4, f"{short} {pct(low['coverage_24m'])}", "start", "lowest")
                + "</a>"
            )
        else:
            parts.append(_svg_text(left + 6, cy + 4, "tidak ada data / no data", "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- class bars
def class_bars_svg(districts: list[dict[str, Any]], provinces: list[dict[str, Any]]) -> Markup:
    """One stacked bar per province: its expected districts by update class (never / < 50% / ≥ 50%)."""
    names = {str(p.get("province_code")): p.get("province_name") for p in provinces}
    counts: dict[str, dict[str, int]] = {}
    for d in by_place(districts):
        if not d.get("expected"):
            continue
        code = str(d.get("province_code"))
        names.setdefault(code, d.get("province_name"))
        bucket = counts.setdefault(code, dict.fromkeys(CLASS_LABELS, 0))
        if d.get("update_class") in bucket:
            bucket[d["update_class"]] += 1
    codes = sorted(counts)
    left, right, top, row_h, width = 250, 20, 10, 30, 1046
    plot_w = width - left - right
    height = top + row_h * max(len(codes), 1) + 10
    parts = [
        f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
        ' aria-label="Kelas pemutakhiran per provinsi / update class by province">'
    ]
    for i, code in enumerate(codes):
        y = top + row_h * i
        total = sum(counts[code].values()) or 1
        parts.append(_svg_text(left - 10, y + row_h / 2 + 4, str(names.get(code) or code), "end"))
        x = float(left)
        for cls, n in counts[code].items():
            if not n:
                continue
            w = plot_w * n / total
            tip = f"{names.get(code) or code} – {CLASS_LABELS[cls]}: {n}"
            parts.append(
                f'<rect class="seg" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}"'
                f' fill="{CLASS_COLOURS[cls]}"><title>{escape(tip)}</title></rect>'
            )
            if w > 18:
                parts.append(_svg_text(x + w / 2, y + row_h / 2 + 4, str(n), "middle", "seglbl"))
            x += w
    if not codes:
        parts.append(_svg_text(left, top + row_h / 2, "tidak ada data / no data", "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- trends
TREND_SERIES = (
    ("reporting_rate", "s1", "Tingkat pelaporan / Reporting rate"),
    ("on_time_rate", "s2", "Tepat waktu / On-time rate"),
    ("coverage_24m", "s3", "Cakupan 24 bln / Coverage 24m"),
)
PROVINCE_TREND_SERIES = (
    ("coverage_24m", "s3", "Cakupan 24 bln / Coverage 24m"),
    ("on_time_rate", "s2", "Tepat waktu / On-time rate"),
)


def _lines(
    rows: list[dict[str, Any]],
    series: Sequence[tuple[str, str, str]],
    xs: Callable[[int], float],
    ys: Callable[[float], float],
    prefix: str = "",
    r: float = 4,
) -> list[str]:
    parts = []
    for key, cls, label in series:
        pts = [(xs(i), ys(float(row[key])), row) for i, row in enumerate(rows) if row.get(key) is not None]
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            parts.append(f'<polyline class="line {cls}" points="{coords}"/>')
        for x, y, row in pts:
            tip = f"{prefix}{row.get('round_id')} – {label}: {pct(row[key])}"
            parts.append(
                f'<circle class="pt {cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r}"><title>{escape(tip)}</title></circle>'
            )
    return parts


def trend_svg(trend: list[dict[str, Any]]) -> Markup:
    """Reporting, on-time and 24-month coverage rates per round, 0-100%; points only when there is a single round."""
    width, height, left, right, top, bottom = 1046, 260, 50, 40, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(trend)

    def xs(i: int) -> float:
        return left + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))

    def ys(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg role="img" class="chart" viewBox="0 0 {width} {height}"'
        ' aria-label="Tren tingkat pelaporan / reporting rate trend">'
    ]
    for t in range(0, 101, 25):
        y = ys(t / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(_svg_text(left - 6, y + 4, f"{t}%", "end", "axis"))
    step = max(1, n // 12)
    for i, row in enumerate(trend):
        if i % step == 0 or i == n - 1:
            parts.append(_svg_text(xs(i), height - bottom + 18, str(row.get("round_id")), "middle", "axis"))
    parts += _lines(trend, TREND_SERIES, xs, ys)
    for k, (_key, cls, label) in enumerate(TREND_SERIES):
        lx = left + 10 + k * 300
        parts.append(f'<rect class="key {cls}" x="{lx}" y="{height - 18}" width="14" height="4"/>')
        parts.append(_svg_text(lx + 20, height - 12, label, "start", "axis"))
    parts.append("</svg>")
    return Markup("".join(parts))


def province_trend_svg(name: str, rows: list[dict[str, Any]]) -> Markup:
    """A small chart of one province: 24-month coverage and on-time rate per round, 0-100%."""
    width, height, left, right, top, bottom = 240, 120, 34, 10, 8, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(rows)

    def xs(i: int) -> float:
        return left + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))

    def ys(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg role="img" class="chart small" viewBox="0 0 {width} {height}"'
        f' aria-label="{escape(name)}: cakupan 24 bln dan tepat waktu / coverage 24m and on-time rate">'
    ]
    for t in (0, 50, 100):
        y = ys(t / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(_svg_text(left - 4, y + 4, f"{t}%", "end", "axis"))
    for i in sorted({0, n - 1}) if n else []:
        parts.append(
            _svg_text(
                xs(i),
                height - 6,
                str(rows[i].get("round_id")),
                "middle" if n <= 1 else ("start" if i == 0 else "end"),
                "axis",
            )
        )
    parts += _lines(rows, PROVINCE_TREND_SERIES, xs, ys, prefix=f"{name} ", r=3)
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- tile-grid map
# A tile per province, placed roughly where it lies (column west→east, row north→south). No open kab/kota
# boundary data set with Kemendagri codes is installable from npm or PyPI (README, "Round report").
PROVINCE_TILES = {  # code -> (column, row, short label)
    "11": (0, 0, "ACEH"),
    "12": (1, 1, "SUMUT"),
    "14": (2, 1, "RIAU"),
    "21": (3, 1, "KEPRI"),
    "13": (1, 2, "SUMBAR"),
    "15": (2, 2, "JAMBI"),
    "19": (4, 2, "BABEL"),
    "17": (2, 3, "BENGKULU"),
    "16": (3, 3, "SUMSEL"),
    "18": (3, 4, "LAMPUNG"),
    "31": (5, 4, "DKI"),
    "36": (4, 5, "BANTEN"),
    "32": (5, 5, "JABAR"),
    "33": (6, 5, "JATENG"),
    "34": (6, 6, "DIY"),
    "35": (7, 5, "JATIM"),
    "51": (8, 5, "BALI"),
    "52": (9, 5, "NTB"),
    "53": (10, 5, "NTT"),
    "65": (7, 1, "KALTARA"),
    "61": (5, 2, "KALBAR"),
    "62": (6, 2, "KALTENG"),
    "64": (7, 2, "KALTIM"),
    "63": (7, 3, "KALSEL"),
    "75": (9, 1, "GORONTALO"),
    "71": (10, 1, "SULUT"),
    "72": (9, 2, "SULTENG"),
    "76": (8, 3, "SULBAR"),
    "73": (8, 4, "SULSEL"),
    "74": (9, 3, "SULTRA"),
    "82": (11, 1, "MALUT"),
    "81": (11, 3, "MALUKU"),
    "96": (12, 1, "PBD"),
    "92": (12, 2, "PABAR"),
    "94": (13, 2, "PAPTENG"),
    "91": (14, 1, "PAPUA"),
    "95": (14, 2, "PAPEG"),
    "93": (14, 3, "PAPSEL"),
}
MAP_BANDS = (
    (0.75, "#2e7d32", "≥ 75%"),
    (0.70, "#8bc34a", "70–75%"),
    (0.50, "#e08e0b", "50–70%"),
    (0.0, "#c62828", "< 50%"),
)


def map_band(v: Any) -> tuple[str, str]:
    """(colour, label) of a 24-month coverage on the map; grey for none."""
    if v is None:
        return "#9aa5b1", "tidak ada data / no data"
    for floor, colour, label in MAP_BANDS:
        if float(v) >= floor:
            return colour, label
    return MAP_BANDS[-1][1], MAP_BANDS[-1][2]


def province_map_svg(provinces: list[dict[str, Any]]) -> Markup:
    """Indonesia's provinces as a tile grid: the round's provinces coloured by 24-month coverage and linked to
    their table row; provinces outside the round drawn as outlines, for orientation."""
    size, gap = 68, 4
    by_code = {str(p.get("province_code")): p for p in provinces}
    placed = {code: (col, row, short) for code, (col, row, short) in PROVINCE_TILES.items()}
    extra = 0
    for code in sorted(by_code):
        if code not in placed:  # a code the layout does not know (a new province): a row below the map
            placed[code], extra = (extra, 7, code), extra + 1
    cols = max(c for c, _, _ in placed.values()) + 1
    rows = max(r for _, r, _ in placed.values()) + 1
    width, height = cols * (size + gap), rows * (size + gap)
    parts = [
        f'<svg role="img" class="chart map" viewBox="0 0 {width} {height}"'
        ' aria-label="Peta petak provinsi, cakupan 24 bulan / province tile map, 24-month coverage">'
    ]
    for code, (col, row, short) in sorted(placed.items()):
        x, y = col * (size + gap), row * (size + gap)
        label = short
        p = by_code.get(code)
        if p is None:
            parts.append(
                f'<g class="tile out"><title>{escape(short)}: tidak termasuk putaran ini / not in this round'
                f'</title><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="6"/>'
                + _svg_text(x + size / 2, y + 38, label, "middle", "tileo")
                + "</g>"
            )
            continue
        colour, band = map_band(p.get("coverage_24m"))
        tip = (
            f"{p.get('province_name')}: cakupan 24 bln / coverage 24m {pct(p.get('coverage_24m'))} ({band});"
            f" kab/kota diterima / districts accepted {p.get('accepted_districts')}"
            f" / {p.get('expected_districts')}"
        )
        parts.append(
            f'<a href="#p-{escape(code)}"><g class="tile"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="6" fill="{colour}"/>'
            + _svg_text(x + size / 2, y + 18, label, "middle", "tilek")
            + _svg_text(x + size / 2, y + 40, pct(p.get("coverage_24m"), 0), "middle", "tilev")
            + _svg_text(
                x + size / 2, y + 58, f"{p.get('accepted_districts')}/{p.get('expected_districts')}", "middle", "tilek"
            )
            + "</g></a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
