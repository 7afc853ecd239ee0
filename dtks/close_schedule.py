"""The calendar as the close timetable reads it: the exported JSON file and the close runs it schedules.

Every change to the calendar (``dtks.rounds``) is exported to a small JSON
file (``calendar_path()``) that the ``dtks_close_round`` DAG's timetable
(``plugins/dtks_round_timetable.py``) reads when the DAG file is parsed, so
the scheduler never needs the warehouse to know when rounds close.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from dtks.rounds import Round, list_rounds

DEFAULT_SETTLE = timedelta(hours=2)  # close run waits this long after the close for the last ingest run
CALENDAR_FORMAT = "dtks-round-calendar/1"


# ---------------------------------------------------------------- the calendar file
def calendar_path() -> Path:
    """Where the calendar is exported for the timetable: $DTKS_CALENDAR_FILE or <var>/calendar/rounds.json."""
    from dtks.config import settings

    return settings().calendar_file


def calendar_document(rounds: list[Round]) -> dict[str, Any]:
    return {
        "format": CALENDAR_FORMAT,
        "timezone": "Asia/Jakarta",
        "rounds": [
            {"round_id": r.round_id, **r.dates()} for r in sorted(rounds, key=lambda r: (r.opens_on, r.round_id))
        ],
    }


def export_calendar(eng: Engine, path: Path | None = None) -> Path:
    """Write the warehouse's calendar to the JSON file the timetable reads (atomically; same content, same bytes)."""
    path = Path(path) if path else calendar_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(calendar_document(list_rounds(eng)), indent=2, sort_keys=True) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def rounds_from_document(doc: object) -> list[Round]:
    if not isinstance(doc, dict) or doc.get("format") != CALENDAR_FORMAT:
        raise ValueError(f"not a {CALENDAR_FORMAT} document")
    out = []
    for item in doc.get("rounds", []):
        out.append(
            Round(
                round_id=item["round_id"],
                opens_on=date.fromisoformat(item["opens_on"]),
                cutoff_on=date.fromisoformat(item["cutoff_on"]),
                grace_days=int(item["grace_days"]),
                penetapan_on=date.fromisoformat(item["penetapan_on"]),
                status=item.get("status", "open"),
                on_time_grace_days=int(item.get("on_time_grace_days", 0)),
            )
        )
    return out


def load_calendar(path: Path | None = None) -> list[Round]:
    """The exported calendar; [] when no calendar was exported yet. A broken file is an error."""
    path = Path(path) if path else calendar_path()
    if not path.is_file():
        return []
    try:
        return rounds_from_document(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"round calendar {path} is not valid: {exc}") from exc


# ---------------------------------------------------------------- close runs (the timetable's logic)
@dataclass(frozen=True)
class CloseRun:
    """One scheduled run of dtks_close_round: data interval [opens_at, close_at), run after close + settle."""

    round_id: str
    opens_at: datetime
    close_at: datetime
    run_after: datetime


def close_runs(rounds: list[Round], settle: timedelta = DEFAULT_SETTLE) -> list[CloseRun]:
    """Every round's close run, in order of closing."""
    runs = [CloseRun(r.round_id, r.opens_at, r.close_at, r.close_at + settle) for r in rounds]
    return sorted(runs, key=lambda c: (c.close_at, c.opens_at, c.round_id))


def next_close_run(
    runs: list[CloseRun],
    *,
    after: datetime | None,
    earliest: datetime | None,
    latest: datetime | None,
    catchup: bool,
    now: datetime,
) -> CloseRun | None:
    """The next round to close after the last scheduled one (whose data interval ended at ``after``).

    Rounds are taken by their close instant, so a round whose dates were moved
    is run at its new close, a gap month simply has no run, and a round
    reopened with a later close after later rounds ran is closed again.
    Without catchup, only the most recent round already due is run (not
    every missed one), like Airflow's cron timetables.
    """
    candidates = [
        c for c in runs if (after is None or c.close_at > after) and (earliest is None or c.close_at >= earliest)
    ]
    if not catchup:
        due = [c for c in candidates if c.run_after <= now]
        if len(due) > 1:
            candidates = candidates[candidates.index(due[-1]) :]
    if not candidates:
        return None
    nxt = candidates[0]
    if latest is not None and nxt.close_at > latest:
        return None
    return nxt


def last_closed_run(runs: list[CloseRun], at: datetime) -> CloseRun | None:
    """The round that most recently closed at or before ``at`` (what a manual run is about)."""
    closed = [c for c in runs if c.close_at <= at]
    return closed[-1] if closed else None
