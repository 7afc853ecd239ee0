"""The round calendar: rounds, their dates and rules, their storage in the warehouse, and which round a file counts for.

The ministry's monthly cycle (Permensos 3/2021): districts submit in weeks
1-2, the ministry verifies in week 3 and determines (penetapan) in week 4.
The default calendar encodes that (opens on the 1st, cut-off on the 14th,
3 grace days, penetapan on the 25th); engineers can give other dates per
round, move an open round, close it and reopen it with a recorded reason.

The warehouse (``audit.round``) is the calendar of record. Every change is
also exported to a small JSON file that the ``dtks_close_round`` DAG's
timetable reads (``dtks.close_schedule``), so the scheduler never needs the
warehouse to know when rounds close.

Times: a round's dates are calendar days in Asia/Jakarta (WIB). It *closes*
at the end of its last grace day (cut-off + grace days): that instant ends
the window in which a file counts for the round, and every metric of the
round is computed "as of" it.
"""

from __future__ import annotations

import getpass
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_CUTOFF_DAY = 14  # end of week 2
DEFAULT_GRACE_DAYS = 3
DEFAULT_ON_TIME_GRACE_DAYS = 0  # on time = by the cut-off; the grace days count for the round, as late
DEFAULT_PENETAPAN_DAY = 25  # week 4
ROUND_ID = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")  # YYYY-MM, ASCII digits (also checked by the auditor pages)


# ---------------------------------------------------------------- the round
@dataclass(frozen=True)
class Round:
    round_id: str
    opens_on: date
    cutoff_on: date
    grace_days: int
    penetapan_on: date
    status: str = "open"
    on_time_grace_days: int = DEFAULT_ON_TIME_GRACE_DAYS

    @property
    def last_grace_day(self) -> date:
        return self.cutoff_on + timedelta(days=self.grace_days)

    @property
    def opens_at(self) -> datetime:
        return _start_of(self.opens_on)

    @property
    def cutoff_at(self) -> datetime:
        """End of the cut-off day: a file received before it is on time."""
        return _start_of(self.cutoff_on + timedelta(days=1))

    @property
    def on_time_until(self) -> datetime:
        return _start_of(self.cutoff_on + timedelta(days=self.on_time_grace_days + 1))

    @property
    def close_at(self) -> datetime:
        """End of the last grace day: files received from then on go to the next open round."""
        return _start_of(self.last_grace_day + timedelta(days=1))

    def validate(self) -> Round:
        if not ROUND_ID.match(self.round_id):
            raise ValueError(f"round id must look like 2026-11, got {self.round_id!r}")
        if not self.opens_on <= self.cutoff_on:
            raise ValueError(f"round {self.round_id}: opens ({self.opens_on}) after its cut-off ({self.cutoff_on})")
        if self.grace_days < 0 or not 0 <= self.on_time_grace_days <= self.grace_days:
            raise ValueError(
                f"round {self.round_id}: grace days must be >= 0 and on-time grace days between 0 "
                f"and the grace days (got {self.grace_days}, {self.on_time_grace_days})"
            )
        if not self.penetapan_on > self.last_grace_day:
            raise ValueError(
                f"round {self.round_id}: penetapan ({self.penetapan_on}) must come after the round "
                f"closes (last grace day {self.last_grace_day}); give --penetapan"
            )
        return self

    def dates(self) -> dict[str, Any]:
        return {
            "opens_on": self.opens_on.isoformat(),
            "cutoff_on": self.cutoff_on.isoformat(),
            "grace_days": self.grace_days,
            "on_time_grace_days": self.on_time_grace_days,
            "penetapan_on": self.penetapan_on.isoformat(),
            "status": self.status,
        }


def _start_of(day: date) -> datetime:
    """00:00 WIB of ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=JAKARTA).astimezone(UTC)


def parse_round_id(round_id: str) -> tuple[int, int]:
    match = ROUND_ID.match(round_id or "")
    if not match:
        raise ValueError(f"round id must look like 2026-11, got {round_id!r}")
    return int(match.group(1)), int(match.group(2))


def default_round(round_id: str) -> Round:
    """The ministry's monthly cycle for month ``round_id`` (YYYY-MM)."""
    year, month = parse_round_id(round_id)
    return Round(
        round_id,
        date(year, month, 1),
        date(year, month, DEFAULT_CUTOFF_DAY),
        DEFAULT_GRACE_DAYS,
        date(year, month, DEFAULT_PENETAPAN_DAY),
    )


def _who(changed_by: str | None) -> str:
    if changed_by:
        return changed_by
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a container: still say where it came from
        return "cli"


_COLUMNS = "round_id, opens_on, cutoff_on, grace_days, penetapan_on, status, on_time_grace_days"


