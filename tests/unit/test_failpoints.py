"""Failpoints: `<name>@<n>` acts on the n-th visit only, so production code never branches on a position."""

import os
import signal
import subprocess
import sys

import pytest

# A process that visits two failpoints, printing each visit as it goes (flushed: a SIGKILL loses nothing printed).
VISITS = """
import sys
from dtks.faults import failpoint
for i in range(1, 5):
    failpoint("other.place")
    print("before", i, flush=True)
    failpoint("validate.between_submissions")
    print("after", i, flush=True)
"""


def _run(**env):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("DTKS_FAILPOINT")} | env
    done = subprocess.run([sys.executable, "-c", VISITS], env=child_env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.split("\n")[:-1]


@pytest.mark.parametrize(
    "spec,lines",
    [
        ("validate.between_submissions@3", ["before 1", "after 1", "before 2", "after 2", "before 3"]),
        ("validate.between_submissions@1", ["before 1"]),
        ("validate.between_submissions", ["before 1"]),  # no count: the first visit
    ],
)
def test_the_nth_visit_kills(spec, lines):
    assert _run(DTKS_FAILPOINT=spec) == (-signal.SIGKILL, lines)


def test_a_count_never_reached_or_another_name_passes():
    everything = [f"{w} {i}" for i in range(1, 5) for w in ("before", "after")]
    assert _run(DTKS_FAILPOINT="validate.between_submissions@5") == (0, everything)
    assert _run(DTKS_FAILPOINT="validate.between") == (0, everything)
    assert _run() == (0, everything)
