"""Running one ingest pass in a child process against a prepared scenario round."""

import os
import subprocess
import sys
from pathlib import Path

from dtks import warehouse
from dtks.config import PROJECT_ROOT
from tests import scenario


def run_child(env: dict, run_id: str, failpoint: str | None = None) -> int:
    child_env = dict(env)
    if failpoint:
        child_env["DTKS_FAILPOINT"] = failpoint
    else:
        child_env.pop("DTKS_FAILPOINT", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.faults.run_ingest", run_id],
        cwd=PROJECT_ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if failpoint is None:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.returncode


def setup_round(url: str, root: Path) -> dict:
    """A fresh warehouse with the scenario's round and baseline, and the round's files landed."""
    for name in ("landing", "archive", "outbox", "out"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DTKS_WAREHOUSE_URL": url,
        "DTKS_LANDING_DIR": str(root / "landing"),
        "DTKS_ARCHIVE_DIR": str(root / "archive"),
        "DTKS_OUTBOX_DIR": str(root / "outbox"),
        "DTKS_OUT_DIR": str(root / "out"),
    }
    eng = warehouse.engine(url)
    old = {"DTKS_ARCHIVE_DIR": os.environ.get("DTKS_ARCHIVE_DIR")}
    os.environ["DTKS_ARCHIVE_DIR"] = env["DTKS_ARCHIVE_DIR"]
    try:
        scenario.prepare(eng, root)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    scenario.land_round(root / "landing")
    return env
