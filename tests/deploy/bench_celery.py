"""Wall time of the same ~20-district round with 1, 2 and 4 Celery workers (BENCHMARKS.md).

    .venv/bin/python -m tests.deploy.bench_celery [--repeats 2] [--concurrency 2] [--pool 4]

One CeleryStack (tests/deploy/celery_stack.py) for all rounds; between rounds only the
number of workers changes, in interleaved order (1, 2, 4, then 4, 2, 1, …) so that a
change in the load other users put on the machine falls on every setting alike. Each
round: a fresh warehouse, the round's files landed, dtks_ingest triggered through the REST
API, timed from trigger to the run's end; the warehouse is checked (every file merged).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import reference, warehouse
from tests.deploy import celery_round as cr
from tests.deploy.celery_stack import CeleryStack, RedisServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="passes over 1/2/4 workers (alternating order)")
    parser.add_argument("--concurrency", default="2", help="AIRFLOW_WORKER_CONCURRENCY (task slots per worker)")
    parser.add_argument("--pool", default="4", help="DTKS_WAREHOUSE_POOL_SLOTS (merges at once)")
    parser.add_argument("--out", type=Path, default=Path("out/bench_celery.json"))
    args = parser.parse_args(argv)

    server_url = warehouse.normalise_url(warehouse.embedded_server_url())
    root = Path(tempfile.mkdtemp(prefix="dtks-bench-celery-"))
    tag = f"{os.getpid()}"
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    names = {k: f"dtks_bench_celery_{k}_{tag}" for k in ("meta", "template", "wh")}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = {k: make_url(server_url).set(database=v).render_as_string(hide_password=False) for k, v in names.items()}
    template = warehouse.engine(url["template"])
    warehouse.migrate(template)
    reference.load_reference(template)
    template.dispose()
    warehouse._engine_for.cache_clear()

    data = cr.generate(root / "data")
    auditor = f"dtks_auditor_b{tag}"
    stack = CeleryStack(
        home=root / "airflow",
        metadata_url=url["meta"],
        env_extra={
            "DTKS_ARRIVAL_FROM_MTIME": "1",
            "DTKS_WAREHOUSE_USER": f"dtks_pipeline_b{tag}",
            "DTKS_AUDITOR_DB_USER": auditor,
            "DTKS_AUDITOR_DB_PASSWORD": "bench-pw",
            "DTKS_AUDITOR_WAREHOUSE_URL": make_url(url["wh"])
            .set(username=auditor, password="bench-pw")
            .render_as_string(hide_password=False),
        },
        redis_server=RedisServer(root / "redis"),
        warehouse_url=url["wh"],
        data_root=root / "stack-data",
        settings={"AIRFLOW_WORKER_CONCURRENCY": args.concurrency, "DTKS_WAREHOUSE_POOL_SLOTS": args.pool},
    )
    results: list[dict] = []
    try:
        stack.redis_server.start()
        stack.prepare()
        stack.start(workers=1)
        stack.wait_healthy()
        stack.wait_until("dtks_ingest", lambda: stack.api("GET", "/dags/dtks_ingest").status_code == 200, 180)
        order = [1, 2, 4]
        for rep in range(args.repeats):
            for n in order if rep % 2 == 0 else order[::-1]:
                while len(stack.workers()) < n:
                    stack.start_worker(f"worker-{len(stack.workers()) + 1}")
                while len(stack.workers()) > n:
                    stack.stop_worker(stack.workers()[-1])
                stack.wait_healthy()
                cr.reset_warehouse(server_url, url["wh"], names["template"])
                cr.prepare_round(url["wh"], data, stack.data_root / "landing", stack.data_root / "archive")
                load = os.getloadavg()[0]
                started = time.monotonic()
                run_id = cr.trigger(stack, f"bench{n}")
                state = cr.wait_finished(stack, run_id, 900)
                seconds = time.monotonic() - started
                eng = warehouse.engine(url["wh"])
                with eng.connect() as conn:
                    merged = conn.execute(
                        sa.text("SELECT count(*) FROM audit.submission WHERE kind = 'district' AND status = 'merged'")
                    ).scalar()
                eng.dispose()
                hosts = sorted({t["hostname"] for t in cr.task_instances(stack, run_id) if t.get("hostname")})
                row = {
                    "workers": n,
                    "seconds": round(seconds, 1),
                    "state": state,
                    "merged": merged,
                    "hosts": hosts,
                    "load_before": round(load, 1),
                    "load_after": round(os.getloadavg()[0], 1),
                }
                results.append(row)
                print(json.dumps(row), flush=True)
    finally:
        stack.stop()
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for role in (auditor, f"dtks_pipeline_b{tag}"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
        shutil.rmtree(root, ignore_errors=True)

    by_n = {n: [r["seconds"] for r in results if r["workers"] == n] for n in (1, 2, 4)}
    medians = {n: statistics.median(v) for n, v in by_n.items() if v}
    summary = {
        "runs": results,
        "median_seconds": medians,
        "ratio_to_1_worker": {n: round(medians[1] / m, 2) for n, m in medians.items()} if 1 in medians else {},
        "concurrency": args.concurrency,
        "pool": args.pool,
        "districts": cr.DISTRICTS,
        "round_rows": data["round_rows"],
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps({k: summary[k] for k in ("median_seconds", "ratio_to_1_worker")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
