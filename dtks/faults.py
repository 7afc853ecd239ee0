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
transaction, instead of hoping a race goes the bad way. A name may end in
``@<n>``: only the n-th time this process reaches the failpoint counts
(``DTKS_FAILPOINT=validate.between_submissions@2`` dies with one submission's
results recorded and the next one's not), so the code never branches on a
position for a test's sake. In production none of the variables is set and a
failpoint costs three dictionary lookups.
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


# How often this process has reached each failpoint (counted only while a failpoint variable is set).
_reached: dict[str, int] = {}


def failpoint(name: str) -> None:
    kill, pause, hold = os.environ.get(ENV), os.environ.get(PAUSE_ENV), os.environ.get(HOLD_ENV)
    if not (kill or pause or hold):
        return
    _reached[name] = _reached.get(name, 0) + 1
    if kill and _means(kill, name):
        os.kill(os.getpid(), signal.SIGKILL)
    if pause and _means(pause.rsplit("=", 1)[0], name):
        time.sleep(float(pause.rsplit("=", 1)[1]))
    if hold and _means(hold.split("=", 1)[0], name):
        _hold(Path(hold.split("=", 1)[1]))


def _means(spec: str, name: str) -> bool:
    """Whether ``spec`` (``<name>`` or ``<name>@<n>``) names this visit of failpoint ``name``."""
    wanted, _, nth = spec.partition("@")
    return wanted == name and (not nth or _reached[name] == int(nth))


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
