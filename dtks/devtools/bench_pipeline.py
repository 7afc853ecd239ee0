"""The benchmark's runs of the real pipeline: fresh warehouses, the round's stages timed one by one, side measurements.

``run_stages`` is the one place the stage sequence is written: the functions
the ``dtks_ingest`` DAG's tasks call, each timed on its own (a headless
``process_landed`` would give one figure, the benchmark needs one per stage).
Per-submission steps run as many at a time as the ``dtks_warehouse`` pool
allows, as the DAG's mapped tasks do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from dtks.devtools.bench_data import BASELINE_AT, BENCH_ROUND, generate_national
from dtks.devtools.bench_measure import Results, StatementProfile, timed
from dtks.warehouse import read_sql

# Stage names as reported (tables, JSON); register → metrics is "end to end".
REGISTER = "register (hash + archive)"
STAGE = "stage (COPY, normalise)"
VALIDATE = "validate (GX, in-database)"
MERGE = "merge (registry, history, events)"
METRICS = "metrics of the round"
PIPELINE_STAGES = (REGISTER, STAGE, VALIDATE, MERGE, METRICS)
BASELINE = "baseline import (setup)"
HISTORY_ROUNDS = 24


# ----------------------------------------------------------------- warehouses
def fresh_database(server_url: str, name: str, template: str | None = None, file_copy: bool = False) -> str:
    """A new, empty database on the server, or a copy of ``template``; its URL.

    ``file_copy``: copy the template's files after a checkpoint rather than write every page through
    the WAL (PostgreSQL's default): much faster for a multi-GB registry."""
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if template:  # a copy needs the template without sessions (pools of this process may hold some)
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :t AND pid <> pg_backend_pid()"
                ),
                {"t": template},
            )
        # FILE_COPY: a copy of a multi-GB registry is a file copy, not every page through the WAL
        conn.execute(
            sa.text(
                f'CREATE DATABASE "{name}"'
                + (f' TEMPLATE "{template}"' if template else "")
                + (" STRATEGY FILE_COPY" if template and file_copy else "")
            )
        )
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def warehouse_for_round(server_url: str, name: str, template: str | None = None) -> Engine:
    """A fresh warehouse, migrated, with reference data and the bench round; DTKS_WAREHOUSE_URL points at it.

    ``template``: a database already migrated and loaded with the reference data, copied instead (tests)."""
    from dtks import reference, rounds, warehouse

    url = fresh_database(server_url, name, template)
    os.environ["DTKS_WAREHOUSE_URL"] = url
    eng = warehouse.engine(url)
    if not template:
        warehouse.migrate(eng)
        reference.load_reference(eng)
    rounds.create_round(eng, rounds.default_round(BENCH_ROUND))
    return eng


def load_baseline(eng: Engine, data: dict[str, Any], results: Results) -> None:
    from dtks import merging

    with timed() as t:
        merging.load_baseline(eng, Path(data["baseline"]), "bench-baseline", BASELINE_AT)
    results.add(BASELINE, data["baseline_rows"], t["seconds"])


# ----------------------------------------------------------------- the round
def run_stages(
    eng: Engine,
    landing: Path,
    archive: Path,
    run_id: str,
    workers: int,
    rows: int,
    results: Results,
    profile: StatementProfile | None = None,
    until: str = METRICS,
) -> list[int]:
    """register → stage → validate → merge → metrics on the landed round, each stage timed; the submission ids.

    ``profile``: told which stage runs, so that statement timings are filed under it; ``until``: the
    last stage to run."""
    profile = profile or StatementProfile()  # (not listening: only its stage label is set)
    from dtks import ingest, intake, landed_files, merging, metrics, staging

    def each(step: Callable[[Engine, int, str], object], ids: list[int]) -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda sid: step(eng, sid, run_id), ids))

    ids: list[int] = []

    def register() -> None:
        landed = landed_files.discover(landing)
        ids.extend(r.submission_id for r in (intake.register(eng, f, run_id, archive) for f in landed) if r)

    def validate() -> None:
        # the DAG's plan_validation, then its mapped validate_submissions (one per batch, pool-bounded)
        batches = ingest.validation_plan(eng, ids)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda b: ingest.validate_batch(eng, b["submission_ids"], run_id), batches))

    steps: list[tuple[str, Callable[[], object]]] = [
        (REGISTER, register),
        (STAGE, lambda: each(staging.stage, ids)),
        (VALIDATE, validate),
        (MERGE, lambda: each(merging.merge, ids)),
        (METRICS, lambda: metrics.compute_round_metrics(eng, BENCH_ROUND)),
    ]
    for name, step in steps:
        profile.stage = name
        with timed() as t:
            step()
        results.add(name, rows, t["seconds"])
        if name == until:
            break
    profile.stage = "-"
    return ids


