"""`make bench-scaling`: how the pipeline's per-row cost grows with the round and with the registry.

Two series, each stage timed as in ``make bench`` (dtks/devtools/bench_pipeline.run_stages):

* rounds of growing size (default 0.5 M, 1 M, 2 M, 5 M rows: whole district
  files drawn at random) on the same registry (the baseline of a 5 M-row
  national round, 4.85 M persons). The whole round is `make bench`'s own
  figure when it ran in the same folder (else it runs on a copy of the
  registry); the smaller rounds take districts no other round took, so
  each finds the registry as imported;
* one round (default 1 M rows) against registries of other sizes (default
  the 5 M-row and 20 M-row generators' baselines: 4.85 M and 19.4 M persons).
  A smaller size (e.g. ``--registry-sizes 5000000,1250000``, when a 20 M
  import does not fit in the time at hand) is the same baseline cut to the
  round's districts and a few more: the very same files meet the very same
  records, only the registry around them is smaller. A larger one is
  generated anew (other district sizes: the round is drawn again).

Per-row cost should stay flat as the round grows, and grow at most 1.5× for a
4× larger registry. The tables are printed as markdown for BENCHMARKS.md and
written to ``var/bench/scaling.json`` / ``scaling.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from dtks.devtools.bench_data import draw_districts, national_round, planned_sizes, registry_subset, round_subset
from dtks.devtools.bench_measure import Results, publish
from dtks.devtools.bench_pipeline import (
    BASELINE,
    METRICS,
    PIPELINE_STAGES,
    drop_database,
    fresh_database,
    load_baseline,
    round_outcome,
    run_stages,
    warehouse_for_round,
)

NATIONAL_PERSONS = 97_000_000  # the national DTKS at its largest
TARGET_FLAT = 1.5  # a 4× registry may cost at most this much more per row
ROW_STAGES = tuple(s for s in PIPELINE_STAGES if s != METRICS)  # metrics cost per district, not per row


def _sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def build_registry(server: str, data: dict[str, Any], name: str, template: str | None) -> tuple[str, float]:
    """A warehouse holding the baseline registry (and the bench round, open), kept as a template; its seconds."""
    from dtks import warehouse

    results = Results(0, 0, quiet=True)
    eng = warehouse_for_round(server, name, template)
    load_baseline(eng, data, results)
    eng.dispose()
    warehouse._engine_for.cache_clear()
    return name, results.seconds(BASELINE)


def measure_round(
    server: str,
    registry_db: str,
    data: dict[str, Any],
    rows: int,
    work: Path,
    workers: int,
    prefix: str,
    copy: bool = False,
    exclude: set[str] | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """One round of about ``rows`` rows, districts other than ``exclude``, on ``registry_db`` (or on a fresh
    copy of it, ``copy=True``): seconds and µs per row by stage. Rounds of districts no earlier round
    touched find the registry as imported, so they need no copy (a copy of millions of persons is GBs)."""
    from dtks import warehouse

    sub = round_subset(data, rows, work / "scaling-landing", exclude=exclude, only=only)
    name = f"{prefix}_scale_run" if copy else registry_db
    # (a file copy starts with a checkpoint of the whole server: worth it for a registry of GBs only)
    url = (
        fresh_database(server, name, registry_db, file_copy=data["baseline_rows"] > 100_000)
        if copy
        else make_url(server).set(database=name).render_as_string(hide_password=False)
    )
    os.environ["DTKS_WAREHOUSE_URL"] = url
    eng = warehouse.engine(url)
    results = Results(sub["round_rows"], sub["districts"], quiet=True)
    archive = work / "scaling-archive"
    shutil.rmtree(archive, ignore_errors=True)
    ids = run_stages(eng, sub["landing"], archive, f"scale-{rows}", workers, sub["round_rows"], results)
    outcome = round_outcome(eng, ids)
    eng.dispose()
    warehouse._engine_for.cache_clear()
    if copy:
        drop_database(server, name)
    shutil.rmtree(archive, ignore_errors=True)
    shutil.rmtree(sub["landing"], ignore_errors=True)
    n = sub["round_rows"]
    row = {
        "round_rows": n,
        "districts": sub["districts"],
        "registry_persons": data["baseline_rows"],
        "seconds": {s.name: s.seconds for s in results.stages},
        "us_per_row": {s.name: s.seconds / n * 1e6 for s in results.stages},
        "end_to_end_us_per_row": results.seconds(*PIPELINE_STAGES) / n * 1e6,
        "rows_accepted": outcome["rows_accepted"],
        "submissions": outcome["submissions"],
        "district_codes": sorted(sub["round_sizes"]),
    }
    print(
        f"  {n:>10,} rows ({sub['districts']} districts) on {data['baseline_rows']:,} persons: "
        + ", ".join(f"{s.split(' ')[0]} {row['us_per_row'][s]:.1f}" for s in PIPELINE_STAGES)
        + f" µs/row; end to end {row['end_to_end_us_per_row']:.1f} µs/row",
        flush=True,
    )
    return row


def from_make_bench(json_path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The whole round's figures from the last `make bench` in the same folder, when it ran these very files
    on this very registry (the same measurement: it is not run a second time)."""
    if not json_path.exists():
        return None
    summary = json.loads(json_path.read_text())
    if (summary.get("rows"), summary.get("baseline_rows"), summary.get("districts")) != (
        data["round_rows"],
        data["baseline_rows"],
        data["districts"],
    ):
        return None
    seconds = {s["name"]: s["seconds"] for s in summary["stages"] if s["name"] in PIPELINE_STAGES}
    n = data["round_rows"]
    return {
        "round_rows": n,
        "districts": data["districts"],
        "registry_persons": data["baseline_rows"],
        "seconds": seconds,
        "us_per_row": {k: v / n * 1e6 for k, v in seconds.items()},
        "end_to_end_us_per_row": sum(seconds.values()) / n * 1e6,
        "rows_accepted": summary["round_outcome"]["rows_accepted"],
        "submissions": summary["round_outcome"]["submissions"],
        "source": f"make bench ({json_path.name})",
        "district_codes": sorted(data["round_sizes"]),
    }


