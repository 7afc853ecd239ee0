"""`make bench`: a national round through the real path, beside the COPY floor, the naive script and a SQL peer.

What runs, on the same generated files (dtks/devtools/bench_data.py), in one process:

* **floor**, **naive** and **SQL peer** (dtks/devtools/bench_peers.py): what
  the database can ingest at best; what a team writes first (pandas + GX +
  ``to_sql``, on a sample); what a skilled team writes without GX (COPY +
  SQL checks + ``INSERT … ON CONFLICT``);
* **pipeline** (dtks/devtools/bench_pipeline.py): the baseline import, then
  the functions the DAG's tasks call, each stage timed: register, stage,
  validate, merge, the round's metrics;
* the metrics of 24 rounds of history, the Airflow orchestration overhead,
  and the server's settings alone (the same smaller round on a second
  embedded server with PostgreSQL's defaults).

Printed: the machine, the server's settings, every stage, the ratios against
the targets, peak memory of the pipeline's processes and of the PostgreSQL
server; written to ``var/bench/results.json`` and ``results.md``.
``--scaling`` measures how per-row cost grows instead (dtks/devtools/bench_scaling.py).
Figures are ratios within one run on one machine, never absolute promises.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from dtks.config import PROJECT_ROOT, settings
from dtks.devtools.bench_data import national_round
from dtks.devtools.bench_measure import (
    PeakMemory,
    Results,
    StatementProfile,
    machine_description,
    publish,
    server_pid,
    server_settings,
    timed,
)
from dtks.devtools.bench_peers import run_floor, run_naive, run_sql_peer
from dtks.devtools.bench_pipeline import (
    BASELINE,
    PIPELINE_STAGES,
    drop_database,
    load_baseline,
    round_outcome,
    run_history_metrics,
    run_orchestration_overhead,
    run_settings_alone,
    run_stages,
    warehouse_for_round,
)

TARGET_FLOOR = 0.25
TARGET_NAIVE = 10.0
TARGET_PEER = 0.5
TARGET_MEMORY_MIB = 1536  # 1.5 GiB
TARGET_METRICS_SECONDS = 10.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="individual rows in the national round")
    parser.add_argument("--districts", type=int, default=None, help="only the first N kab/kota (small runs)")
    parser.add_argument("--naive-sample", type=int, default=200_000, help="rows the naive baseline processes")
    parser.add_argument(
        "--settings-rows", type=int, default=500_000, help="round size of the settings-alone comparison (0: skip it)"
    )
    parser.add_argument(
        "--settings-repeats", type=int, default=1, help="runs of each server in the settings comparison (alternating)"
    )
    parser.add_argument("--skip-orchestration", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="submissions staged / merged at a time (default: the dtks_warehouse pool's slots)",
    )
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench")
    parser.add_argument("--db-prefix", default="dtks_bench", help="names of the databases the run creates")
    parser.add_argument(
        "--template",
        default=None,
        help="a migrated database with the reference data, copied for each warehouse (tests)",
    )
    parser.add_argument("--keep-database", action="store_true", help="keep the run's warehouse (GBs) afterwards")
    parser.add_argument("--json", type=Path, default=None, help="default: <work>/results.json (and .md beside it)")
    scaling = parser.add_argument_group("scaling mode (--scaling): per-row cost as the round and the registry grow")
    scaling.add_argument("--scaling", action="store_true")
    scaling.add_argument(
        "--round-sizes",
        default="500000,1000000,2000000,5000000",
        help="rounds on the same registry (rows, comma separated)",
    )
    scaling.add_argument(
        "--registry-sizes",
        default="5000000,20000000",
        help="registries (generator rows; the first is the registry of --round-sizes)",
    )
    scaling.add_argument(
        "--no-explain", dest="explain", action="store_false", help="skip the EXPLAIN ANALYZE of one district"
    )
    scaling.add_argument(
        "--registry-round", type=int, default=1_000_000, help="the round run against every registry size"
    )
    return parser.parse_args(argv)


def server_url() -> str:
    from dtks import warehouse

    return warehouse.normalise_url(settings().warehouse_url or warehouse.embedded_server_url())


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DTKS_ARRIVAL_FROM_MTIME", "1")  # the national round is replayed at its simulated arrival
    args = parse_args(argv)
    from dtks import airflow_env

    airflow_env.configure()
    server = server_url()
    workers = args.workers or airflow_env.WAREHOUSE_POOL_SLOTS
    args.work.mkdir(parents=True, exist_ok=True)
    json_path = args.json or args.work / "results.json"
    if args.scaling:
        from dtks.devtools import bench_scaling

        return bench_scaling.run(args, server, workers, json_path)

    print(f"a national round of {args.rows:,} rows in {args.work} …", flush=True)
    with timed() as t:
        data = national_round(args.work / "data", args.rows, districts=args.districts)
    results = Results(rows=data["round_rows"], districts=data["districts"])
    results.extra["baseline_rows"] = data["baseline_rows"]
    print(
        f"  {data['round_rows']:,} round rows ({data['baseline_rows']:,} baseline) for {data['districts']}"
        f" districts, ready in {t['seconds']:.0f} s",
        flush=True,
    )
    eng = warehouse_for_round(server, args.db_prefix, args.template)
    describe_run(eng, results)

    print("floor, naive script and SQL peer (same files):", flush=True)
    run_floor(eng, data, results)
    run_naive(eng, data, results, args.naive_sample)
    peer = run_sql_peer(eng, data, results)

    print(f"pipeline (real path, {workers} submissions at a time):", flush=True)
    landing = args.work / "landing"  # hard links: registering removes them, the generated files stay
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(data["landing"], landing, copy_function=os.link)
    archive = args.work / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    with PeakMemory(server_pid(eng)) as memory, StatementProfile() as profile:
        profile.stage = BASELINE
        load_baseline(eng, data, results)
        ids = run_stages(eng, landing, archive, "bench", workers, data["round_rows"], results, profile)
    results.extra["statements"] = profile.top()
    results.extra["statements_by_stage"] = profile.by_stage()
    outcome = round_outcome(eng, ids)
    results.extra.update(
        round_outcome=outcome, peak_memory_mib={"pipeline": memory.pipeline / 2**20, "server": memory.server / 2**20}
    )
    print(
        f"  round outcome: {outcome}; peak memory: pipeline {memory.pipeline / 2**20:,.0f} MiB,"
        f" PostgreSQL server {memory.server / 2**20:,.0f} MiB (PSS)",
        flush=True,
    )
    print(
        f"  same work as the SQL peer: {'yes' if same_work(outcome, peer) else 'NO'} (accepted"
        f" {outcome['rows_accepted']:,} vs {peer['rows_accepted']:,}; errors by rule"
        f" {outcome['error_reasons']} vs {peer['reasons']})",
        flush=True,
    )
    results.extra["metrics_24_rounds_seconds"] = run_history_metrics(eng, results)
    eng.dispose()
    if not args.keep_database:
        drop_database(server, args.db_prefix)
    shutil.rmtree(archive, ignore_errors=True)
    if not args.skip_orchestration:
        results.extra["orchestration"] = run_orchestration_overhead(
            args.work / "orchestration", server, args.db_prefix, args.template
        )
    if args.settings_rows:
        print(f"settings alone ({args.settings_rows:,}-row round on each server):", flush=True)
        results.extra["settings_alone"] = run_settings_alone(
            args.work, args.settings_rows, workers, args.db_prefix, args.districts, args.settings_repeats
        )

    summary = summarise(results)
    publish(json_path, summary, markdown_report(summary))
    return 0


def same_work(outcome: dict[str, Any], peer: dict[str, Any]) -> bool:
    """The SQL peer is a fair comparison only if it accepts the same rows, refusing the others for the same rules."""
    return bool(outcome["rows_accepted"] == peer["rows_accepted"] and outcome["error_reasons"] == peer["reasons"])


def describe_run(eng: Engine, results: Results) -> None:
    machine = machine_description(eng)
    results.extra["machine"] = machine
    results.extra["server_settings"] = server_settings(eng)
    print(
        f"  machine: {machine['cpus']} CPUs ({machine['physical_cores']} cores), {machine['memory_gib']} GiB,"
        f" {machine['cpu_model']}; Python {machine['python']}, PostgreSQL {machine['postgresql']};"
        f" load average {', '.join(f'{x:.1f}' for x in machine['load_average'])}",
        flush=True,
    )
    print(
        "  server settings: " + ", ".join(f"{k}={v}" for k, v in results.extra["server_settings"].items()), flush=True
    )


def summarise(results: Results) -> dict[str, Any]:
    rate = {s.name: s.rows_per_second for s in results.stages}
    end_to_end = results.seconds(*PIPELINE_STAGES)
    pipeline_rate = results.rows / end_to_end
    peer = results.extra["sql_peer"]
    floor = next(v for k, v in rate.items() if k.startswith("floor"))
    naive = next(v for k, v in rate.items() if k.startswith("naive"))
    return {
        "rows": results.rows,
        "districts": results.districts,
        "baseline_rows": results.extra["baseline_rows"],
        "end_to_end_seconds": end_to_end,
        "pipeline_rows_per_second": pipeline_rate,
        "ratio_to_floor": pipeline_rate / floor,
        "ratio_to_naive": pipeline_rate / naive,
        "ratio_to_sql_peer": pipeline_rate / peer["rows_per_second"],
        "same_work_as_sql_peer": same_work(results.extra["round_outcome"], peer),
        "stages": [
            {
                "name": s.name,
                "rows": s.rows,
                "seconds": round(s.seconds, 2),
                "rows_per_second": round(s.rows_per_second),
            }
            for s in results.stages
        ],
        **results.extra,
    }


def _share(summary: dict[str, Any], name: str) -> str:
    stage = next(s for s in summary["stages"] if s["name"] == name)
    return f"{stage['seconds'] / summary['end_to_end_seconds']:.0%}"


def markdown_report(summary: dict[str, Any]) -> str:
    """The run as BENCHMARKS.md shows it: machine, settings, the stage table, the targets."""
    m = summary["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs ({m['physical_cores']} cores, {m['cpu_model']}), {m['memory_gib']} GiB,"
        f" Python {m['python']}, PostgreSQL {m['postgresql']}; load average at the start"
        f" {', '.join(f'{x:.1f}' for x in m['load_average'])}.",
        "",
        "Server settings: " + ", ".join(f"`{k}={v}`" for k, v in summary["server_settings"].items()) + ".",
        "",
        "| stage | rows | seconds | rows/s | share of end to end |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in summary["stages"]:
        share = _share(summary, s["name"]) if s["name"] in PIPELINE_STAGES else ""
        italic = s["name"] in (BASELINE, "SQL peer: baseline (setup)")
        name = f"*{s['name']}*" if italic else s["name"]
        lines.append(f"| {name} | {s['rows']:,} | {s['seconds']:.1f} | {s['rows_per_second']:,} | {share} |")
    peer = summary["sql_peer"]
    lines.append(
        f"| **pipeline end to end, register → metrics** | {summary['rows']:,} |"
        f" {summary['end_to_end_seconds']:.1f} | **{summary['pipeline_rows_per_second']:,.0f}** | 100% |"
    )
    lines.append(
        f"| **SQL peer end to end, COPY → upsert** | {peer['rows']:,} | {peer['seconds']:.1f} |"
        f" **{peer['rows_per_second']:,.0f}** | |"
    )
    out = summary["round_outcome"]
    same = (
        "the same counts, and the same errors by rule" if summary["same_work_as_sql_peer"] else "**not the same work**"
    )
    lines += [
        "",
        f"Round outcome: submissions {out['submissions']}; {out['rows_accepted']:,} rows accepted,"
        f" {out['rows_quarantined']:,} quarantined. SQL peer: {peer['rows_accepted']:,} accepted,"
        f" {peer['rows_refused']:,} refused"
        f" ({same}).",
        "",
    ]
    memory = summary["peak_memory_mib"]

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines += [
        "| target | measured | met? |",
        "|---|---|---|",
        f"| end to end ≥ {TARGET_FLOOR} × the COPY floor | {summary['ratio_to_floor']:.3f} × |"
        f" {met(summary['ratio_to_floor'] >= TARGET_FLOOR)} |",
        f"| ≥ {TARGET_NAIVE:g} × the naive script | {summary['ratio_to_naive']:.1f} × |"
        f" {met(summary['ratio_to_naive'] >= TARGET_NAIVE)} |",
        f"| ≥ {TARGET_PEER} × the SQL peer | {summary['ratio_to_sql_peer']:.2f} × |"
        f" {met(summary['ratio_to_sql_peer'] >= TARGET_PEER)} |",
        f"| peak memory of the pipeline's processes < 1.5 GiB | {memory['pipeline']:,.0f} MiB (RSS) |"
        f" {met(memory['pipeline'] < TARGET_MEMORY_MIB)} |",
        f"| PostgreSQL server's peak memory, reported | {memory['server']:,.0f} MiB (PSS, all its processes) |"
        " reported |",
        f"| metrics of 514 districts × 24 rounds < {TARGET_METRICS_SECONDS:g} s |"
        f" {summary['metrics_24_rounds_seconds']:.1f} s |"
        f" {met(summary['metrics_24_rounds_seconds'] < TARGET_METRICS_SECONDS)} |",
    ]
    if "orchestration" in summary:
        o = summary["orchestration"]
        lines.append(
            f"| Airflow orchestration overhead per submission, reported |"
            f" {o['overhead_seconds_per_submission']:.1f} s (`dag.test` {o['airflow']:.1f} s vs direct"
            f" {o['direct']:.1f} s, {o['submissions']} submissions) | reported |"
        )
    if "settings_alone" in summary:
        s = summary["settings_alone"]
        lines.append(
            f"| the server's settings alone ({s['rows']:,}-row round, {s['baseline_rows']:,}-person"
            f" baseline, two fresh servers, {s['repeats']} run(s) each) | register → metrics"
            f" {s['defaults']['round_seconds']:.1f} s on defaults →"
            f" {s['workload']['round_seconds']:.1f} s (**{s['speedup_round']:.2f} ×**); baseline import"
            f" {s['defaults']['baseline_seconds']:.1f} s → {s['workload']['baseline_seconds']:.1f} s"
            f" ({s['speedup_baseline']:.2f} ×); settings that differ: "
            + ", ".join(
                f"`{k}` {s['defaults']['settings'][k]} → {v}"
                for k, v in s["workload"]["settings"].items()
                if s["defaults"]["settings"].get(k) != v
            )
            + " | reported |"
        )
    lines += [
        "",
        "Where the time goes: the SQL statements that took longest (SQLAlchemy cursor events; the"
        " COPY of staging is not seen; concurrent merges add up to more than the stage's wall time):",
        "",
        "| stage | statement (its first words) | calls | seconds |",
        "|---|---|---:|---:|",
        *(
            f"| {s['stage']} | {s['statement'].replace('|', '/')} | {s['calls']:,} | {s['seconds']:.1f} |"
            for s in summary.get("statements", [])
        ),
        "",
        "SQL statements by stage (count, seconds summed over concurrent sessions): "
        + "; ".join(
            f"{stage}: {int(t['statements']):,}, {t['seconds']:.1f} s"
            for stage, t in summary.get("statements_by_stage", {}).items()
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
