"""While a DAG runs from the command line: which step is running, and library output kept off the terminal.

``dtks ingest`` / ``close-round`` run the real DAG in this process
(``dag.test``). Airflow, Great Expectations and httpx write warnings and log
lines (with ANSI colours) to stdout/stderr; here the process's own stdout and
stderr go to a log file under ``var/log/`` for the run, and the person sees
one progress display (rich, on a terminal) or plain lines (otherwise), fed by
Airflow's "[DAG TEST] running task" log record for each task it starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

from dtks.config import settings

# dag.test() logs each task it starts here, with the task instance as the record's argument.
_DAG_TEST_LOGGER = "airflow.sdk.definitions.dag"


def log_path() -> Path:
    """The CLI's log file: everything libraries print during a run (kept, appended)."""
    folder = settings().var_dir / "log"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "dtks-cli.log"


@contextlib.contextmanager
def library_output_to_log(path: Path | None = None) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to the log; yield the terminal.

    At the descriptor level, so output from loggers configured before this
    (Airflow's structlog keeps its own handle on stdout) and from C extensions
    is caught too. The yielded stream writes to the original stderr: progress
    is not the command's output, so stdout stays clean for scripts.
    """
    path = path or log_path()
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="replace")
    with open(path, "a", encoding="utf-8") as log_file:
        log_file.write(f"\n===== dtks {' '.join(sys.argv[1:])} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        log_file.flush()
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


class StepProgress(logging.Handler):
    """Shows the DAG's steps as Airflow starts them; mapped steps as districts done out of total."""

    def __init__(self, terminal: TextIO, quiet: bool = False):
        super().__init__(level=logging.INFO)
        self.terminal = terminal
        self.quiet = quiet
        self.rich = not quiet and terminal.isatty()
        self.current: tuple[str, int] | None = None  # (task id, map index) running now
        self.started: dict[str, int] = {}  # task id -> instances started
        self.totals: dict[str, int] = {}  # mapped task id -> instances in the run
        self._progress: Progress | None = None
        self._bars: dict[str, TaskID] = {}

    # -------------------------------------------------------------- context
    def __enter__(self) -> StepProgress:
        if self.rich:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(file=self.terminal),
                transient=False,
            )
            progress.start()
            self._progress = progress
        logger = logging.getLogger(_DAG_TEST_LOGGER)
        self._saved_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(_DAG_TEST_LOGGER)
        logger.removeHandler(self)
        logger.setLevel(self._saved_level)
        self._finish_current()
        if self._progress is not None:
            self._progress.stop()

    # -------------------------------------------------------------- events
    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not str(record.msg).startswith("[DAG TEST] running task") or not record.args:
                return
            ti = record.args[0] if isinstance(record.args, tuple) else None
            if ti is None or not hasattr(ti, "task_id"):
                return
            self._started(ti)
        except Exception:  # a display problem must never break the run
            self.handleError(record)

    def _started(self, ti: Any) -> None:  # Airflow's task instance, as dag.test logs it
        task_id, map_index = ti.task_id, getattr(ti, "map_index", -1)
        if self.current == (task_id, map_index):  # a retry of the same instance
            return
        if self.current and self.current[0] != task_id:
            self._finish_current()
        self.current = (task_id, map_index)
        self.started[task_id] = self.started.get(task_id, 0) + 1
        if map_index is not None and map_index >= 0:
            if task_id not in self.totals:
                self.totals[task_id] = _mapped_total(ti)
            self._show(task_id, done=self.started[task_id] - 1, total=self.totals[task_id])
        else:
            self._show(task_id, done=0, total=1)

    def _finish_current(self) -> None:
        if not self.current:
            return
        task_id = self.current[0]
        total = self.totals.get(task_id, 1)
        self._show(task_id, done=total if task_id in self.totals else 1, total=total, finished=True)
        self.current = None

    def _show(self, task_id: str, done: int, total: int, finished: bool = False) -> None:
        mapped = task_id in self.totals
        what = f"{task_id} (districts)" if mapped else task_id
        if self._progress is not None:
            if task_id not in self._bars:
                self._bars[task_id] = self._progress.add_task(what, total=total)
            self._progress.update(self._bars[task_id], completed=done, total=total)
            return
        if self.quiet:
            return
        if mapped:
            line = f"{task_id}: {done}/{total} districts done" + (" ✓" if finished else "")
        else:
            line = f"{task_id}: {'done' if finished else 'running'}"
        print(line, file=self.terminal, flush=True)


def _mapped_total(ti: Any) -> int:
    """How many instances a mapped step has in this run (Airflow expanded them before running the first)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(TaskInstance)
                .where(
                    TaskInstance.dag_id == ti.dag_id,
                    TaskInstance.run_id == ti.run_id,
                    TaskInstance.task_id == ti.task_id,
                    TaskInstance.map_index >= 0,
                )
            )
            or 0
        )


def run_on_screen(dag_id: str, conf: dict[str, Any], quiet: bool = False, **kwargs: Any) -> tuple[str, str]:
    """Run a DAG (dag.test) with its steps on screen and the libraries' output in the log; (run id, final state)."""
    from dtks import airflow_env
    from dtks.config import PROJECT_ROOT

    with library_output_to_log() as terminal:
        dag = airflow_env.get_dag(dag_id)  # first: importing Airflow configures logging anew
        if dag is None:
            raise RuntimeError(f"DAG {dag_id} not found in {PROJECT_ROOT / 'dags'}")
        with StepProgress(terminal, quiet=quiet):
            return airflow_env.test_run(dag, conf, **kwargs)


def run_failed(dag_id: str, run_id: str, state: str) -> str | None:
    """One line saying a run did not succeed (which tasks failed, where the details are), or None."""
    if state == "success":
        return None
    from dtks import airflow_env

    failed = airflow_env.failed_tasks(dag_id, run_id)
    return (
        f"{dag_id} run {run_id} ended {state}"
        + (f": task {', '.join(failed)} failed" if failed else "")
        + f"; details in {log_path()}"
    )
