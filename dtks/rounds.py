"""The round calendar: rounds and their expected districts, kept in the warehouse.

The ministry's monthly cycle (Permensos 3/2021): districts submit in weeks
1-2, the ministry verifies in week 3 and determines (penetapan) in week 4.
The default calendar encodes that; engineers can give other dates per round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DEFAULT_CUTOFF_DAY = 14      # end of week 2
DEFAULT_GRACE_DAYS = 3
DEFAULT_PENETAPAN_DAY = 25   # week 4
_ROUND_ID = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Round:
    round_id: str
    opens_on: date
    cutoff_on: date
    grace_days: int
    penetapan_on: date
    status: str = "open"


def default_round(round_id: str) -> Round:
    match = _ROUND_ID.match(round_id)
    if not match:
        raise ValueError(f"round id must look like 2026-11, got {round_id!r}")
    year, month = int(match.group(1)), int(match.group(2))
    return Round(round_id, date(year, month, 1), date(year, month, DEFAULT_CUTOFF_DAY), DEFAULT_GRACE_DAYS,
                 date(year, month, DEFAULT_PENETAPAN_DAY))


def create_round(eng: Engine, rnd: Round, provinces: list[str] | None = None,
                 districts: list[str] | None = None) -> bool:
    """Create a round and snapshot its expected districts; False if it existed.

    The expected set is every current kab/kota (of ``provinces`` or exactly
    ``districts``, if given) at the moment the round opens; it is never
    recomputed afterwards.
    """
    with eng.begin() as conn:
        created = conn.execute(
            sa.text("INSERT INTO audit.round (round_id, opens_on, cutoff_on, grace_days, penetapan_on)"
                    " VALUES (:r, :o, :c, :g, :p) ON CONFLICT (round_id) DO NOTHING RETURNING round_id"),
            {"r": rnd.round_id, "o": rnd.opens_on, "c": rnd.cutoff_on, "g": rnd.grace_days, "p": rnd.penetapan_on},
        ).first() is not None
        if created:
            conn.execute(
                sa.text("INSERT INTO audit.round_expected_district (round_id, kabkota_code)"
                        " SELECT :r, code FROM ref.kabkota WHERE retired_in IS NULL"
                        " AND (CAST(:p AS text[]) IS NULL OR province_code = ANY(CAST(:p AS text[])))"
                        " AND (CAST(:d AS text[]) IS NULL OR code = ANY(CAST(:d AS text[])))"),
                {"r": rnd.round_id, "p": provinces, "d": districts},
            )
    return created


def get_round(eng: Engine, round_id: str) -> Round:
    with eng.connect() as conn:
        row = conn.execute(
            sa.text("SELECT round_id, opens_on, cutoff_on, grace_days, penetapan_on, status"
                    " FROM audit.round WHERE round_id = :r"), {"r": round_id}).first()
    if row is None:
        raise LookupError(f"round {round_id} does not exist; create it with `dtks round create {round_id}`")
    return Round(*row)


def list_rounds(eng: Engine) -> list[Round]:
    with eng.connect() as conn:
        rows = conn.execute(sa.text("SELECT round_id, opens_on, cutoff_on, grace_days, penetapan_on, status"
                                    " FROM audit.round ORDER BY opens_on")).all()
    return [Round(*r) for r in rows]


def close_round(eng: Engine, round_id: str) -> None:
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE audit.round SET status = 'closed' WHERE round_id = :r"), {"r": round_id})
