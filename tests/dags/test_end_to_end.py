"""The real DAGs, run through Airflow (dag.test) on the small hand-computed round."""

import csv
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dtks import airflow_env, metrics
from tests import scenario
from tests.builders import JAKPUS, PACITAN, SURABAYA

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


def test_ingest_and_close_round_through_airflow(wh, dirs, tmp_path, airflow_ready):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])

    assert "success" in airflow_env.run_dag("dtks_ingest", {"landing_dir": str(dirs["landing"])})
    with wh.connect() as conn:
        subs = conn.execute(
            sa.text(
                "SELECT kabkota_code, status, rows_in, rows_accepted, rows_quarantined FROM audit.submission"
                " WHERE kind = 'district' ORDER BY kabkota_code"
            )
        ).all()
        assert [tuple(s) for s in subs] == [(PACITAN, "merged", 2, 2, 0), (SURABAYA, "merged", 5, 4, 1)]
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual_version")).scalar() == 10
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual WHERE active")).scalar() == 7
        # every task of the run left an audit row, named by the Airflow run
        tasks = conn.execute(
            sa.text(
                "SELECT task_id, count(*) FROM audit.task_run WHERE dag_id = 'dtks_ingest' AND outcome = 'success'"
                " GROUP BY task_id"
            )
        ).all()
        assert dict(tasks) == {
            "register_landed_files": 1,
            "stage_submission": 2,
            "plan_validation": 1,
            "validate_submissions": 1,
            "merge_submission": 2,
            "summarise_run": 1,
        }
        events = conn.execute(
            sa.text(
                "SELECT array_agg(event ORDER BY event_id) FROM audit.submission_event e"
                " JOIN audit.submission s USING (submission_id) WHERE s.kabkota_code = :d"
            ),
            {"d": SURABAYA},
        ).scalar()
        assert events == ["received", "archived", "staged", "validated", "merged"]

    # the run wrote each district's feedback (the blank-name row of Surabaya in it) and the Data Docs
    feedback_csvs = sorted(
        p.relative_to(dirs["outbox"]).parts[:2]
        for p in dirs["outbox"].rglob("feedback_*.csv")
        if "summary" not in p.name
    )
    assert feedback_csvs == [(scenario.ROUND, PACITAN), (scenario.ROUND, SURABAYA)]
    surabaya_feedback = next((dirs["outbox"] / scenario.ROUND / SURABAYA).glob("feedback_*[0-9].csv"))
    assert "nama_blank" in surabaya_feedback.read_text(encoding="utf-8")
    assert (dirs["out"] / scenario.ROUND / "data_docs" / "index.html").exists()

    # a second run over the same (now empty) landing zone changes nothing
    assert "success" in airflow_env.run_dag("dtks_ingest", {"landing_dir": str(dirs["landing"])})
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM registry.individual_version")).scalar() == 10

    assert "success" in airflow_env.run_dag("dtks_close_round", {"round_id": scenario.ROUND})
    rows = {r["kabkota_code"]: r for r in metrics.district_table(wh, scenario.ROUND)}
    assert rows[SURABAYA]["coverage_24m"] == Decimal("0.7500")
    assert rows[PACITAN]["days_late"] == 2
    assert rows[JAKPUS]["accepted"] is False

    out = dirs["out"] / scenario.ROUND
    with (out / "district_metrics.csv").open(newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [r["kabkota_code"] for r in table] == [JAKPUS, PACITAN, SURABAYA]
    assert {r["kabkota_code"]: r["submission_lag_days"] for r in table} == {JAKPUS: "", PACITAN: "1", SURABAYA: "7"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Kota Surabaya" in html and 'id="follow-up"' in html
    assert 'href="data_docs/index.html"' in html
    with wh.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT status FROM audit.round WHERE round_id = :r"), {"r": scenario.ROUND}).scalar()
            == "closed"
        )
