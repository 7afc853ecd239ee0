"""Airflow plugin: the DTKS round calendar as a timetable for ``dtks_close_round``.

One run per round, at the round's close: the end of its last grace day
(cut-off + grace days, Asia/Jakarta) plus a settle time (default 2 hours, so
the hourly ``dtks_ingest`` has registered the files that arrived just before
the close). The run's data interval is the round: [opens 00:00 WIB, close).
The close DAG finds its round from that interval.

Where the calendar comes from: the warehouse (``audit.round``) is the
calendar of record, managed with ``dtks round create/move/close/reopen``;
each of those commands also exports it to a small JSON file
(``$DTKS_CALENDAR_FILE``, default ``<DTKS_VAR_DIR>/calendar/rounds.json``).
The DAG file builds this timetable from that file when it is parsed, and
the rounds travel inside the serialized DAG, so the scheduler and the
dag-processor never query the warehouse (a warehouse outage cannot break
scheduling) and a changed calendar reaches the scheduler at the next parse.

The decision logic is plain Python in ``dtks.rounds`` (``close_runs``,
``next_close_run``, ``last_closed_run``) and unit-tested there and here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.exceptions import AirflowTimetableInvalid
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

from dtks import close_schedule, rounds
from dtks.config import settings

if TYPE_CHECKING:
    from airflow.timetables.base import TimeRestriction
    from airflow.utils.types import DagRunType
    from pendulum import DateTime


def _aware(value) -> pendulum.DateTime:
    return pendulum.instance(value).in_timezone("UTC")


def settle_from_env() -> timedelta:
    """``DTKS_CLOSE_SETTLE_MINUTES`` (default 120): how long after a round's close its run starts."""
    return timedelta(minutes=settings().close_settle_minutes)


class RoundCloseTimetable(Timetable):
    """Runs ``dtks_close_round`` once per round of the DTKS calendar, when the round closes."""

    def __init__(
        self, calendar: list[rounds.Round], settle: timedelta = close_schedule.DEFAULT_SETTLE, source: str | None = None
    ) -> None:
        self.calendar = sorted(calendar, key=lambda r: (r.opens_on, r.round_id))
        self.settle = settle
        self.source = source
        self._runs = close_schedule.close_runs(self.calendar, settle)
        if self._runs:
            first, last = self._runs[0], self._runs[-1]
            span = first.round_id if first is last else f"{first.round_id} … {last.round_id}"
            self.description = (
                f"At each DTKS round's close (end of cut-off + grace days, WIB) + {settle}: "
                f"{len(self._runs)} round(s), {span}"
            )
        else:
            self.description = "DTKS round calendar: no rounds yet (create them with `dtks round create`)"

    @classmethod
    def from_calendar_file(cls, path=None, settle: timedelta | None = None) -> RoundCloseTimetable:
        """The timetable of the exported calendar file (no file yet: no rounds, no runs)."""
        source = close_schedule.calendar_path() if path is None else path
        settle = settle if settle is not None else settle_from_env()
        return cls(close_schedule.load_calendar(source), settle, str(source))

    @property
    def runs(self) -> list[close_schedule.CloseRun]:
        """Every round's close run, in order of closing."""
        return list(self._runs)

    @property
    def summary(self) -> str:
        return f"DTKS rounds ({len(self._runs)})"

    def validate(self) -> None:
        closes = [run.close_at for run in self._runs]
        if len(set(closes)) != len(closes):
            raise AirflowTimetableInvalid("two rounds in the DTKS calendar close at the same instant")
        for rnd in self.calendar:
            try:
                rnd.validate()
            except ValueError as exc:
                raise AirflowTimetableInvalid(str(exc)) from exc

    # ------------------------------------------------------------ scheduling
    def close_run_for(self, round_id: str) -> close_schedule.CloseRun:
        for run in self._runs:
            if run.round_id == round_id:
                return run
        raise LookupError(f"round {round_id} is not in the calendar this timetable was built from")

    @staticmethod
    def run_info(run: close_schedule.CloseRun) -> DagRunInfo:
        return DagRunInfo(
            run_after=_aware(run.run_after), data_interval=DataInterval(_aware(run.opens_at), _aware(run.close_at))
        )

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        nxt = close_schedule.next_close_run(
            self._runs,
            after=last_automated_data_interval.end if last_automated_data_interval else None,
            earliest=restriction.earliest,
            latest=restriction.latest,
            catchup=restriction.catchup,
            now=pendulum.now("UTC"),
        )
        return None if nxt is None else self.run_info(nxt)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        """A manual run is about the round that closed most recently (a round id in the form overrides it)."""
        last = close_schedule.last_closed_run(self._runs, run_after)
        if last is None:
            return DataInterval.exact(_aware(run_after))
        return DataInterval(_aware(last.opens_at), _aware(last.close_at))

    def generate_run_id(
        self, *, run_type: DagRunType, run_after: DateTime, data_interval: DataInterval | None, **extra
    ) -> str:
        round_id = next(
            (run.round_id for run in self._runs if data_interval is not None and run.close_at == data_interval.end),
            None,
        )
        suffix = run_after.isoformat() if round_id is None else f"{round_id}__{run_after.isoformat()}"
        return run_type.generate_run_id(suffix=suffix)

    # ------------------------------------------------------------ serialization
    def serialize(self) -> dict[str, Any]:
        return {
            "rounds": close_schedule.calendar_document(self.calendar)["rounds"],
            "settle_seconds": int(self.settle.total_seconds()),
            "source": self.source,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RoundCloseTimetable:
        document = {"format": close_schedule.CALENDAR_FORMAT, "rounds": data.get("rounds", [])}
        calendar = close_schedule.rounds_from_document(document)
        return cls(calendar, timedelta(seconds=int(data.get("settle_seconds", 0))), data.get("source"))

    def __eq__(self, other: object) -> bool:
        # By content: the plugin manager may load this module a second time (another class object).
        return type(other).__qualname__ == type(self).__qualname__ and {
            k: v for k, v in other.serialize().items() if k != "source"
        } == {k: v for k, v in self.serialize().items() if k != "source"}

    def __hash__(self) -> int:
        return hash((tuple(self.calendar), self.settle))


class DtksRoundTimetablePlugin(AirflowPlugin):
    name = "dtks_round_timetable"
    timetables = [RoundCloseTimetable]
