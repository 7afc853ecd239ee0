"""`dtks ui`: Airflow's web UI on a laptop — api-server, scheduler and dag-processor on the embedded default.

The same components the production stack runs (docker-compose.yml), as
subprocesses of this command with the LocalExecutor, Airflow's SQLite
metadata DB under ``var/airflow/`` and the embedded warehouse: the DTKS DAGs
and the auditor page, behind Airflow's simple auth manager with two logins —
``viewer`` (read-only: the auditor page) and ``admin`` — whose passwords are
generated once and kept in ``var/ui/logins.json`` (readable by this user
only). Each component runs in a process group of its own, so stopping (Ctrl-C)
ends exactly the processes started here and their children.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dtks import airflow_env
from dtks.config import settings

USERS = {"viewer": "viewer", "admin": "admin"}  # login -> simple auth manager role
AUDITOR_PATH = "/dtks-auditor/"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ui_dir() -> Path:
    folder = settings().var_dir / "ui"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def logins(path: Path | None = None) -> dict[str, str]:
    """The logins' passwords: generated on first use, then read back (also the auth manager's password file)."""
    path = path or ui_dir() / "logins.json"
    known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if all(known.get(user) for user in USERS):
        return {user: known[user] for user in USERS}
    passwords = {user: known.get(user) or secrets.token_urlsafe(12) for user in USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(passwords, f)
    return passwords


def stop_process_groups(procs: Iterable[subprocess.Popen[bytes]], grace: float = 10) -> None:
    """SIGTERM each process's group (started with start_new_session), wait, then SIGKILL what is left."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs:
        # children (task processes, uvicorn workers) may outlive a leader that exited
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=10)


@dataclass
class LocalUI:
    port: int = 8080
    host: str = "127.0.0.1"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        from dtks import warehouse

        airflow_env.configure()
        folder = ui_dir()
        logins()  # the password file exists before the api-server reads it
        env = dict(os.environ)
        env.update(
            {
                # the warehouse the DAGs and the auditor page read (starts the embedded server when it is the default)
                "DTKS_WAREHOUSE_URL": warehouse.warehouse_url(),
                "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(folder / "logins.json"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__BASE_URL": self.url,
                # shared by the three components of this start (tokens the api-server signs, the scheduler checks)
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
        )
        return env

    def start(self) -> None:
        env = self.environment()
        airflow_env.ensure_metadata_db()
        folder = ui_dir()
        python = [sys.executable, "-m", "airflow"]
        commands = {
            "api-server": [*python, "api-server", "--host", self.host, "--port", str(self.port), "--workers", "1"],
            "scheduler": [*python, "scheduler"],
            "dag-processor": [*python, "dag-processor"],
        }
        for name, argv in commands.items():
            with (folder / f"{name}.log").open("ab") as log:
                self.procs[name] = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def wait_ready(self, timeout: float = 180) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            if self.dead():
                raise RuntimeError(
                    f"airflow {', '.join(self.dead())} stopped while starting; see {ui_dir()}/<component>.log"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the api-server did not answer on {self.url} within {timeout:.0f}s; "
                    f"see {ui_dir() / 'api-server.log'}"
                )
            time.sleep(1)

    def stop(self) -> None:
        stop_process_groups(self.procs.values())


def serve(port: int = 8080, host: str = "127.0.0.1", out: TextIO = sys.stdout) -> int:
    """Start the UI, say where and how to log in, run until Ctrl-C (or SIGTERM), then stop everything."""
    ui = LocalUI(port=port, host=host)
    # SIGTERM (e.g. from a supervisor) stops as Ctrl-C does
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(f"starting Airflow (api-server, scheduler, dag-processor); logs in {ui_dir()}/", file=out, flush=True)
        ui.start()
        ui.wait_ready()
        passwords = logins()
        print(f"Airflow UI:     {ui.url}/", file=out)
        print(f"auditor page:   {ui.url}{AUDITOR_PATH}", file=out)
        for user in USERS:
            print(f"login {user:7} password {passwords[user]}", file=out)
        print(f"(passwords kept in {ui_dir() / 'logins.json'}; Ctrl-C stops)", file=out, flush=True)
        while not ui.dead():
            time.sleep(1)
        print(f"dtks: error: airflow {', '.join(ui.dead())} stopped; see {ui_dir()}/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping Airflow …", file=out, flush=True)
        return 0
    finally:
        ui.stop()
        signal.signal(signal.SIGTERM, previous)
        if ui.procs:
            print("stopped", file=out, flush=True)
