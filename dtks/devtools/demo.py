"""`make demo`: three monthly rounds for the five provinces of the seed study.

The demo plays the part of the districts and of the scheduler: it generates
a baseline registry and each round's submissions (seeded, so the same every
time), puts the rounds in the calendar (exported for the round timetable),
then for each close run the ``dtks_close_round`` DAG's own timetable
schedules: delivers that round's files into the landing zone with their real
arrival times, runs ``dtks_ingest``, and runs ``dtks_close_round`` for the
run's logical date, the DAG finding the round from its data interval — as
the scheduler would at each round's close.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dtks import (
    airflow_env,
    close_schedule,
    closing,
    merging,
    metrics,
    progress,
    report_charts,
    rounds,
    terminal_table,
    warehouse,
)
from dtks.config import settings
from dtks.devtools import generate
from dtks.warehouse_setup import init_warehouse

DEMO_SEED = 20260801
BASELINE_RECEIVED_AT = datetime(2026, 7, 31, 17, 0, tzinfo=UTC)  # 1 Aug 00:00 WIB


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
    # The demo replays three past rounds: each generated file's mtime is its simulated
    # arrival (production takes the arrival from ctime, which nobody can set back).
    os.environ.setdefault("DTKS_ARRIVAL_FROM_MTIME", "1")
    conf = settings()
    airflow_env.ensure_metadata_db()
    init_warehouse()
    eng = warehouse.engine()
    generated = conf.var_dir / "demo"
    summary = generate.generate(generated, seed=DEMO_SEED, households_per_district=households_per_district)
    print(
        f"generated: {summary.baseline_rows} baseline individuals in {summary.districts} districts, "
        f"{summary.submissions} submission files, {summary.defect_rows} injected defects"
    )
    for round_id in generate.DEMO_ROUNDS:
        rounds.create_round(
            eng, rounds.default_round(round_id), provinces=list(generate.DEMO_PROVINCES), changed_by="demo"
        )
    calendar = close_schedule.export_calendar(eng)
    print(
        f"calendar: {', '.join(generate.DEMO_ROUNDS)} (monthly: cut-off the 14th, "
        f"{rounds.DEFAULT_GRACE_DAYS} grace days) → {calendar}"
    )
    baseline = merging.load_baseline(
        eng, generated / "baseline" / "registry.csv", "demo-baseline", BASELINE_RECEIVED_AT
    )
    print(f"baseline: {baseline.get('status')}")
    wanted = set(generate.DEMO_ROUNDS)
    for run in (r for r in closing.scheduled_close_runs() if r.round_id in wanted):
        delivered = deliver_round(generated / "landing", run.round_id, conf.landing_dir)
        print(f"round {run.round_id}: {delivered} files delivered to {conf.landing_dir}; running dtks_ingest")
        _run_shown("dtks_ingest", {"landing_dir": str(conf.landing_dir)})
        print(
            f"round {run.round_id}: closes {_wib(run.close_at)}; running dtks_close_round as scheduled "
            f"({_wib(run.run_after)}, data interval {_wib(run.opens_at)} – {_wib(run.close_at)})"
        )
        _run_shown("dtks_close_round", {}, logical_date=run.run_after)
    last = generate.DEMO_ROUNDS[-1]
    print(terminal_table.render_table(metrics.district_table(eng, last), last))
    nat = metrics.national_row(eng, last) or {}
    snap = metrics.penetapan(eng, last) or {}
    print(
        f"\n{last}: reporting rate {report_charts.pct(nat.get('reporting_rate'))}, on time {report_charts.pct(nat.get('on_time_rate'))}"
        f", coverage 24m {report_charts.pct(nat.get('coverage_24m'))}; penetapan snapshot #{snap.get('snapshot_no')}: "
        f"{snap.get('active_individuals')} active individuals, {snap.get('households')} households"
    )
    out = conf.out_dir / last
    print(f"\nwritten: {out / 'district_metrics.csv'}\n         {out / 'report.html'}")
    return out


def _run_shown(dag_id: str, conf: dict[str, Any], **kwargs: Any) -> None:
    """A DAG run with its steps on screen and the libraries' warnings in the CLI log, as `dtks ingest` shows it."""
    # Progress bars on a terminal; piped (CI logs), one line per district would bury the demo's own lines.
    run_id, state = progress.run_on_screen(dag_id, conf, quiet=not sys.stderr.isatty(), **kwargs)
    failure = progress.run_failed(dag_id, run_id, state)
    if failure:
        raise RuntimeError(failure)


def _wib(moment: datetime) -> str:
    return moment.astimezone(rounds.JAKARTA).strftime("%d %b %Y %H:%M WIB")
