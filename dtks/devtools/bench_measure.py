"""What the benchmark measures with: timers, the stage table, memory samplers, the machine and the server's settings."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Server settings that shape this workload, printed with every run beside the warehouse's own list
# (figures are only comparable under the same ones).
WORKLOAD_SETTINGS = (
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "min_wal_size",
    "checkpoint_timeout",
    "wal_compression",
    "wal_level",
    "synchronous_commit",
    "fsync",
    "full_page_writes",
    "random_page_cost",
    "max_parallel_workers_per_gather",
    "jit",
)


@dataclass
class Stage:
    name: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass
class Results:
    """Stages in the order they ran (printed as they finish) and whatever else a run reports."""

    rows: int
    districts: int
    stages: list[Stage] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False

    def add(self, name: str, rows: int, seconds: float) -> Stage:
        stage = Stage(name, rows, seconds)
        self.stages.append(stage)
        if not self.quiet:
            print(f"  {name:<40} {rows:>11,} rows {seconds:>9.1f} s {stage.rows_per_second:>12,.0f} rows/s", flush=True)
        return stage

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def seconds(self, *names: str) -> float:
        return sum(s.seconds for s in self.stages if s.name in names)


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


# ----------------------------------------------------------------- memory
def server_pid(eng: Engine) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its backends are its children)."""
    import psutil

    with eng.connect() as conn:
        backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    try:
        parent = psutil.Process(backend).parent()
    except psutil.Error:  # a server on another machine: its processes are not ours to read
        return None
    return parent.pid if parent is not None and "postgres" in parent.name() else None


class PeakMemory:
    """Peaks of two things, sampled together in a background thread.

    * ``pipeline``: resident memory (RSS) of this process and its children, the
      PostgreSQL server excluded (the pipeline's processes);
    * ``server``: proportional memory (PSS) summed over the server's processes:
      shared buffers are mapped by every backend, and PSS counts each page once
      in total, where a sum of RSS would count it once per backend.
    """

    def __init__(self, server: int | None = None, interval: float = 0.5) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process()
        self._server = psutil.Process(server) if server else None
        self._interval = interval
        self.pipeline = 0
        self.server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self, root: Any, exclude: set[int]) -> list[Any]:
        try:
            return [root] + [c for c in root.children(recursive=True) if c.pid not in exclude]
        except self._psutil.Error:
            return []

    def _sum(self, procs: list[Any], pss: bool) -> int:
        total = 0
        for p in procs:
            with contextlib.suppress(self._psutil.Error):  # a process may exit between listing and reading
                total += p.memory_full_info().pss if pss else p.memory_info().rss
        return total

    def sample(self) -> None:
        server_procs = self._tree(self._server, set()) if self._server else []
        exclude = {p.pid for p in server_procs}
        self.pipeline = max(self.pipeline, self._sum(self._tree(self._proc, exclude), pss=False))
        if server_procs:
            self.server = max(self.server, self._sum(server_procs, pss=True))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# ----------------------------------------------------------------- machine and server
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(eng: Engine) -> dict[str, Any]:
    """What the figures were measured on (they are only comparable on the same machine)."""
    import psutil

    with eng.connect() as conn:
        server = conn.execute(sa.text("SHOW server_version")).scalar_one()
    return {
        "cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "postgresql": server,
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def server_settings(eng: Engine) -> dict[str, str]:
    """The settings the server runs with, as PostgreSQL shows them (units included): the warehouse's own
    list (``dtks.warehouse.settings_in_effect``) and the others this workload depends on."""
    from dtks import warehouse

    shown = warehouse.settings_in_effect(eng)
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(:n)"),
            {"n": [n for n in WORKLOAD_SETTINGS if n not in shown]},
        ).all()
    more: dict[str, str] = dict(rows)
    return {**shown, **{n: more[n] for n in WORKLOAD_SETTINGS if n in more}}


def publish(json_path: Path, figures: dict[str, Any], report: str) -> None:
    """The figures as JSON, the markdown report beside them (same name, .md), and the report printed."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(figures, indent=2, default=str))
    json_path.with_suffix(".md").write_text(report)
    print("\n" + report)
    print(f"results: {json_path} and {json_path.with_suffix('.md')}", flush=True)


# ----------------------------------------------------------------- where the time goes
class StatementProfile:
    """Seconds spent in each SQL statement, by stage: SQLAlchemy's cursor events on every engine of this
    process (the pipeline's and GX's own). A statement is named by its first words (``read_sql`` sends a
    file's statements without their comments) or, sent with one, its first comment line. Raw-cursor COPY
    is not seen."""

    def __init__(self) -> None:
        self.stage = "-"
        self.seconds: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _name(statement: str) -> str:
        text = statement.strip()
        if text.startswith("--"):
            return text.splitlines()[0].lstrip("- ").strip()[:90]
        return " ".join(text.split())[:90]

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seconds = time.perf_counter() - conn.info["bench_started"].pop()
        with self._lock:
            entry = self.seconds.setdefault((self.stage, self._name(statement)), [0, 0.0])
            entry[0] += 1
            entry[1] += seconds

    def __enter__(self) -> StatementProfile:
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", self._after)

    def by_stage(self) -> dict[str, dict[str, float]]:
        """Statements and their seconds summed per stage (the rest of a stage's time is Python and COPY)."""
        totals: dict[str, dict[str, float]] = {}
        for (stage, _), (calls, seconds) in self.seconds.items():
            entry = totals.setdefault(stage, {"statements": 0, "seconds": 0.0})
            entry["statements"] += calls
            entry["seconds"] += seconds
        return totals

    def top(self, n: int = 20) -> list[dict[str, Any]]:
        ranked = sorted(self.seconds.items(), key=lambda kv: -kv[1][1])[:n]
        return [
            {"stage": stage, "statement": name, "calls": int(calls), "seconds": round(total, 2)}
            for (stage, name), (calls, total) in ranked
        ]
