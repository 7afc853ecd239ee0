"""DAG dtks_close_round: a round's per-district metrics, rollups, penetapan snapshot and report."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, task
from dtks_round_timetable import RoundCloseTimetable  # plugins/: the round calendar as a timetable

from dtks.dag_defaults import DEFAULT_ARGS
from dtks.rounds import ROUND_ID

DOC = """
### Close an update round / Tutup putaran pemutakhiran

**Schedule**: the DTKS round calendar (`plugins/dtks_round_timetable.py`). One run per round,
when the round closes — the end of its last grace day (cut-off + grace days, WIB) plus a settle
time (default 2 h, `DTKS_CLOSE_SETTLE_MINUTES`) — with the round as data interval
[opens, close). The calendar is the warehouse's `audit.round`, exported to a JSON file by every
`dtks round` command and read when this file is parsed (no warehouse query at parse or
scheduling time). A moved round runs at its new close; a month without a round has no run.

1. **compute_metrics** – for the round in the form (`round_id`), else the round that closes at the
   end of this run's data interval: `include/sql/metrics_district_round.sql`: per-district expected,
   submitted, accepted, on time, days late, submission lag, record coverage 12m/24m, record age,
   acceptance rate, missed rounds, update class and update index (with the 0.70 / 0.75
   thresholds), with province and national rollups, into `metrics.*`. Computed "as of" the
   round's close from the warehouse history, so re-running a past round — or a backfill of
   several — gives the same figures.
2. **freeze_penetapan** – the registry as the round determined it (as of its close), per-district
   counts and a hash of exactly which record versions, into `metrics.penetapan*` (never changed).
3. **publish_report** – `out/<round>/district_metrics.csv`, `.xlsx` and `report.html`.
4. **mark_closed** – the round's status becomes `closed` (recorded in `audit.round_change`).

Trigger it with the form (round id) to recompute a past round; `dtks round backfill` runs it for
several past rounds in calendar order. Logic: `dtks.metrics`, `dtks.closing`, `dtks.rounds`.
"""


@dag(
    dag_id="dtks_close_round",
    schedule=RoundCloseTimetable.from_calendar_file(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),  # UTC, Airflow's default zone, written out
    catchup=True,  # every round in the calendar is closed once, in order, even if the scheduler was down
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=DOC,
    tags=["dtks"],
    params={
        "round_id": Param(
            None,
            type=["null", "string"],
            pattern=ROUND_ID.pattern,
            title="Round / Putaran",
            description="Round id, e.g. 2026-10. Empty: the round this run's data interval closes.",
        ),
    },
)
def dtks_close_round():
    @task
    def compute_metrics(**context) -> dict:
        from dtks import metrics
        from dtks.closing import resolve_round_id
        from dtks.warehouse import engine

        eng = engine()
        round_id = resolve_round_id(
            context["params"].get("round_id"), context.get("data_interval_start"), context.get("data_interval_end"), eng
        )
        return {"round_id": round_id, "districts": metrics.compute_round_metrics(eng, round_id)}

    @task
    def freeze_penetapan(computed: dict, **context) -> dict:
        from dtks import metrics
        from dtks.warehouse import engine

        snapshot_no = metrics.freeze_penetapan(engine(), computed["round_id"], context["run_id"])
        return {"round_id": computed["round_id"], "snapshot_no": snapshot_no}

    @task
    def publish_report(frozen: dict) -> dict:
        from dtks.closing import publish_round
        from dtks.warehouse import engine

        return publish_round(engine(), frozen["round_id"])

    @task
    def mark_closed(frozen: dict, **context) -> str:
        from dtks import rounds
        from dtks.warehouse import engine

        rounds.close_round(engine(), frozen["round_id"], changed_by=context["run_id"])
        return frozen["round_id"]

    frozen = freeze_penetapan(compute_metrics())
    publish_report(frozen) >> mark_closed(frozen)


dtks_close_round()
