"""The round timetable's next-run logic (no database): in order, a moved round, a gap month, reopening.

Instants worked out by hand: a round closes at the end of its last grace day
in WIB (UTC+7), i.e. at 17:00 UTC of that day; its close run starts 2 hours
later (the settle time); its data interval starts at 00:00 WIB of the day it
opens (17:00 UTC the day before).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from dtks import airflow_env, close_schedule, rounds
from dtks.config import PROJECT_ROOT

airflow_env.configure()  # before airflow is imported: our plugins folder
if str(PROJECT_ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT / "plugins"))

from airflow.exceptions import AirflowTimetableInvalid  # noqa: E402
from airflow.timetables.base import DataInterval, TimeRestriction  # noqa: E402
from dtks_round_timetable import RoundCloseTimetable  # noqa: E402

UTC = UTC
AUG, SEP, OCT = (rounds.default_round(r) for r in ("2026-08", "2026-09", "2026-10"))
FROM_2026 = TimeRestriction(earliest=datetime(2026, 1, 1, tzinfo=UTC), latest=None, catchup=True)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(timetable, restriction=FROM_2026, after=None, limit=20):
    """Ask the timetable run after run, as the scheduler does: [(run_after, start, end), ...]."""
    out, last = [], after
    for _ in range(limit):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        out.append((info.run_after, info.data_interval.start, info.data_interval.end))
        last = info.data_interval
    return out


def test_default_monthly_round_instants():
    assert (AUG.opens_on, AUG.cutoff_on, AUG.grace_days, AUG.penetapan_on) == (
        date(2026, 8, 1),
        date(2026, 8, 14),
        3,
        date(2026, 8, 25),
    )
    assert AUG.opens_at == utc(2026, 7, 31, 17)  # 1 Aug 00:00 WIB
    assert AUG.cutoff_at == utc(2026, 8, 14, 17)  # end of 14 Aug WIB
    assert AUG.close_at == utc(2026, 8, 17, 17)  # end of 17 Aug WIB (14 + 3 grace days)
    assert AUG.on_time_until == AUG.cutoff_at  # on time = by the cut-off (0 on-time grace days)
    assert AUG.last_grace_day == date(2026, 8, 17)


def test_runs_follow_the_calendar_in_order():
    runs = schedule(RoundCloseTimetable([OCT, AUG, SEP]))  # order given does not matter
    assert runs == [
        (utc(2026, 8, 17, 19), utc(2026, 7, 31, 17), utc(2026, 8, 17, 17)),
        (utc(2026, 9, 17, 19), utc(2026, 8, 31, 17), utc(2026, 9, 17, 17)),
        (utc(2026, 10, 17, 19), utc(2026, 9, 30, 17), utc(2026, 10, 17, 17)),
    ]


def test_a_moved_round_runs_at_its_new_close():
    before = RoundCloseTimetable([AUG, SEP, OCT])
    aug_done = DataInterval(utc(2026, 7, 31, 17), utc(2026, 8, 17, 17))
    assert schedule(before, after=aug_done)[0][0] == utc(2026, 9, 17, 19)
    # The ministry extends September: cut-off 21 Sep, 2 grace days → closes end of 23 Sep WIB.
    moved = replace(SEP, cutoff_on=date(2026, 9, 21), grace_days=2, penetapan_on=date(2026, 9, 28))
    after = RoundCloseTimetable.deserialize(RoundCloseTimetable([AUG, moved, OCT]).serialize())
    assert schedule(after, after=aug_done) == [
        (utc(2026, 9, 23, 19), utc(2026, 8, 31, 17), utc(2026, 9, 23, 17)),
        (utc(2026, 10, 17, 19), utc(2026, 9, 30, 17), utc(2026, 10, 17, 17)),
    ]
    # ... or brings it forward: cut-off 7 Sep, 3 grace days → closes end of 10 Sep.
    earlier = replace(SEP, cutoff_on=date(2026, 9, 7))
    assert schedule(RoundCloseTimetable([AUG, earlier, OCT]), after=aug_done)[0][2] == utc(2026, 9, 10, 17)


def test_a_gap_month_has_no_run():
    timetable = RoundCloseTimetable([AUG, OCT])  # no September round (e.g. Lebaran)
    assert [end for _, _, end in schedule(timetable)] == [utc(2026, 8, 17, 17), utc(2026, 10, 17, 17)]
    # a manual run in September is about the August round, the last one closed
    assert timetable.infer_manual_data_interval(run_after=utc(2026, 9, 20)) == DataInterval(
        utc(2026, 7, 31, 17), utc(2026, 8, 17, 17)
    )


def test_a_round_reopened_after_later_rounds_ran_closes_again():
    oct_done = DataInterval(utc(2026, 9, 30, 17), utc(2026, 10, 17, 17))
    timetable = RoundCloseTimetable([AUG, SEP, OCT])
    assert schedule(timetable, after=oct_done) == []
    reopened = replace(SEP, cutoff_on=date(2026, 10, 25), grace_days=3, penetapan_on=date(2026, 11, 5))
    assert schedule(RoundCloseTimetable([AUG, reopened, OCT]), after=oct_done) == [
        (utc(2026, 10, 28, 19), utc(2026, 8, 31, 17), utc(2026, 10, 28, 17))
    ]


def test_restrictions_start_date_and_end_date():
    timetable = RoundCloseTimetable([AUG, SEP, OCT])
    after_aug = TimeRestriction(earliest=utc(2026, 8, 20), latest=None, catchup=True)
    assert [end for _, _, end in schedule(timetable, after_aug)] == [utc(2026, 9, 17, 17), utc(2026, 10, 17, 17)]
    until_sep = TimeRestriction(earliest=utc(2026, 1, 1), latest=utc(2026, 9, 30), catchup=True)
    assert len(schedule(timetable, until_sep)) == 2
    assert schedule(RoundCloseTimetable([]), FROM_2026) == []


def test_without_catchup_only_the_latest_due_round_runs():
    runs = close_schedule.close_runs([AUG, SEP, OCT])
    pick = lambda after, now: close_schedule.next_close_run(  # noqa: E731
        runs, after=after, earliest=utc(2026, 1, 1), latest=None, catchup=False, now=now
    )
    assert pick(None, utc(2026, 10, 20)).round_id == "2026-10"  # Aug and Sep are skipped
    assert pick(None, utc(2026, 9, 20)).round_id == "2026-09"
    assert pick(None, utc(2026, 8, 1)).round_id == "2026-08"  # nothing due yet: the next one
    assert pick(utc(2026, 9, 17, 17), utc(2026, 9, 20)).round_id == "2026-10"
    with_catchup = close_schedule.next_close_run(
        runs, after=None, earliest=utc(2026, 1, 1), latest=None, catchup=True, now=utc(2026, 10, 20)
    )
    assert with_catchup.round_id == "2026-08"


def test_manual_runs_and_run_ids():
    timetable = RoundCloseTimetable([AUG, SEP])
    assert timetable.infer_manual_data_interval(run_after=utc(2026, 8, 10)) == DataInterval.exact(utc(2026, 8, 10))
    sep = DataInterval(utc(2026, 8, 31, 17), utc(2026, 9, 17, 17))
    assert timetable.infer_manual_data_interval(run_after=utc(2026, 9, 17, 17)) == sep
    assert timetable.infer_manual_data_interval(run_after=utc(2027, 1, 1)) == sep
    from airflow.utils.types import DagRunType

    run_id = timetable.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=utc(2026, 9, 17, 19), data_interval=sep)
    assert run_id.startswith("scheduled__2026-09__2026-09-17T19:00:00")


def test_settle_time_and_validation(monkeypatch):
    monkeypatch.setenv("DTKS_CLOSE_SETTLE_MINUTES", "30")
    from dtks_round_timetable import settle_from_env

    timetable = RoundCloseTimetable([AUG], settle_from_env())
    assert schedule(timetable)[0][0] == utc(2026, 8, 17, 17, 30)
    twin = replace(SEP, round_id="2026-12", opens_on=date(2026, 9, 2))  # closes when September closes
    with pytest.raises(AirflowTimetableInvalid):
        RoundCloseTimetable([SEP, twin]).validate()
    RoundCloseTimetable([AUG, SEP, OCT]).validate()


def test_serialized_through_airflow_as_a_registered_plugin():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    timetable = RoundCloseTimetable([AUG, replace(SEP, cutoff_on=date(2026, 9, 21)), OCT], timedelta(minutes=45))
    encoded = encode_timetable(timetable)
    assert encoded["__type"] == "dtks_round_timetable.RoundCloseTimetable"
    json.dumps(encoded)  # plain JSON: what the dag-processor stores and the scheduler reads
    decoded = decode_timetable(encoded)
    assert decoded == timetable and schedule(decoded) == schedule(timetable)
    assert "3 round(s), 2026-08 … 2026-10" in decoded.description


def test_calendar_file(tmp_path):
    path = tmp_path / "rounds.json"
    assert RoundCloseTimetable.from_calendar_file(path).runs == []  # nothing exported yet: no runs
    moved = replace(SEP, cutoff_on=date(2026, 9, 21), on_time_grace_days=1)
    path.write_text(json.dumps(close_schedule.calendar_document([OCT, AUG, moved])))
    timetable = RoundCloseTimetable.from_calendar_file(path)
    assert [r.round_id for r in timetable.runs] == ["2026-08", "2026-09", "2026-10"]
    assert timetable.calendar[1] == moved
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid"):
        RoundCloseTimetable.from_calendar_file(path)
