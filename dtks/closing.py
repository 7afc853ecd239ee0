"""Closing a round: which round a close run is for, publishing its outputs, re-runs and backfills.

The ``dtks_close_round`` DAG's tasks call these; so do ``dtks close-round``,
``dtks round close`` / ``backfill`` and the demo, which run the real DAG
through Airflow (``dag.test``) for the logical date the round timetable gives.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.engine import Engine

from dtks import metrics, report, rounds
from dtks.close_schedule import CloseRun
from dtks.config import settings

if TYPE_CHECKING:
    from airflow.sdk import DAG
    from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction


class _RoundTimetable(Protocol):
    """What is asked here of dtks_close_round's timetable (plugins/dtks_round_timetable.RoundCloseTimetable)."""

    @property
    def runs(self) -> list[CloseRun]: ...

    def close_run_for(self, round_id: str) -> CloseRun: ...

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None: ...


def _round_timetable(dag: DAG) -> _RoundTimetable:
    # The plugin's class is not importable from the package (plugins/ is Airflow's folder).
    return cast(_RoundTimetable, dag.timetable)


def resolve_round_id(
    param_round_id: str | None,
    interval_start: datetime | None,
    interval_end: datetime | None,
    eng: Engine | None = None,
) -> str:
    """The round of a close run: the form's round id, else the round its data interval closes."""
    if param_round_id:
        rounds.parse_round_id(param_round_id)
        return param_round_id
    if eng is None:
        from dtks.warehouse import engine

        eng = engine()
    return rounds.round_for_interval(eng, interval_start, interval_end)


def publish_round(eng: Engine, round_id: str, out_dir: Path | None = None) -> dict[str, str]:
    """Write out/<round>/district_metrics.csv|xlsx and report.html from stored metrics."""
    out_dir = out_dir or settings().out_dir
    rnd = rounds.get_round(eng, round_id)
    # The round's Great Expectations Data Docs (written by the ingest runs), when there are any.
    links = (
        {"Data Docs (Great Expectations)": "data_docs/index.html"}
        if (Path(out_dir) / round_id / "data_docs" / "index.html").exists()
        else None
    )
    paths = report.write_round_outputs(
        out_dir,
        rounds.round_info(rnd),
        metrics.district_table(eng, round_id),
        metrics.province_table(eng, round_id),
        metrics.national_trend(eng, round_id),
        links=links,
        penetapan=metrics.penetapan(eng, round_id),
        province_trend=metrics.province_trend(eng, round_id),
        new_districts=metrics.new_districts(eng, round_id),
    )
    return {k: str(v) for k, v in paths.items()}


# ---------------------------------------------------------------- running the DAG through Airflow
def close_dag() -> DAG:
    from dtks import airflow_env

    dag = airflow_env.get_dag("dtks_close_round")
    if dag is None:
        raise RuntimeError("DAG dtks_close_round not found")
    return dag


def run_close_dag(logical_date: datetime | None = None, round_id: str | None = None) -> str:
    """Run dtks_close_round once through Airflow (dag.test); return the run's final state.

    With ``logical_date`` and no round id, the DAG's timetable infers the data
    interval (the round that closed most recently by then) and the DAG
    resolves the round from it, as a scheduled run does.
    """
    from dtks import airflow_env

    kwargs: dict[str, Any] = {"logical_date": logical_date} if logical_date is not None else {}
    _run_id, state = airflow_env.test_run(close_dag(), {"round_id": round_id} if round_id else {}, **kwargs)
    if "success" not in state:
        raise RuntimeError(f"DAG dtks_close_round run ended in state {state}")
    return state


def scheduled_close_runs(dag: DAG | None = None) -> list[CloseRun]:
    """The close runs the DAG's timetable schedules, in order (asked of the timetable, as the scheduler does)."""
    from airflow.sdk import timezone
    from airflow.timetables.base import TimeRestriction

    dag = dag or close_dag()
    timetable = _round_timetable(dag)
    restriction = TimeRestriction(earliest=timezone.convert_to_utc(dag.start_date), latest=None, catchup=True)
    found: list[CloseRun] = []
    last: DataInterval | None = None
    while info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction):
        last = info.data_interval
        assert last is not None, "the round timetable gives every run the round's interval"
        found.append(next(r for r in timetable.runs if r.close_at == last.end))
    return found


def close_round_through_calendar(round_id: str) -> str:
    """Run the close of ``round_id`` as the scheduler would: at its close run's time, round from the interval."""
    dag = close_dag()
    run = _round_timetable(dag).close_run_for(round_id)
    return run_close_dag(logical_date=run.run_after)


def backfill(eng: Engine, first: str | None = None, last: str | None = None) -> list[str]:
    """Close every round from ``first`` to ``last`` (calendar order), one DAG run each, in order.

    Each round is computed as of its own close from history, so a backfill
    gives the same figures as having closed the rounds one by one.
    """
    chosen = [
        r
        for r in rounds.list_rounds(eng)
        if (first is None or (r.opens_on, r.round_id) >= _key(eng, first))
        and (last is None or (r.opens_on, r.round_id) <= _key(eng, last))
    ]
    chosen.sort(key=lambda r: (r.close_at, r.round_id))
    for rnd in chosen:
        run_close_dag(logical_date=rnd.close_at, round_id=rnd.round_id)
    return [r.round_id for r in chosen]


def _key(eng: Engine, round_id: str) -> tuple[date, str]:
    rnd = rounds.get_round(eng, round_id)
    return rnd.opens_on, rnd.round_id