def run(args: argparse.Namespace, server: str, workers: int, json_path: Path) -> int:
    round_sizes, registry_sizes = _sizes(args.round_sizes), _sizes(args.registry_sizes)
    prefix, work = args.db_prefix, args.work
    out: dict[str, Any] = {"rounds": [], "registries": []}
    from dtks.validation import _gx_context

    _gx_context()  # GX's start-up (seconds, once per process) is not a cost of the first round's rows

    def keep() -> None:  # what is measured so far, should the run be stopped before the end
        json_path.with_name("scaling.json").write_text(json.dumps(out, indent=2, default=str))

    try:
        print(
            f"rounds of {', '.join(f'{n:,}' for n in round_sizes)} rows on the registry of a"
            f" {registry_sizes[0]:,}-row round:",
            flush=True,
        )
        # (the folder of `make bench`: its files are reused when they were generated the same way)
        data = national_round(work / "data", registry_sizes[0], args.districts)
        registry, seconds = build_registry(server, data, f"{prefix}_scale_registry", args.template)
        out["registries"].append({"registry_persons": data["baseline_rows"], "baseline_seconds": seconds})
        print(f"  registry of {data['baseline_rows']:,} persons imported in {seconds:.1f} s", flush=True)
        # the whole round first (on a copy, unless `make bench` measured it): the smaller rounds then take
        # districts no other round took, each on the registry as imported
        by_size: dict[int, dict[str, Any]] = {}
        # (a size asked for in round figures, 5,000,000, is the whole round of 5,000,005 rows)
        whole_sizes = [n for n in round_sizes if n >= 0.999 * data["round_rows"]]
        for rows in whole_sizes:
            whole = from_make_bench(json_path, data)
            if whole:
                print(f"  {whole['round_rows']:,} rows: the whole round, as measured by `make bench`", flush=True)
            by_size[rows] = whole or measure_round(server, registry, data, rows, work, workers, prefix, copy=True)
        used: set[str] = set()
        for rows in [n for n in round_sizes if n not in whole_sizes]:
            by_size[rows] = measure_round(server, registry, data, rows, work, workers, prefix, exclude=used)
            used |= set(by_size[rows]["district_codes"])
            out["rounds"] = [by_size[n] for n in round_sizes if n in by_size]
            keep()
        out["rounds"] = [by_size[n] for n in round_sizes]
        out["registries"][0]["round"] = by_size.get(args.registry_round) or measure_round(
            server, registry, data, args.registry_round, work, workers, prefix, exclude=used
        )
        used |= set(out["registries"][0]["round"].get("district_codes", []))
        keep()
        untouched = {d: n for d, n in data["round_sizes"].items() if d not in used}
        if args.explain and untouched:
            from dtks import warehouse
            from dtks.devtools.bench_explain import explain_district

            url = make_url(server).set(database=registry).render_as_string(hide_password=False)
            os.environ["DTKS_WAREHOUSE_URL"] = url
            district = max(untouched, key=lambda d: untouched[d])
            print(f"EXPLAIN ANALYZE of district {district}'s check table and merge on this registry:", flush=True)
            out["explain"] = explain_district(warehouse.engine(url), data, district, work, workers)
            warehouse.engine(url).dispose()
            keep()
        drop_database(server, registry)
        same_round = out["registries"][0]["round"]
        for size in [n for n in registry_sizes[1:] if n < registry_sizes[0]]:
            # the same district files against a smaller registry of the same people
            print(
                f"the same {same_round['round_rows']:,}-row round on a registry of {size / 1.03:,.0f} persons:",
                flush=True,
            )
            small = registry_subset(
                data, same_round["district_codes"], int(size / 1.03), work / f"scaling-registry-{size}"
            )
            registry, seconds = build_registry(server, small, f"{prefix}_scale_registry", args.template)
            print(f"  registry of {small['baseline_rows']:,} persons imported in {seconds:.1f} s", flush=True)
            entry = {"registry_persons": small["baseline_rows"], "baseline_seconds": seconds}
            entry["round"] = measure_round(
                server, registry, small, args.registry_round, work, workers, prefix, only=same_round["district_codes"]
            )
            out["registries"].append(entry)
            keep()
            drop_database(server, registry)
            shutil.rmtree(work / f"scaling-registry-{size}", ignore_errors=True)
        for size in [n for n in registry_sizes[1:] if n > registry_sizes[0]]:
            print(f"a {args.registry_round:,}-row round on the registry of a {size:,}-row round:", flush=True)
            chosen = set(draw_districts(planned_sizes(size, districts=args.districts), args.registry_round / 1.03))
            big = national_round(work / f"scaling-data-{size}", size, args.districts, round_for=chosen)
            registry, seconds = build_registry(server, big, f"{prefix}_scale_registry", args.template)
            print(f"  registry of {big['baseline_rows']:,} persons imported in {seconds:.1f} s", flush=True)
            entry = {"registry_persons": big["baseline_rows"], "baseline_seconds": seconds}
            entry["round"] = measure_round(server, registry, big, args.registry_round, work, workers, prefix)
            out["registries"].append(entry)
            keep()
            drop_database(server, registry)
            shutil.rmtree(work / f"scaling-data-{size}", ignore_errors=True)  # (GBs; the 5 M data is reused)
    finally:
        publish(json_path.with_name("scaling.json"), out, scaling_report(out))
    return 0


