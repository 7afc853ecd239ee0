"""SIGKILL inside register / stage / validate / merge, then a retry: the warehouse ends
exactly as after an uninterrupted run — nothing lost, nothing applied twice."""

import signal

import pytest

from dtks import warehouse
from tests.faults.harness import run_child, setup_round
from tests.faults.state import warehouse_state

pytestmark = pytest.mark.postgres

FAILPOINTS = [
    "register.after_archive_copy",  # file copied into the archive, nothing recorded yet
    "register.after_commit",  # recorded, landing file not yet removed
    "stage.before_commit",  # rows COPYed, transaction open
    "validate.after_gx",  # suites ran, no result recorded
    "validate.between_submissions@2",  # one submission's results recorded, the other's not
    "merge.before_commit",  # registry written, transaction open
    "merge.after_commit",  # merged, staging not yet reported back
]


@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_killed_then_retried_equals_uninterrupted(failpoint, make_warehouse, tmp_path, reference_state):
    url = make_warehouse()
    env = setup_round(url, tmp_path)
    assert run_child(env, "crashing", failpoint) == -signal.SIGKILL, f"failpoint {failpoint} was never reached"
    run_child(env, "retry")
    state = warehouse_state(warehouse.engine(url))
    assert state == reference_state
    # every file is accounted for: in the archive, none left in landing
    assert list((tmp_path / "landing").rglob("*.csv")) == []
    archived = sorted(p.name.split("__", 1)[1] for p in (tmp_path / "archive").rglob("*.csv"))
    assert archived == sorted(["baseline.csv", "dtks_3578_2026-08.csv", "dtks_3501_2026-08.csv"])
