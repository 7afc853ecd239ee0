"""DAG dtks_close_round: a round's per-district metrics, rollups and report."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task

from dtks.dag_defaults import DEFAULT_ARGS

DOC = """
### Close an update round / Tutup putaran pemutakhiran

For the round in `round_id` (e.g. `2026-10`):

1. **compute_metrics** – runs `include/sql/metrics_district_round.sql`: per-district expected,
   submitted, accepted, on time, days late, submission lag, record coverage 12m/24m, record age,
   acceptance rate, missed rounds, update class and update index, with province and national
   rollups, into `metrics.*`. Computed "as of" the round's close from the warehouse history, so
   re-running a past round gives the same figures.
2. **publish_report** – `out/<round>/district_metrics.csv`, `.xlsx` and `report.html`.
3. **mark_closed** – the round's status becomes `closed`.

Trigger it with the form (round id) to recompute a past round. Logic: `dtks.closing`.
"""


@dag(
    dag_id="dtks_close_round",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=DOC,
    tags=["dtks"],
    params={
        "round_id": Param("", type="string", pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                          title="Round / Putaran", description="Round id, e.g. 2026-10."),
    },
)
def dtks_close_round():
    @task
    def compute_metrics(**context) -> dict:
        from dtks import metrics
        from dtks.warehouse import engine
        round_id = context["params"]["round_id"]
        return {"round_id": round_id, "districts": metrics.compute_round_metrics(engine(), round_id)}

    @task
    def publish_report(computed: dict) -> dict:
        from dtks.closing import publish_round
        from dtks.warehouse import engine
        return publish_round(engine(), computed["round_id"])

    @task
    def mark_closed(computed: dict) -> str:
        from dtks import rounds
        from dtks.warehouse import engine
        rounds.close_round(engine(), computed["round_id"])
        return computed["round_id"]

    computed = compute_metrics()
    publish_report(computed) >> mark_closed(computed)


dtks_close_round()
