"""How stored values are shown to people: times in WIB, statuses in words, update classes in colours, index thresholds.

Storage stays UTC; every page, workbook and report a person reads shows
``2026-10-05 10:12 WIB`` through ``wib``, and a submission's status through
``status_label`` (Bahasa Indonesia / English). The round report and the
auditor page draw update classes and index thresholds from the constants
here, and list districts in the same order (``by_place``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

INDEX_THRESHOLDS = (0.70, 0.75)  # IGD-style thresholds shown on the report (2025 / 2026 minimums)
CLASS_LABELS = {"never": "Belum pernah / Never", "under_50": "< 50%", "50_plus": "≥ 50%"}
CLASS_COLOURS = {"never": "#c62828", "under_50": "#e08e0b", "50_plus": "#2e7d32"}

STATUS_LABELS = {  # audit.submission.status -> (Bahasa Indonesia, English)
    "received": ("diterima sistem", "received"),
    "staged": ("dimuat", "staged"),
    "validated": ("diperiksa", "validated"),
    "merged": ("digabung", "merged"),
    "rejected": ("ditolak", "rejected"),
    "superseded": ("digantikan", "superseded"),
    "duplicate": ("duplikat", "duplicate"),
    "open": ("dibuka", "open"),  # audit.round.status
    "closed": ("ditutup", "closed"),
}


def wib(value: object, seconds: bool = False) -> str:
    """A stored (UTC or zone-aware) time as people in the ministry read it; '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S WIB" if seconds else "%Y-%m-%d %H:%M WIB")
    return str(value)


def status_label(status: str | None) -> str:
    """``digabung / merged`` for ``merged``; an unknown status as it is."""
    if status in STATUS_LABELS:
        return " / ".join(STATUS_LABELS[status])
    return status or "–"


EVENT_LABELS = {  # audit.submission_event.event -> (Bahasa Indonesia, English)
    "received": ("diterima sistem", "received"),
    "archived": ("diarsipkan", "archived"),
    "staged": ("dimuat ke staging", "staged"),
    "validated": ("diperiksa", "validated"),
    "merged": ("digabung ke registri", "merged into the registry"),
    "rejected": ("ditolak", "rejected"),
    "superseded": ("digantikan kiriman lain", "superseded by another file"),
    "requeued": ("dijadwalkan ulang", "requeued"),
}


def event_label(event: str | None) -> str:
    if event in EVENT_LABELS:
        return " / ".join(EVENT_LABELS[event])
    return event or "–"


def detail_facts(detail: object) -> list[tuple[str, str]]:
    """A JSON detail as (name, value) pairs a person can read: nested objects one level deep as
    ``name: key value, key value``; lists joined by commas."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "", {}) else [("", str(detail))]

    def text(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} {text(v)}" for k, v in sorted(value.items()))
        if isinstance(value, list):
            return ", ".join(text(v) for v in value)
        return "–" if value is None else str(value)

    return [(str(k).replace("_", " "), text(v)) for k, v in sorted(detail.items())]


def by_place(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Districts in the order every table and chart lists them: by province code, then district code."""
    return sorted(districts, key=lambda d: (str(d.get("province_code") or ""), str(d.get("kabkota_code") or "")))
