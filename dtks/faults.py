"""Failpoints: named places where a test can make the process die, or pause, for real.

The crash-safety tests (tests/faults/) run pipeline steps with
``DTKS_FAILPOINT=<name>``; when the code reaches ``failpoint(<name>)`` the
process kills itself with SIGKILL — no exception handler, ``finally`` block
or atexit hook runs, exactly like a worker killed by the OOM killer or a
machine losing power. ``DTKS_FAILPOINT_PAUSE=<name>=<seconds>`` sleeps there
instead (to restart the database under an open transaction). In production
neither variable is set and a failpoint costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "DTKS_FAILPOINT"
PAUSE_ENV = "DTKS_FAILPOINT_PAUSE"


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause and pause.rsplit("=", 1)[0] == name:
        time.sleep(float(pause.rsplit("=", 1)[1]))
