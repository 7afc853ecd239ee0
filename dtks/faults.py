"""Failpoints: named places where a test can make the process die for real.

The crash-safety tests (tests/faults/) run pipeline steps in a child process
with ``DTKS_FAILPOINT=<name>``; when the code reaches ``failpoint(<name>)``
the process kills itself with SIGKILL — no exception handler, ``finally``
block or atexit hook runs, exactly like a worker killed by the OOM killer or
a machine losing power. In production the variable is unset and a failpoint
costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "DTKS_FAILPOINT"


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
