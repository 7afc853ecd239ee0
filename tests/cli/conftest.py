"""Driving the real `dtks` command line as a subprocess against a fresh test warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DTKS = Path(sys.executable).parent / "dtks"


@pytest.fixture
def run_cli(warehouse_url, dirs):
    """``run_cli(*args)`` → CompletedProcess of the installed `dtks` script, in this test's warehouse and folders."""

    def run(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "DTKS_WAREHOUSE_URL": warehouse_url, **(env or {})}
        return subprocess.run([str(DTKS), *args], env=full_env, capture_output=True, text=True, timeout=timeout)

    return run
