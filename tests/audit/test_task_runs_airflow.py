"""Through Airflow (dag.test): every task of a run leaves an audit.task_run row with its rows in and out."""

import pytest
import sqlalchemy as sa

from dtks import airflow_env
from tests import scenario

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


def test_ingest_run_records_rows_in_and_out(wh, dirs, tmp_path, airflow_ready):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    assert "success" in airflow_env.run_dag("dtks_ingest", {"landing_dir": str(dirs["landing"])})
    with wh.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT task_id, map_index, round_id, rows_in, rows_out, detail FROM audit.task_run"
                    " WHERE dag_id = 'dtks_ingest' AND outcome = 'success' ORDER BY task_id, map_index"
                )
            )
            .mappings()
            .all()
        )
        staged = sorted((r["rows_in"], r["rows_out"]) for r in rows if r["task_id"] == "stage_submission")
        assert staged == [(2, 2), (5, 5)]
        merged = sorted(r["rows_out"] for r in rows if r["task_id"] == "merge_submission")
        assert merged == [2, 4]
        assert sorted(r["map_index"] for r in rows if r["task_id"] == "merge_submission") == [0, 1]
        validate = next(r for r in rows if r["task_id"] == "validate_submissions")
        assert (validate["rows_in"], validate["rows_out"]) == (7, 6)
        register = next(r for r in rows if r["task_id"] == "register_landed_files")
        assert register["rows_out"] == 2 and register["detail"]["unit"] == "submissions"
        for r in rows:
            if r["task_id"] in ("stage_submission", "merge_submission"):
                assert r["round_id"] == scenario.ROUND and r["detail"]["submission_id"] > 0
        # and the rows cannot be rewritten afterwards
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), wh.begin() as c2:
            c2.execute(sa.text("UPDATE audit.task_run SET rows_out = 0"))
