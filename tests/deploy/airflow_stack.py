"""A real, multi-process Airflow for tests: api-server, scheduler and dag-processor.

The same components the production stack runs (docker-compose.yml), started here as
subprocesses with the LocalExecutor instead of Celery, against a PostgreSQL metadata
database of their own, a temporary AIRFLOW_HOME and a free localhost port. Every
process gets its own session (process group), so stopping the stack ends exactly the
processes it started and their children (uvicorn workers, executor workers, tasks).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from dtks.ui import free_port, stop_process_groups  # what `dtks ui` uses to start and stop the same trio

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def airflow_uri(sqlalchemy_url: str) -> str:
    """An Airflow connection URI from a SQLAlchemy URL (``postgresql+psycopg2`` → ``postgresql``)."""
    scheme, rest = sqlalchemy_url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def clean_environ() -> dict[str, str]:
    """This process's environment without any Airflow or DTKS settings (tests set their own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW", "DTKS_", "PYTEST_"))}


@dataclass
class AirflowStack:
    home: Path
    metadata_url: str
    env_extra: dict[str, str]
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Generated secrets may begin with "-" (token_urlsafe's alphabet); this one always does, so
    # deploy/init.sh is shown to pass a password as a value, never as an option.
    auditor_password: str = field(default_factory=lambda: "-" + secrets.token_urlsafe(16))
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        runtime = self.home / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = clean_environ()
        # The project's virtualenv first: deploy/*.sh call `python` and `airflow` as in the image.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # As docker-compose.yml: users and roles in the metadata DB, made by deploy/init.sh.
                "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API__BASE_URL": self.base_url,
                # Shared by every component, as in docker-compose.yml (never generated per process).
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
                # The LocalExecutor's log server: a free port, not the fixed 8793 other sessions may hold.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                # Only runs triggered through the API: no hourly run racing the test's run.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # What deploy/init.sh and deploy/api-server.sh read in the stack.
                "AIRFLOW_ADMIN_USER": "admin",
                "AIRFLOW_ADMIN_PASSWORD": self.password,
                "AIRFLOW_AUDITOR_USER": "auditor",
                "AIRFLOW_AUDITOR_PASSWORD": self.auditor_password,
                "GX_ANALYTICS_ENABLED": "false",
                "XDG_RUNTIME_DIR": str(runtime),
            }
        )
        env.update(self.env_extra)
        return env

    # ------------------------------------------------------------------ lifecycle
    def prepare(self) -> str:
        """deploy/init.sh, as the airflow-init service runs it; returns its output."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._env = self.env()
        done = subprocess.run(
            ["bash", str(PROJECT_ROOT / "deploy" / "init.sh")],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.home,
        )
        if done.returncode != 0:
            raise RuntimeError(f"deploy/init.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def start(self) -> None:
        commands = {
            # As the airflow-apiserver service: write the password file, then exec `airflow api-server`.
            "api-server": [
                "bash",
                str(PROJECT_ROOT / "deploy" / "api-server.sh"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            "scheduler": [sys.executable, "-m", "airflow", "scheduler"],
            "dag-processor": [sys.executable, "-m", "airflow", "dag-processor"],
        }
        for name, argv in commands.items():
            log = (self.home / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen(
                argv, env=self._env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()

    def stop(self) -> None:
        stop_process_groups(self.procs.values())

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else "(no log)"

    def logs(self) -> str:
        return "\n".join(f"----- {name}\n{self.log_tail(name, 2500)}" for name in self.procs)

    # ------------------------------------------------------------------ REST API
    def wait_until(self, what: str, check, timeout: float, interval: float = 1.0):
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                result = check()
            except requests.RequestException:
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")
            time.sleep(interval)

    def wait_ready(self, timeout: float = 120) -> None:
        self.wait_until(
            "the api-server",
            lambda: requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).status_code == 200,
            timeout,
        )

    def login(self, username: str, password: str) -> requests.Response:
        return requests.post(
            f"{self.base_url}/auth/token", timeout=30, json={"username": username, "password": password}
        )

    def token(self, username: str = "admin", password: str | None = None) -> str:
        response = self.login(username, password or self.password)
        response.raise_for_status()
        return response.json()["access_token"]

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        if token is None:
            if self._token is None:
                self._token = self.token()
            token = self._token
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=30, **kwargs)
