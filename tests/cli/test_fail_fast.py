"""Issue 14 item 3: wrong input to the CLI is refused at once, in one line, before Airflow starts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cli.conftest import DTKS

UNKNOWN = "2099-01"
ROUND_COMMANDS = [
    ("close-round", UNKNOWN),
    ("round", "close", UNKNOWN),
    ("table", UNKNOWN),
    ("review-queue", "--round", UNKNOWN),
    ("round", "penetapan", UNKNOWN),
    ("audit-export", UNKNOWN),
    ("round", "history", UNKNOWN),
    ("round", "backfill", "--from", UNKNOWN),
    ("round", "move", UNKNOWN, "--reason", "x", "--cutoff", "2099-01-20"),
]


def _dag_runs(airflow_home: Path) -> int:
    db = airflow_home / "airflow.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT count(*) FROM dag_run").fetchone()[0]
        except sqlite3.OperationalError:  # metadata DB never migrated: no run either
            return 0


@pytest.mark.parametrize("command", ROUND_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_unknown_round_is_one_line_exit_2_without_airflow(command, run_cli, wh):
    home = Path(os.environ["AIRFLOW_HOME"])
    runs_before = _dag_runs(home)
    started = time.monotonic()
    result = run_cli(*command, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"round {UNKNOWN} does not exist" in lines[0] and "dtks round list" in lines[0]
    assert result.stdout == ""
    # Nothing ran: no DAG run in Airflow's metadata DB, no task recorded in the warehouse.
    assert _dag_runs(home) == runs_before
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.task_run")).scalar() == 0
    assert elapsed < 10, f"took {elapsed:.1f}s"  # generous: the machine is shared; the no-Airflow check is below


def test_unknown_round_never_imports_airflow(warehouse_url):
    code = (
        "import sys; from dtks import cli; rc = cli.main(['close-round', '2099-01']);"
        " print(rc, any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DTKS_WAREHOUSE_URL": warehouse_url},
    )
    assert result.stdout.split() == ["2", "False"], result


def test_wrong_date_spelling_is_one_line_and_creates_nothing(run_cli, wh):
    result = run_cli("round", "create", "2026-12", "--cutoff", "14-12-2026", timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--cutoff" in lines[0] and "'14-12-2026'" in lines[0] and "YYYY-MM-DD" in lines[0]
    assert "isoformat" not in result.stderr
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.round WHERE round_id = '2026-12'")).scalar() == 0


def test_creating_a_round_that_has_already_closed_says_so(run_cli, wh):
    # Default calendar for 2020-01: cut-off 14 Jan, 3 grace days, closed at the end of 17 Jan 2020.
    past = run_cli("round", "create", "2020-01", timeout=60)
    assert past.returncode == 0, past.stderr
    assert "round 2020-01 created" in past.stdout
    assert "closed on 2020-01-17" in past.stderr and "round_closed" in past.stderr
    assert "dtks round move 2020-01" in past.stderr
    future = run_cli("round", "create", "2099-05", timeout=60)
    assert future.returncode == 0, future.stderr
    assert "round 2099-05 created" in future.stdout and future.stderr == ""


def test_wrong_round_id_spelling_is_one_line(run_cli):
    result = run_cli("table", "11-2026", timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "YYYY-MM" in result.stderr


@pytest.mark.parametrize("action", ["create", "move", "reopen"])
def test_every_date_option_says_its_format_in_help(action):
    text = subprocess.run(
        [str(DTKS), "round", action, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    for option in ("--opens", "--cutoff", "--penetapan"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(option))
        assert "YYYY-MM-DD" in line, line


def test_baseline_received_at_is_checked_and_explained():
    text = subprocess.run(
        [str(DTKS), "baseline", "load", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "YYYY-MM-DD" in text
    bad = subprocess.run(
        [str(DTKS), "baseline", "load", "x.csv", "--received-at", "yesterday"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "YYYY-MM-DD" in bad.stderr


def test_version():
    from importlib.metadata import version

    result = subprocess.run([str(DTKS), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"dtks {version('dtks')}"
