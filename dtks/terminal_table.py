"""A round's district table for `dtks table` and the demo: on a terminal (rich), or as CSV or JSON.

The terminal table keeps full district names (wrapped when the screen is
narrow), shows codes in Indonesian words (``≥ 50%`` for ``50_plus``) and ends
with a legend for its short column headings. CSV has the same columns as
``out/<round>/district_metrics.csv``; JSON the same values, typed.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from dtks.display import by_place as _by_place
from dtks.metrics import DISTRICT_COLUMNS
from dtks.report import COLUMN_NOTES, num, write_district_csv_to
from dtks.report_charts import pct

FORMATS = ("table", "csv", "json")

CLASS_WORDS = {"never": "Belum pernah", "under_50": "< 50%", "50_plus": "≥ 50%"}


def _yes_no(v: object) -> str:
    return "–" if v is None else ("Ya" if v else "Tidak")


def _index(v: Any) -> str:
    return "–" if v is None else f"{float(v):.3f}"


# heading, source column, right-aligned, formatter; headings that are not words of their own get a legend line
COLUMNS: tuple[tuple[str, str, bool, Callable[[Any], str]], ...] = (
    ("Kode", "kabkota_code", False, lambda v: str(v or "–")),
    ("Kabupaten/kota", "kabkota_name", False, lambda v: str(v or "–")),
    ("Diterima", "accepted", False, _yes_no),
    ("Tepat\nwaktu", "on_time", False, _yes_no),
    ("Telat\n(hari)", "days_late", True, num),
    ("Jeda\n(hari)", "submission_lag_days", True, num),
    ("Cakupan\n12 bln", "coverage_12m", True, pct),
    ("Cakupan\n24 bln", "coverage_24m", True, pct),
    ("Umur\n(hari)", "record_age_median_days", True, num),
    ("Terima\nbaris", "acceptance_rate", True, pct),
    ("Kelas", "update_class", False, lambda v: CLASS_WORDS.get(v, v or "–")),
    ("Indeks", "update_index", True, _index),
)
LEGEND_FOR = (
    "accepted",
    "on_time",
    "days_late",
    "submission_lag_days",
    "coverage_12m",
    "coverage_24m",
    "record_age_median_days",
    "acceptance_rate",
    "update_index",
)


def legend() -> list[str]:
    """One line per abbreviated heading: what it means, in Bahasa Indonesia and English."""
    headings = {col: head.replace("\n", " ") for head, col, *_ in COLUMNS}
    lines = []
    for col in LEGEND_FOR:
        note_id, note_en = COLUMN_NOTES[col]
        lines.append(f"{headings[col]}: {note_id} / {note_en}")
    lines.append(
        "Kelas: proporsi rekaman dimutakhirkan sejak baseline / share of records updated since the "
        "baseline: " + ", ".join(f"{w} ({code})" for code, w in CLASS_WORDS.items())
    )
    return lines


def render_table(districts: list[dict[str, Any]], round_id: str, width: int | None = None) -> str:
    """The table as text at most ``width`` columns wide (default: a terminal's width; wide when piped).

    Names are never cut: when the width is too small for a name it wraps onto more lines.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if width is None:
        width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 250
    table = Table(
        title=f"Putaran / round {round_id}: {len(districts)} kabupaten/kota", box=box.SIMPLE_HEAD, title_justify="left"
    )
    for head, col, right, _fmt in COLUMNS:
        table.add_column(
            head,
            justify="right" if right else "left",
            overflow="fold",
            no_wrap=col not in ("kabkota_name", "update_class"),
            min_width=14 if col == "kabkota_name" else None,
        )
    for d in _by_place(districts):
        # Text, not markup: a name is shown as written, brackets and all
        table.add_row(*[Text(fmt(d.get(col)).replace("\u202f", " ")) for _h, col, _r, fmt in COLUMNS])
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    console.print(table)
    console.print("Keterangan / legend:")
    for line in legend():
        console.print(Text(f"  {line}"), soft_wrap=True)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())


def _json_value(v: object) -> object:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def write(districts: list[dict[str, Any]], round_id: str, fmt: str, out: TextIO) -> None:
    """Write the table to ``out`` as ``fmt`` (table, csv or json)."""
    if fmt == "table":
        out.write(render_table(districts, round_id) + "\n")
    elif fmt == "csv":
        write_district_csv_to(out, _by_place(districts))
    elif fmt == "json":
        rows = [{c: _json_value(d.get(c)) for c in DISTRICT_COLUMNS} for d in _by_place(districts)]
        out.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
