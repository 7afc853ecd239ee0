"""Failpoints: named places where a test can make the process die, pause or wait, for real.

The crash-safety tests (tests/faults/) run pipeline steps with
``DTKS_FAILPOINT=<name>``; when the code reaches ``failpoint(<name>)`` the
process kills itself with SIGKILL — no exception handler, ``finally`` block
or atexit hook runs, exactly like a worker killed by the OOM killer or a
machine losing power. ``DTKS_FAILPOINT_PAUSE=<name>=<seconds>`` sleeps there
instead (to restart the database under an open transaction).
``DTKS_FAILPOINT_HOLD=<name>=<folder>`` holds there until the test says go:
the first caller to reach it writes ``<folder>/reached`` and waits until
``<folder>/release`` exists (later callers pass straight through), so a test
can start a second step exactly while the first one is inside its
transaction, instead of hoping a race goes the bad way. In production none
of the variables is set and a failpoint costs three dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "DTKS_FAILPOINT"
PAUSE_ENV = "DTKS_FAILPOINT_PAUSE"
HOLD_ENV = "DTKS_FAILPOINT_HOLD"
# A held step gives up waiting after this long, so a broken test fails instead of hanging.
HOLD_LIMIT_SECONDS = 120.0


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause and pause.rsplit("=", 1)[0] == name:
        time.sleep(float(pause.rsplit("=", 1)[1]))
    hold = os.environ.get(HOLD_ENV)
    if hold and hold.split("=", 1)[0] == name:
        _hold(Path(hold.split("=", 1)[1]))


def _hold(folder: Path) -> None:
    release = folder / "release"
    try:
        # exclusive create: of two threads or processes arriving together, one is held
        (folder / "reached").open("x").close()
    except FileExistsError:
        return
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"failpoint held for {HOLD_LIMIT_SECONDS:.0f} s and never released")
        time.sleep(0.02)
