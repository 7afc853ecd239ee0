"""`make demo`: three monthly rounds for the five provinces of the seed study.

The demo plays the part of the districts: it generates a baseline registry
and each round's submissions (seeded, so the same every time), delivers each
round's files into the landing zone with their real arrival times, and runs
the ingest and close-round DAGs through Airflow, round by round.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from dtks import airflow_env, generate, ingest, metrics, reference, report, rounds, warehouse
from dtks.config import settings

DEMO_SEED = 20260801
BASELINE_RECEIVED_AT = datetime(2026, 7, 31, 17, 0, tzinfo=timezone.utc)  # 1 Aug 00:00 WIB


def init_warehouse() -> None:
    eng = warehouse.engine()
    warehouse.migrate(eng)
    reference.load_reference(eng)


def deliver_round(generated_landing: Path, round_id: str, landing_dir: Path) -> int:
    """Copy one round's files into the landing zone, keeping arrival times (mtimes)."""
    source = generated_landing / round_id
    count = 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = landing_dir / path.relative_to(generated_landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            count += 1
    return count


def run_demo(households_per_district: int = 60) -> Path:
    conf = settings()
    airflow_env.ensure_metadata_db()
    init_warehouse()
    eng = warehouse.engine()
    generated = conf.var_dir / "demo"
    summary = generate.generate(generated, seed=DEMO_SEED, households_per_district=households_per_district)
    print(f"generated: {summary.baseline_rows} baseline individuals in {summary.districts} districts, "
          f"{summary.submissions} submission files, {summary.defect_rows} injected defects")
    for round_id in generate.DEMO_ROUNDS:
        rounds.create_round(eng, rounds.default_round(round_id), provinces=list(generate.DEMO_PROVINCES))
    baseline = ingest.load_baseline(eng, generated / "baseline" / "registry.csv", "demo-baseline",
                                    BASELINE_RECEIVED_AT)
    print(f"baseline: {baseline.get('status')}")
    for round_id in generate.DEMO_ROUNDS:
        delivered = deliver_round(generated / "landing", round_id, conf.landing_dir)
        print(f"round {round_id}: {delivered} files delivered to {conf.landing_dir}; running dtks_ingest")
        airflow_env.run_dag("dtks_ingest", {"landing_dir": str(conf.landing_dir)})
        print(f"round {round_id}: running dtks_close_round")
        airflow_env.run_dag("dtks_close_round", {"round_id": round_id})
    last = generate.DEMO_ROUNDS[-1]
    print(report.format_district_table(metrics.district_table(eng, last)))
    out = conf.out_dir / last
    print(f"\nwritten: {out / 'district_metrics.csv'}\n         {out / 'report.html'}")
    return out