def round_outcome(eng: Engine, ids: list[int]) -> dict[str, Any]:
    """Submissions by status and rows accepted / quarantined: what the round did."""
    with eng.connect() as conn:
        statuses: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "SELECT status, count(*) FROM audit.submission WHERE submission_id = ANY(:ids) GROUP BY status"
                ),
                {"ids": ids},
            ).all()
        )
        accepted, quarantined = conn.execute(
            sa.text(
                "SELECT coalesce(sum(rows_accepted), 0), coalesce(sum(rows_quarantined), 0) FROM audit.submission"
                " WHERE submission_id = ANY(:ids)"
            ),
            {"ids": ids},
        ).one()
        reasons: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "SELECT reason_code, count(*) FROM quarantine.row_issue WHERE submission_id = ANY(:ids)"
                    " AND severity = 'error' GROUP BY reason_code"
                ),
                {"ids": ids},
            ).all()
        )
    return {
        "submissions": statuses,
        "rows_accepted": int(accepted),
        "rows_quarantined": int(quarantined),
        "error_reasons": reasons,
    }


# ----------------------------------------------------------------- side measurements
def run_history_metrics(eng: Engine, results: Results) -> float:
    """Metrics of all 514 districts for 24 rounds of calendar and submission history; the seconds."""
    from dtks import metrics, rounds

    # 23 earlier monthly rounds of district submissions (audit rows only; the registry is the bench's)
    first = date(2024, 12, 1)
    ids = [
        f"{first.year + (first.month - 1 + i) // 12:04d}-{(first.month - 1 + i) % 12 + 1:02d}"
        for i in range(HISTORY_ROUNDS - 1)
    ]
    for rid in ids:
        rounds.create_round(eng, rounds.default_round(rid))
    with eng.begin() as conn:
        conn.execute(sa.text(read_sql("bench/history_submissions.sql")), {"ids": ids})
        districts = conn.execute(
            sa.text("SELECT count(*) FROM audit.round_expected_district WHERE round_id = :r"), {"r": BENCH_ROUND}
        ).scalar_one()
    all_rounds = [*ids, BENCH_ROUND]
    with timed() as t:
        for rid in all_rounds:
            metrics.compute_round_metrics(eng, rid)
    results.add(f"metrics × {len(all_rounds)} rounds", districts * len(all_rounds), t["seconds"])
    return t["seconds"]


def run_orchestration_overhead(
    tmp: Path, server_url: str, prefix: str, template: str | None = None, submissions: int = 12
) -> dict[str, Any]:
    """Seconds Airflow adds per submission: dag.test of dtks_ingest vs the same functions called directly."""
    from dtks import airflow_env

    airflow_env.ensure_metadata_db()
    timings = {}
    for mode in ("direct", "airflow"):
        eng = warehouse_for_round(server_url, f"{prefix}_orch_{mode}", template)
        small = generate_national(tmp / f"orch_{mode}", total_rows=submissions * 40, seed=7, districts=submissions)
        archive = tmp / f"orch_{mode}_archive"
        os.environ["DTKS_ARCHIVE_DIR"] = str(archive)
        with timed() as t:
            if mode == "airflow":
                airflow_env.run_dag("dtks_ingest", {"landing_dir": str(small["landing"])})
            else:
                run_stages(eng, small["landing"], archive, "direct", 1, small["round_rows"], Results(0, 0, quiet=True))
        timings[mode] = t["seconds"]
        eng.dispose()
        drop_database(server_url, f"{prefix}_orch_{mode}")
        shutil.rmtree(tmp / f"orch_{mode}", ignore_errors=True)
        shutil.rmtree(archive, ignore_errors=True)
    per_submission = (timings["airflow"] - timings["direct"]) / submissions
    print(
        f"  airflow orchestration: {timings['airflow']:.1f} s vs direct {timings['direct']:.1f} s "
        f"for {submissions} submissions → {per_submission:.2f} s per submission",
        flush=True,
    )
    return {"submissions": submissions, **timings, "overhead_seconds_per_submission": per_submission}


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.update({k: v})


