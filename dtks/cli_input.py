"""What a person typed on the `dtks` command line, checked before anything slow (Airflow) starts.

Argument types give one-line messages for a wrong date or round id; the round
check answers an unknown round in well under a second, pointing to
``dtks round list``, before a DAG is parsed or run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EXIT_USAGE = 2  # argparse's own status for wrong input; also an unknown round

DATE_HELP = "YYYY-MM-DD, e.g. 2026-11-14"
TIMESTAMP_HELP = "ISO timestamp, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+07:00]"
ROUND_HELP = "round id, YYYY-MM (e.g. 2026-11)"


def iso_date(text: str) -> date:
    """argparse type: a calendar date written YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD (e.g. 2026-11-14)") from None


def iso_timestamp(text: str) -> datetime:
    """argparse type: an ISO date or date-time (a missing zone means UTC)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a timestamp written YYYY-MM-DD or YYYY-MM-DDTHH:MM (e.g. 2026-11-14T08:00+07:00)"
        ) from None


def round_id(text: str) -> str:
    """argparse type: a round id written YYYY-MM."""
    from dtks.rounds import parse_round_id

    try:
        parse_round_id(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a round id written YYYY-MM (e.g. 2026-11)") from None
    return text


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (with where to find help), exit status 2."""

    def error(self, message: str) -> NoReturn:  # argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def rounds_named(args: argparse.Namespace) -> list[str]:
    """The existing rounds a parsed command refers to (``round create`` names a new one: not listed)."""
    if getattr(args, "creates_round", False):
        return []
    names = [getattr(args, attr, None) for attr in ("round_id", "round", "first", "last")]
    return [n for n in names if n]


def unknown_rounds(eng: Engine, names: list[str]) -> list[str]:
    """Those of ``names`` that are not in the round calendar (one query)."""
    if not names:
        return []
    import sqlalchemy as sa

    with eng.connect() as conn:
        known = set(
            conn.execute(sa.text("SELECT round_id FROM audit.round WHERE round_id = ANY(:r)"), {"r": names}).scalars()
        )
    return [n for n in names if n not in known]


def check_rounds_exist(args: argparse.Namespace, eng_factory: Callable[[], Engine]) -> int | None:
    """Exit status 2 (and one line on stderr) when the command names a round that does not exist."""
    names = rounds_named(args)
    missing = unknown_rounds(eng_factory(), names) if names else []
    if not missing:
        return None
    which = ", ".join(missing)
    print(
        f"dtks: error: round {which} does not exist (see `dtks round list`; "
        f"create it with `dtks round create {missing[0]}`)",
        file=sys.stderr,
    )
    return EXIT_USAGE