def _record_change(
    conn: sa.Connection,
    round_id: str,
    change: str,
    before: Round | None,
    after: Round,
    reason: str | None,
    changed_by: str | None,
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO audit.round_change (round_id, change, reason, before, after, changed_by)"
            " VALUES (:r, :c, :why, CAST(:b AS jsonb), CAST(:a AS jsonb), :who)"
        ),
        {
            "r": round_id,
            "c": change,
            "why": reason,
            "b": json.dumps(before.dates()) if before else None,
            "a": json.dumps(after.dates()),
            "who": _who(changed_by),
        },
    )


def _get(conn: sa.Connection, round_id: str, lock: bool = False) -> Round:
    # _COLUMNS: this module's own column list; the round id is bound
    row = conn.execute(
        sa.text(
            f"SELECT {_COLUMNS} FROM audit.round WHERE round_id = :r"  # noqa: S608
            + (" FOR UPDATE" if lock else "")
        ),
        {"r": round_id},
    ).first()
    if row is None:
        raise LookupError(f"round {round_id} does not exist; create it with `dtks round create {round_id}`")
    return Round(*row)


# ---------------------------------------------------------------- calendar changes
def create_round(
    eng: Engine,
    rnd: Round,
    provinces: list[str] | None = None,
    districts: list[str] | None = None,
    changed_by: str | None = None,
) -> bool:
    """Create a round and snapshot its expected districts; False if it existed.

    The expected set is every current kab/kota (of ``provinces`` or exactly
    ``districts``, if given) at the moment the round is put in the calendar;
    it is never recomputed afterwards, so a district added or retired later
    cannot push a rate above 100% (the DHIS2 pitfall).
    """
    rnd = replace(rnd, status="open").validate()
    with eng.begin() as conn:
        created = (
            conn.execute(
                sa.text(
                    "INSERT INTO audit.round (round_id, opens_on, cutoff_on, grace_days, on_time_grace_days,"
                    " penetapan_on) VALUES (:r, :o, :c, :g, :og, :p) ON CONFLICT (round_id) DO NOTHING"
                    " RETURNING round_id"
                ),
                {
                    "r": rnd.round_id,
                    "o": rnd.opens_on,
                    "c": rnd.cutoff_on,
                    "g": rnd.grace_days,
                    "og": rnd.on_time_grace_days,
                    "p": rnd.penetapan_on,
                },
            ).first()
            is not None
        )
        if created:
            conn.execute(
                sa.text(
                    "INSERT INTO audit.round_expected_district (round_id, kabkota_code)"
                    " SELECT :r, code FROM ref.kabkota WHERE retired_in IS NULL"
                    " AND (CAST(:p AS text[]) IS NULL OR province_code = ANY(CAST(:p AS text[])))"
                    " AND (CAST(:d AS text[]) IS NULL OR code = ANY(CAST(:d AS text[])))"
                ),
                {"r": rnd.round_id, "p": provinces, "d": districts},
            )
            _record_change(conn, rnd.round_id, "created", None, rnd, None, changed_by)
    return created


def move_round(eng: Engine, round_id: str, reason: str, changed_by: str | None = None, **dates: Any) -> Round:
    """Give an open round new dates (opens_on, cutoff_on, grace_days, on_time_grace_days, penetapan_on)."""
    return _change_dates(eng, round_id, "moved", reason, changed_by, require_status="open", **dates)


def reopen_round(eng: Engine, round_id: str, reason: str, changed_by: str | None = None, **dates: Any) -> Round:
    """Reopen a closed round, with a recorded reason and optionally new dates.

    Files count for a round by arrival time, so accepting files that arrive
    now needs a later cut-off or more grace days; without new dates, a reopen
    only lets the round be recomputed and closed again.
    """
    return _change_dates(eng, round_id, "reopened", reason, changed_by, require_status="closed", **dates)


def _change_dates(
    eng: Engine, round_id: str, change: str, reason: str, changed_by: str | None, require_status: str, **dates: Any
) -> Round:
    if not (reason or "").strip():
        raise ValueError(f"a reason is required to {'move' if change == 'moved' else 'reopen'} a round")
    unknown = set(dates) - {"opens_on", "cutoff_on", "grace_days", "on_time_grace_days", "penetapan_on"}
    if unknown:
        raise ValueError(f"unknown round fields: {sorted(unknown)}")
    with eng.begin() as conn:
        before = _get(conn, round_id, lock=True)
        if before.status != require_status:
            hint = "reopen it with `dtks round reopen`" if before.status == "closed" else "it is still open"
            raise ValueError(f"round {round_id} is {before.status}: cannot be {change} ({hint})")
        after = replace(before, status="open", **{k: v for k, v in dates.items() if v is not None}).validate()
        if change == "moved" and after == before:
            return before
        if after.close_at < before.close_at:
            # Files already counted for the round by arrival time must stay inside it.
            stranded = conn.execute(
                sa.text("SELECT count(*) FROM audit.submission WHERE round_id = :r AND received_at >= :t"),
                {"r": round_id, "t": after.close_at},
            ).scalar_one()
            if stranded:
                raise ValueError(
                    f"round {round_id}: {stranded} file(s) counted for it arrived after the new close "
                    f"(end of {after.last_grace_day}); the round cannot close earlier than they arrived"
                )
        conn.execute(
            sa.text(
                "UPDATE audit.round SET opens_on = :o, cutoff_on = :c, grace_days = :g, on_time_grace_days = :og,"
                " penetapan_on = :p, status = 'open' WHERE round_id = :r"
            ),
            {
                "r": round_id,
                "o": after.opens_on,
                "c": after.cutoff_on,
                "g": after.grace_days,
                "og": after.on_time_grace_days,
                "p": after.penetapan_on,
            },
        )
        _record_change(conn, round_id, change, before, after, reason.strip(), changed_by)
    return after


