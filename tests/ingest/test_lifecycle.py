"""The submission lifecycle (dtks.lifecycle): every allowed move does what the table says, others are refused.

On the real warehouse: each case starts from a submission row in the move's
source state and reads back its status, the columns the move writes and the
events it leaves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from dtks import lifecycle
from dtks.lifecycle import IllegalTransition, Transition
from dtks.reasons import SubmissionRejected
from tests.builders import WIB
from tests.ingest.helpers import ROUND, create_round

RUN = "run-lifecycle"
AT = datetime(2026, 8, 10, 10, 0, tzinfo=WIB)


def _submission(
    conn,
    status: str,
    kind: str = "district",
    n: int = 1,
    round_id: str | None = None,
    district: str | None = None,
    rows_accepted: int | None = None,
) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, sha256, size_bytes,"
            " received_at, registered_by_run, status, rows_accepted)"
            " VALUES (:kind, :round, :district, :name, :name, :sha, 10, :at, 'setup', :status, :accepted)"
            " RETURNING submission_id"
        ),
        {
            "kind": kind,
            "round": round_id,
            "district": district,
            "name": f"f{n}.csv",
            "sha": f"{n:064d}",
            "at": AT + timedelta(hours=n),
            "status": status,
            "accepted": rows_accepted,
        },
    ).scalar_one()


def _row(conn, sid: int):
    return conn.execute(sa.text("SELECT * FROM audit.submission WHERE submission_id = :s"), {"s": sid}).mappings().one()


def _events(conn, sid: int) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            sa.text(
                "SELECT event, run_id, detail FROM audit.submission_event WHERE submission_id = :s ORDER BY event_id"
            ),
            {"s": sid},
        ).all()
    ]


def _district(conn) -> str:
    return conn.execute(sa.text("SELECT code FROM ref.kabkota ORDER BY code LIMIT 1")).scalar_one()


# What each move is called with, and what it must leave (columns, events).
CALLS = {
    "reject": (
        lambda c, s: lifecycle.reject(c, s, SubmissionRejected("file_empty"), RUN),
        {"reject_reason": "file_empty"},
        "rejected",
    ),
    "stage": (lambda c, s: lifecycle.mark_staged(c, s, 7, RUN, {"path": "bulk"}), {"rows_in": 7}, "staged"),
    "validate": (
        lambda c, s: lifecycle.mark_validated(
            c, s, {"rows_quarantined": 1, "rows_warned": 2}, "rows", "v3", RUN, {"suite": "rows"}
        ),
        {"rows_quarantined": 1, "rows_warned": 2, "suite_name": "rows", "suite_version": "v3"},
        "validated",
    ),
    "trust_baseline": (lambda c, s: lifecycle.trust_baseline(c, s), {"rows_quarantined": 0, "rows_warned": 0}, None),
    "merge": (lambda c, s: lifecycle.mark_merged(c, s, 5, RUN, {"rows_accepted": 5}), {"rows_accepted": 5}, "merged"),
    "merge_edition": (
        lambda c, s: lifecycle.mark_edition_merged(c, s, 4, RUN, {"persons_recoded": 4}),
        {"rows_accepted": 4},
        "merged",
    ),
}


@pytest.mark.parametrize(
    "t", [t for t in lifecycle.TRANSITIONS if t.move != "supersede"], ids=lambda t: f"{t.source}-{t.move}-{t.kinds[0]}"
)
def test_every_allowed_move(wh, t: Transition):
    call, written, event = CALLS[t.move]
    with wh.begin() as conn:
        sid = _submission(conn, t.source, t.kinds[0])
        call(conn, sid)
        row = _row(conn, sid)
        assert row["status"] == t.target
        assert {k: row[k] for k in written} == written
        if t.move.startswith("merge"):
            assert row["merged_at"] is not None
        events = _events(conn, sid)
    assert [e[0] for e in events] == ([event] if event else [])
    assert all(e[1] == RUN for e in events)
    if t.move == "reject":
        assert events[0][2]["reason"] == "file_empty"


def test_supersede_moves_the_earlier_merged_file_of_the_round(wh):
    create_round(wh)
    with wh.begin() as conn:
        district = _district(conn)
        earlier = _submission(conn, "merged", n=1, round_id=ROUND, district=district, rows_accepted=3)
        later = _submission(conn, "merged", n=2, round_id=ROUND, district=district, rows_accepted=2)
        assert lifecycle.supersede_earlier(conn, later, RUN) == [earlier]
        assert (_row(conn, earlier)["status"], _row(conn, later)["status"]) == ("superseded", "merged")
        assert _events(conn, earlier) == [("superseded", RUN, {"superseded_by": later})]
        assert _events(conn, later) == []


@pytest.mark.parametrize(
    "status, kind, move",
    [
        ("merged", "district", "stage"),  # staged twice
        ("rejected", "district", "merge"),  # a rejected file merged
        ("received", "district", "validate"),  # validated without staging
        ("validated", "district", "reject"),  # rejected after passing the suites
        ("superseded", "district", "merge"),
        ("staged", "district", "trust_baseline"),  # only a baseline skips the suites
        ("received", "district", "merge_edition"),  # only an edition is merged unstaged
        ("merged", "edition", "merge_edition"),  # applied twice
    ],
)
def test_illegal_moves_raise_and_change_nothing(wh, status, kind, move):
    call, _, _ = CALLS[move]
    with wh.begin() as conn:
        sid = _submission(conn, status, kind)
        before = dict(_row(conn, sid))
        with conn.begin_nested():
            with pytest.raises(IllegalTransition, match=rf"submission {sid} \({kind}\) is {status}: cannot {move}"):
                call(conn, sid)
        assert dict(_row(conn, sid)) == before
        assert _events(conn, sid) == []


def test_a_missing_submission_is_named(wh):
    with wh.begin() as conn:
        with pytest.raises(IllegalTransition, match="submission 999999 does not exist: cannot stage"):
            lifecycle.mark_staged(conn, 999999, 1, RUN, {})


def test_the_docstring_table_lists_every_transition():
    lines = lifecycle.__doc__.splitlines()
    for t in lifecycle.TRANSITIONS:
        assert any(
            line.split()[:2] == [t.source, t.move] and t.target in line.split() for line in lines if line.strip()
        ), t