def run_settings_alone(
    work: Path, rows: int, workers: int, prefix: str, districts: int | None = None, repeats: int = 1
) -> dict[str, Any]:
    """The same round (baseline import, then register → metrics) on two fresh embedded servers, one with
    the workload's settings and one with PostgreSQL's defaults (DTKS_EMBEDDED_TUNING=0): the settings alone.

    Both servers are new, so neither has a warmer cache or other databases; the order alternates
    (defaults first, then workload first, ...) and each mode's runs are averaged."""
    from dtks import warehouse
    from dtks.devtools.bench_measure import server_settings

    data = generate_national(work / "settings-data", rows, districts=districts)
    servers: dict[str, tuple[Path, str]] = {}
    for mode, tuning in (("defaults", "0"), ("workload", "1")):
        with _env(DTKS_EMBEDDED_TUNING=tuning):
            folder = work / f"pgdata-{mode}"
            servers[mode] = (folder, warehouse.normalise_url(warehouse.embedded_server_url(folder)))
    outcome: dict[str, Any] = {"rows": data["round_rows"], "baseline_rows": data["baseline_rows"]}
    runs: dict[str, list[Results]] = {"defaults": [], "workload": []}
    try:
        for repeat in range(repeats):
            for mode in ("defaults", "workload") if repeat % 2 == 0 else ("workload", "defaults"):
                url = servers[mode][1]
                results = Results(data["round_rows"], data["districts"], quiet=True)
                eng = warehouse_for_round(url, f"{prefix}_settings")
                outcome.setdefault(mode, {"settings": server_settings(eng)})
                load_baseline(eng, data, results)
                archive, landing = work / "settings-archive", work / "settings-landing"
                for folder in (archive, landing):
                    shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(data["landing"], landing, copy_function=os.link)  # registering removes links only
                run_stages(eng, landing, archive, f"bench-settings-{mode}", workers, data["round_rows"], results)
                eng.dispose()
                drop_database(url, f"{prefix}_settings")
                runs[mode].append(results)
                print(
                    f"  settings alone, {mode:<8}: baseline {results.seconds(BASELINE):.1f} s,"
                    f" register → metrics {results.seconds(*PIPELINE_STAGES):.1f} s",
                    flush=True,
                )
    finally:
        for folder, _ in servers.values():
            warehouse.stop_embedded_server(folder)
            shutil.rmtree(folder, ignore_errors=True)
        for name in ("settings-data", "settings-archive", "settings-landing"):
            shutil.rmtree(work / name, ignore_errors=True)
    for mode, done in runs.items():
        outcome[mode]["baseline_seconds"] = sum(r.seconds(BASELINE) for r in done) / len(done)
        outcome[mode]["round_seconds"] = sum(r.seconds(*PIPELINE_STAGES) for r in done) / len(done)
        outcome[mode]["runs"] = [{s.name: s.seconds for s in r.stages} for r in done]
    w, d = outcome["workload"], outcome["defaults"]
    outcome["repeats"] = repeats
    outcome["speedup_round"] = d["round_seconds"] / w["round_seconds"]
    outcome["speedup_baseline"] = d["baseline_seconds"] / w["baseline_seconds"]
    return outcome