def close_round(eng: Engine, round_id: str, changed_by: str | None = None) -> bool:
    """Mark a round closed (its metrics and report are published); True if it was open."""
    with eng.begin() as conn:
        before = _get(conn, round_id, lock=True)
        if before.status == "closed":
            return False
        conn.execute(sa.text("UPDATE audit.round SET status = 'closed' WHERE round_id = :r"), {"r": round_id})
        _record_change(conn, round_id, "closed", before, replace(before, status="closed"), None, changed_by)
    return True


def get_round(eng: Engine, round_id: str) -> Round:
    with eng.connect() as conn:
        return _get(conn, round_id)


def list_rounds(eng: Engine) -> list[Round]:
    with eng.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM audit.round ORDER BY opens_on, round_id")).all()  # noqa: S608
    return [Round(*r) for r in rows]


def round_changes(eng: Engine, round_id: str | None = None) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT change_id, round_id, change, reason, before, after, changed_by, changed_at"
                    " FROM audit.round_change WHERE CAST(:r AS text) IS NULL OR round_id = :r ORDER BY change_id"
                ),
                {"r": round_id},
            ).mappings()
        ]


def round_for_interval(eng: Engine, start: datetime | None, end: datetime | None) -> str:
    """The round a scheduled close run is for: the one that closes at the end of its data interval."""
    if end is None:
        raise LookupError("the run has no data interval: trigger it with a round id")
    with eng.connect() as conn:
        found: str | None = conn.execute(
            sa.text(
                "SELECT round_id FROM audit.round_calendar WHERE close_at = :end OR opens_at = :start"
                " ORDER BY (close_at = :end) DESC, close_at LIMIT 1"
            ),
            {"start": start, "end": end},
        ).scalar()
    if found is None:
        raise LookupError(
            f"no round closes at {end.isoformat()} (nor opens at {start}): the calendar file the "
            "timetable read is out of date (run `dtks round export`) or give a round id"
        )
    return found


# ---------------------------------------------------------------- submission policies
@dataclass(frozen=True)
class Assignment:
    """Which round a received file counts for, and by which rule."""

    landed_round_id: str | None
    round_id: str | None
    rule: str  # in_round | in_grace | after_grace | round_closed | round_unknown

    @property
    def reject_code(self) -> str | None:
        return self.rule if self.rule in ("round_closed", "round_unknown") else None

    def detail(self) -> dict[str, Any]:
        return {"landed_round": self.landed_round_id, "round": self.round_id, "round_rule": self.rule}


def assign_round(conn: sa.Connection, folder_round_id: str | None, received_at: datetime) -> Assignment:
    """The round a file landed in ``<landing>/<folder_round_id>/`` at ``received_at`` counts for.

    * received before the end of the cut-off day (WIB): that round (``in_round``);
    * after the cut-off but before the round closes (end of the last grace
      day): that round, late (``in_grace``; days late recorded by the metrics);
    * after the close: the next open round by calendar order that has not
      closed yet (``after_grace``); none: rejected (``round_closed``);
    * no such round in the calendar: rejected (``round_unknown``).
    """
    folder = (folder_round_id or "").strip() or None
    row = (
        conn.execute(
            sa.text("SELECT round_id, opens_on, cutoff_at, close_at FROM audit.round_calendar WHERE round_id = :r"),
            {"r": folder},
        ).first()
        if folder
        else None
    )
    if row is None:
        return Assignment(folder, None, "round_unknown")
    if received_at < row.close_at:
        return Assignment(folder, folder, "in_round" if received_at < row.cutoff_at else "in_grace")
    nxt = conn.execute(
        sa.text(
            "SELECT round_id FROM audit.round_calendar WHERE status = 'open' AND close_at > :t"
            " AND (opens_on, round_id) > (:o, :r) ORDER BY opens_on, round_id LIMIT 1"
        ),
        {"t": received_at, "o": row.opens_on, "r": folder},
    ).scalar()
    return Assignment(folder, nxt, "after_grace") if nxt else Assignment(folder, None, "round_closed")


def round_info(rnd: Round) -> dict[str, Any]:
    """A round as a plain dict for reports, with its instants."""
    return {**asdict(rnd), "last_grace_day": rnd.last_grace_day, "close_at": rnd.close_at}