def _us(row: dict[str, Any], stage: str) -> str:
    return f"{row['us_per_row'][stage]:.1f}"


def scaling_report(out: dict[str, Any]) -> str:
    """The two series as markdown tables, with the growth factors against the targets."""
    head = (
        "| round rows | districts | registry persons | "
        + " | ".join(s.split(" (")[0] for s in PIPELINE_STAGES)
        + " | end to end µs/row | rows/s |"
    )
    rule = "|" + "---:|" * (5 + len(PIPELINE_STAGES))

    def line(row: dict[str, Any]) -> str:
        return (
            f"| {row['round_rows']:,}{' †' if 'source' in row else ''} | {row['districts']} | {row['registry_persons']:,} | "
            + " | ".join(_us(row, s) for s in PIPELINE_STAGES)
            + f" | {row['end_to_end_us_per_row']:.1f} | {1e6 / row['end_to_end_us_per_row']:,.0f} |"
        )

    lines = [
        "Per-row time (µs) of each stage; metrics are per district (514 at most), shown per row for the total.",
        "",
    ]
    rounds = out["rounds"]
    if rounds:
        lines += ["**Rounds of growing size on the same registry**", "", head, rule, *map(line, rounds), ""]
        grow = {
            s: max(r["us_per_row"][s] for r in rounds) / min(r["us_per_row"][s] for r in rounds) for s in ROW_STAGES
        }
        total = max(r["end_to_end_us_per_row"] for r in rounds) / min(r["end_to_end_us_per_row"] for r in rounds)
        lines += [
            "Largest over smallest per-row cost across the rounds (flat is 1.0): "
            + ", ".join(f"{s.split(' (')[0]} {g:.2f}×" for s, g in grow.items())
            + f"; end to end {total:.2f}×.",
            "",
        ]
        if any("source" in r for r in rounds):
            lines += [
                "† the whole round: the figures of `make bench` in the same folder (the same files on the"
                " same registry, measured once).",
                "",
            ]
    regs = sorted((r for r in out["registries"] if "round" in r), key=lambda r: r["registry_persons"])
    if regs:
        lines += [
            "**The same round size against growing registries**",
            "",
            head,
            rule,
            *(line(r["round"]) for r in regs),
            "",
            "| registry persons | baseline import s | µs/person |",
            "|---:|---:|---:|",
            *(
                f"| {r['registry_persons']:,} | {r['baseline_seconds']:.1f} |"
                f" {r['baseline_seconds'] / r['registry_persons'] * 1e6:.1f} |"
                for r in regs
            ),
            "",
        ]
    if len(regs) >= 2:
        small, large = regs[0], regs[-1]
        factor = large["registry_persons"] / small["registry_persons"]
        grow = {s: large["round"]["us_per_row"][s] / small["round"]["us_per_row"][s] for s in ROW_STAGES}
        total = large["round"]["end_to_end_us_per_row"] / small["round"]["end_to_end_us_per_row"]
        # per-row cost taken to grow as a power of the registry size (a B-tree's depth grows with its log)
        exponent = math.log(max(total, 1e-9)) / math.log(factor)
        national = NATIONAL_PERSONS / large["registry_persons"]
        projected = large["round"]["end_to_end_us_per_row"] * national**exponent
        lines += [
            f"A {factor:.1f}× larger registry: per-row cost "
            + ", ".join(f"{s.split(' (')[0]} {g:.2f}×" for s, g in grow.items())
            + f"; end to end **{total:.2f}×** (target ≤ {TARGET_FLAT}×:"
            f" {'met' if total <= TARGET_FLAT else 'not met'}). Carried on at the same rate to the national"
            f" {NATIONAL_PERSONS / 1e6:.0f} M persons ({national:.1f}× the largest measured): about"
            f" {projected:.1f} µs/row end to end, {1e6 / projected:,.0f} rows/s.",
            "",
        ]
    if "explain" in out:
        e = out["explain"]
        lines += [
            f"EXPLAIN (ANALYZE, BUFFERS) for one district file ({e['district']}, {e['rows']:,} rows) on the"
            " registry of the round series (plans in `explain.txt`):",
            "",
            "| statement | ms |",
            "|---|---:|",
            *(f"| {s['statement'].replace('|', '/')} | {s['ms']:,.0f} |" for s in e["statements"]),
            "",
        ]
    return "\n".join(lines)
