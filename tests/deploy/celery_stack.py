"""The compose file's CeleryExecutor deployment as local processes, read from docker-compose.yml.

Redis (Debian's redis-server, password required, on a free 127.0.0.1 port) and every
long-running Airflow service of docker-compose.yml (api-server, scheduler, dag-processor,
triggerer, N × airflow-worker), each started with its service's command and environment
as compose interpolates them from a test ``.env``. Only where things are differs from a
container: the databases' and Redis's addresses, the mount points (/data/dtks, /opt/dtks,
/opt/airflow) mapped to folders here, free ports instead of the containers' fixed ones, and
the hostname docker gives each container (tests/deploy/hostname.py). ``relocated`` lists
exactly those keys, so every setting (executor, Celery, heartbeat timeout, concurrency…) is
the compose file's own.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.deploy import stack_files as sf
from tests.deploy.airflow_stack import PROJECT_ROOT, AirflowStack, airflow_uri, clean_environ, free_port

# Container paths (volumes, the image's project and Airflow home) → where they are in a test.
DATA_MOUNT = "/data/dtks"
AIRFLOW_IMAGE_HOME = "/opt/airflow"


def _same_scheme(compose_url: str, url: str) -> str:
    """``url``'s server, credentials and database under ``compose_url``'s scheme (db+postgresql+psycopg2…)."""
    return f"{compose_url.split('://', 1)[0]}://{url.split('://', 1)[1]}"


@dataclass
class RedisServer:
    """Debian's redis-server with a password, like the compose ``redis`` service; restartable."""

    home: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        conf = self.home / "redis.conf"
        # A config file (mode 600) rather than --requirepass on the command line: not in `ps`.
        # Persistence as the image's default: snapshot on shutdown, reloaded on start.
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(
                f"bind 127.0.0.1\nport {self.port}\nrequirepass {self.password}\n"
                f"dir {self.home}\nsave 3600 1 300 100 60 10000\n"
            )
        log = (self.home / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{(self.home / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def client(self, password: str | None = None) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=password or self.password, socket_timeout=5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis saves its snapshot and exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class CeleryStack(AirflowStack):
    """api-server, scheduler, dag-processor, triggerer and Celery workers as docker-compose.yml has them."""

    redis_server: RedisServer | None = None
    warehouse_url: str = ""
    data_root: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)  # extra .env values (timeouts, concurrency…)
    lost: dict[str, subprocess.Popen] = field(default_factory=dict)

    # ------------------------------------------------------------------ compose → here
    def dotenv(self) -> dict[str, str]:
        """The .env this stack runs with (as `make stack-env` would write, secrets fresh)."""
        values = sf.env_example()
        # As deploy/make_env.py: every empty secret gets a fresh value.
        values.update(
            {
                k: secrets.token_urlsafe(12)
                for k, v in values.items()
                if not v and k.endswith(("_PASSWORD", "_SECRET", "_KEY"))
            }
        )
        values.update(
            {
                "AIRFLOW_DB_PASSWORD": secrets.token_urlsafe(12),
                "REDIS_PASSWORD": self.redis_server.password,
                "DTKS_WAREHOUSE_PASSWORD": secrets.token_urlsafe(12),
                "DTKS_AUDITOR_DB_PASSWORD": self.env_extra["DTKS_AUDITOR_DB_PASSWORD"],
                "DTKS_AUDITOR_DB_USER": self.env_extra["DTKS_AUDITOR_DB_USER"],
                # Logins are shared by the whole embedded server: the pipeline's is this stack's own.
                "DTKS_WAREHOUSE_USER": self.env_extra["DTKS_WAREHOUSE_USER"],
                "AIRFLOW_ADMIN_PASSWORD": self.password,
                "AIRFLOW_AUDITOR_PASSWORD": self.auditor_password,
                "AIRFLOW_FERNET_KEY": self._secret("fernet"),
                "AIRFLOW_JWT_SECRET": self._secret("jwt"),
                "AIRFLOW_API_SECRET_KEY": self._secret("api"),
                "AIRFLOW_BASE_URL": self.base_url,
                "AIRFLOW_API_WORKERS": "1",
                **{
                    f"DTKS_HOST_{name.upper()}_DIR": str(self.data_root / name)
                    for name in ("landing", "archive", "outbox", "out")
                },
            }
        )
        values.update(self.settings)
        return values

    def _secret(self, name: str) -> str:
        cache = self.__dict__.setdefault("_secrets", {})
        if name not in cache:
            if name == "fernet":
                from cryptography.fernet import Fernet

                cache[name] = Fernet.generate_key().decode()
            else:
                cache[name] = secrets.token_hex(32)
        return cache[name]

    def _relocate(self, value: str) -> str:
        return (
            value.replace(sf.IMAGE_PROJECT_DIR, str(PROJECT_ROOT))
            .replace(DATA_MOUNT, str(self.data_root))
            .replace(AIRFLOW_IMAGE_HOME, str(self.home))
        )

    def relocated(self, env: dict[str, str], hostname: str) -> dict[str, str]:
        """The keys whose values say where things are, for this machine instead of the containers'."""
        broker = env["AIRFLOW__CELERY__BROKER_URL"]
        assert "@redis:6379/" in broker, broker
        assert "@airflow-db:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert "@airflow-db:5432/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
        api = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        assert api.startswith("http://airflow-apiserver:8080/"), api
        changes = {
            # The compose file's scheme (driver) kept: only the server and database differ.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _same_scheme(
                env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], self.metadata_url
            ),
            "AIRFLOW__CELERY__RESULT_BACKEND": _same_scheme(env["AIRFLOW__CELERY__RESULT_BACKEND"], self.metadata_url),
            "AIRFLOW__CELERY__BROKER_URL": broker.replace("@redis:6379/", f"@127.0.0.1:{self.redis_server.port}/"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": api.replace("http://airflow-apiserver:8080", self.base_url),
            "AIRFLOW_HOME": str(self.home),
            # Ports: the containers' fixed ones would collide here.
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Each container has a hostname of its own; Airflow records it on the task instance.
            "HOSTNAME": hostname,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deploy.hostname.container_hostname",
            "PYTHONPATH": str(PROJECT_ROOT),
            # Only runs triggered through the API: no hourly run racing the test's runs.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
        # The warehouse as its owner, not the pipeline login: each test re-creates the database
        # (and with it the login's grants). Not the api-server's: it holds the auditor login only.
        if "AIRFLOW_CONN_DTKS_WAREHOUSE" in env:
            changes["AIRFLOW_CONN_DTKS_WAREHOUSE"] = airflow_uri(self.warehouse_url)
        if "DTKS_VAR_DIR" in env:
            changes["DTKS_VAR_DIR"] = str(self.home / "dtks-var")
        if "DTKS_AUDITOR_WAREHOUSE_URL" in env:
            changes["DTKS_AUDITOR_WAREHOUSE_URL"] = self.env_extra["DTKS_AUDITOR_WAREHOUSE_URL"]
        return changes

    def service(self, name: str, hostname: str | None = None) -> tuple[list[str], dict[str, str]]:
        """The argv and environment of a compose service, as they run here."""
        spec = sf.compose(self.dotenv())["services"][name]
        env = clean_environ()
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["XDG_RUNTIME_DIR"] = str(self.home / "run")
        env.update({k: self._relocate(v) for k, v in sf.service_env(spec).items()})
        env.update(self.relocated(env, hostname or name))
        env.update(self.env_extra)  # the test's own (e.g. DTKS_ARRIVAL_FROM_MTIME for a replayed round)
        argv = [self._relocate(a) for a in sf.as_argv(spec["command"])]
        if argv[0] != "bash":  # the image's entrypoint runs Airflow sub-commands as `airflow …`
            argv = [sys.executable, "-m", "airflow", *argv]
        return argv, env

    @staticmethod
    def long_running_services() -> list[str]:
        """Every Airflow service `docker compose up` keeps running (not the init job, not profiles)."""
        services = sf.compose_raw()["services"]
        return [
            name
            for name, spec in services.items()  # the ones built from the project's image
            if "build" in spec and not spec.get("profiles") and spec.get("restart") != "no"
        ]

    # ------------------------------------------------------------------ lifecycle
    def prepare(self) -> str:
        for name in ("landing", "archive", "outbox", "out", "calendar"):
            (self.data_root / name).mkdir(parents=True, exist_ok=True)
        (self.home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
        argv, env = self.service("airflow-init")
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=self.home)
        if done.returncode != 0:
            raise RuntimeError(f"airflow-init failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def _spawn(self, key: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.home / f"{key}.log").open("wb")
        self.procs[key] = subprocess.Popen(
            argv, env=env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def start(self, workers: int = 2) -> None:
        for name in self.long_running_services():
            if name == "airflow-worker":
                for i in range(workers):
                    self.start_worker(f"worker-{i + 1}")
            else:
                self._spawn(name, *self.service(name))

    def start_worker(self, hostname: str) -> None:
        argv, env = self.service("airflow-worker", hostname)
        # Celery names itself celery@<container hostname>, which the compose healthcheck pings.
        self._spawn(hostname, [*argv, "--celery-hostname", hostname], env)

    def workers(self) -> list[str]:
        return [k for k in self.procs if k.startswith("worker-")]

    def kill_worker(self, hostname: str) -> None:
        """SIGKILL a worker and everything it started, as when its container or machine dies."""
        proc = self.procs.pop(hostname)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self.lost[hostname] = proc

    def stop_worker(self, hostname: str) -> None:
        proc = self.procs.pop(hostname)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def wait_healthy(self, timeout: float = 240) -> None:
        """The api-server's health endpoint reports every component healthy, and each worker is ready."""
        self.wait_ready(timeout)

        def components():
            health = self.api("GET", "/monitor/health").json()
            return all(
                health.get(c, {}).get("status") == "healthy"
                for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            )

        self.wait_until("scheduler, triggerer and dag-processor to report healthy", components, timeout)
        for hostname in self.workers():
            # The compose healthcheck (`celery inspect ping`) takes ~15 s of imports per call here.
            self.wait_until(
                f"celery@{hostname} to be ready",
                lambda hostname=hostname: f"celery@{hostname} ready." in self.log_tail(hostname, 200_000),
                timeout,
            )

    def stop(self) -> None:
        super().stop()
        if self.redis_server:
            self.redis_server.stop()
