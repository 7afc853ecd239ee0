"""`make bench`: a national round through the real path, beside the floor and the naive baseline.

What runs, on the same generated files, in one process:

* **pipeline** — the real functions the DAG tasks call: register (hash +
  archive), stage (parse + COPY), validate (critical checks + every GX suite,
  in the database), merge (registry + history + quarantine, one transaction
  per submission), metrics (the round's SQL);
* **floor** — PostgreSQL ``COPY`` of the same files into an unlogged table:
  what the database can ingest at best;
* **naive** — what a team would write first: pandas ``read_csv``, GX
  validation on the DataFrame with result format COMPLETE, ``DataFrame.to_sql``.
  It is run on a sample of the files (its full run would take hours) and
  compared by throughput (rows per second).

Figures are reported as ratios between runs of this same script on this same
machine, never as absolute promises. Peak memory is the resident set of this
process and its children, sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from dtks.config import DEFAULT_REFERENCE_EDITION, PROJECT_ROOT, REFERENCE_DIR, settings
from dtks.schema import CANONICAL_COLUMNS

WIB = timezone(timedelta(hours=7))
BENCH_ROUND = "2026-11"
BASELINE_AT = datetime(2026, 10, 31, 9, 0, tzinfo=WIB)
ROUND_ARRIVAL = datetime(2026, 11, 10, 9, 0, tzinfo=WIB)
HISTORY_ROUNDS = 24
# Share of a round's rows with an error a district really sends (quarantined, not merged): the checks
# then also find, record and quarantine failing rows, as in a real round.
DEFECT_SHARE = 0.01


# ----------------------------------------------------------------- memory
class PeakMemory:
    """Peak RSS of this process tree, sampled in a background thread."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a child may exit between listing and reading
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self._interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


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
    rows: int
    districts: int
    stages: list[Stage] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def add(self, name: str, rows: int, seconds: float) -> None:
        self.stages.append(Stage(name, rows, seconds))
        print(f"  {name:<28} {rows:>10,} rows {seconds:>9.1f} s {rows / seconds if seconds else 0:>12,.0f} rows/s",
              flush=True)

    def seconds(self, *names: str) -> float:
        return sum(s.seconds for s in self.stages if s.name in names)


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


# ----------------------------------------------------------------- data
def _district_sizes(kabkota: list[str], total: int, rng: random.Random) -> dict[str, int]:
    """Skewed like real districts: a few metropolitan giants, many small kabupaten."""
    weights = [rng.lognormvariate(0, 0.9) for _ in kabkota]
    scale = total / sum(weights)
    sizes = {k: max(4, int(w * scale)) for k, w in zip(kabkota, weights)}
    # make the total exact, in whole households of 4 where possible
    diff = total - sum(sizes.values())
    biggest = max(sizes, key=sizes.get)
    sizes[biggest] += diff
    return sizes


def _villages_by_district(reference: Path) -> dict[str, list[str]]:
    villages: dict[str, list[str]] = {}
    with (reference / "villages.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["code"].replace(".", "")
            villages.setdefault(code[:4], []).append(code)
    return villages


def generate_national(folder: Path, total_rows: int, seed: int = 514, districts: int | None = None) -> dict:
    """Baseline registry + one round's district files, streamed to disk.

    Each round file re-sends every person of the district's baseline: 85%
    unchanged (confirmed), 10% with a changed programme flag, 2% deceased, and
    3% new people on top; 1% of the rows carry an error (a NIK short of a
    digit, an unknown status code) and are quarantined. ``districts`` keeps
    the first N kab/kota in code order.
    """
    rng = random.Random(seed)
    villages = _villages_by_district(REFERENCE_DIR / DEFAULT_REFERENCE_EDITION)
    kabkota = sorted(villages)[:districts]  # all 514, or the first N (smaller rounds for tests)
    sizes = _district_sizes(kabkota, int(total_rows / 1.03), rng)
    baseline_path = folder / "baseline.csv"
    landing = folder / "landing" / BENCH_ROUND
    if folder.exists():
        shutil.rmtree(folder)
    landing.mkdir(parents=True)
    header = ",".join(CANONICAL_COLUMNS) + "\n"
    start_birth = date(1940, 1, 1)
    counters: dict[str, int] = {}
    kk_counters: dict[str, int] = {}
    round_rows = 0

    def person_line(kec: str, village: str, kk: str, relation: str, verified: str, status: str = "1",
                    pbi: str = "0") -> tuple[str, str]:
        c = counters.get(kec, 0)
        counters[kec] = c + 1
        born = start_birth + timedelta(days=c % 25_000)
        female = c % 2 == 1
        day = born.day + (40 if female else 0)
        nik = f"{kec}{day:02d}{born.month:02d}{born.year % 100:02d}{c // 25_000 + 1:04d}"
        line = (f"DT{nik[-10:]},{kk},{nik},WARGA {c},{'P' if female else 'L'},KOTA,{born.isoformat()},{relation},"
                f"IBU {c},JL. NUSANTARA {c % 97},00{c % 9 + 1},00{c % 7 + 1},{village},{status},{verified},0,1,{pbi}\n")
        return nik, line

    with baseline_path.open("w", encoding="utf-8", newline="") as base:
        base.write(header)
        for district in kabkota:
            size = sizes[district]
            dvillages = villages[district]
            with _open_district(landing, district) as sub:
                sub.write(header)
                written = 0
                household = 0
                while written < size:
                    village = dvillages[household % len(dvillages)]
                    kec = village[:6]
                    k = kk_counters.get(kec, 0)
                    kk_counters[kec] = k + 1
                    issued = date(2010, 1, 1) + timedelta(days=k % 5000)
                    kk = f"{kec}{issued:%d%m%y}{k // 5000 + 1:04d}"
                    members = min(4, size - written)
                    for m in range(members):
                        relation = "1" if m == 0 else ("2" if m == 1 else "3")
                        nik, line = person_line(kec, village, kk, relation, "2024-05-06")
                        base.write(line)
                        roll = rng.random()
                        if roll < 0.10:
                            line = line.rsplit(",", 1)[0] + ",1\n"            # PBI flag changed
                        elif roll < 0.12 and relation != "1":
                            line = line.replace(",1,2024-05-06,", ",3,2024-05-06,")  # deceased
                        line = line.replace("2024-05-06", "2026-11-05")
                        roll = rng.random()
                        if roll < DEFECT_SHARE / 2:                 # a NIK that lost a digit (quarantined)
                            line = line.replace(f",{nik},", f",{nik[:-1]},", 1)
                        elif roll < DEFECT_SHARE:                   # a status code that does not exist
                            line = line.replace(",1,2026-11-05,", ",7,2026-11-05,", 1)
                        sub.write(line)
                        round_rows += 1
                    if rng.random() < 0.12:                    # a newborn in ~12% of households: ~3% new rows
                        _, line = person_line(kec, village, kk, "3", "2026-11-05")
                        sub.write(line)
                        round_rows += 1
                    written += members
                    household += 1
            os.utime(landing / district / f"dtks_{district}_{BENCH_ROUND}.csv",
                     (ROUND_ARRIVAL.timestamp(), ROUND_ARRIVAL.timestamp()))
    baseline_rows = sum(sizes.values())
    return {"baseline": baseline_path, "landing": folder / "landing", "baseline_rows": baseline_rows,
            "round_rows": round_rows, "districts": len(kabkota), "sizes": sizes}


def _open_district(landing: Path, district: str):
    folder = landing / district
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / f"dtks_{district}_{BENCH_ROUND}.csv").open("w", encoding="utf-8", newline="")


# ----------------------------------------------------------------- runs
def _fresh_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def run_pipeline(eng, data: dict, archive: Path, results: Results, workers: int) -> None:
    """The DAG's steps on the round: per-submission steps run ``workers`` at a time, as the
    DAG's mapped tasks do (bounded by the ``dtks_warehouse`` pool); validation is one task."""
    from concurrent.futures import ThreadPoolExecutor

    from dtks import ingest, intake, landed_files, merging, metrics, rounds, staging

    rounds.create_round(eng, rounds.default_round(BENCH_ROUND))
    with timed() as t:
        merging.load_baseline(eng, data["baseline"], "bench-baseline", BASELINE_AT)
    results.add("baseline import (setup)", data["baseline_rows"], t["seconds"])

    def each(step, refs):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda r: step(eng, r.submission_id, "bench"), refs))

    rows = data["round_rows"]
    landed = landed_files.discover(data["landing"])
    with timed() as t:
        refs = [r for r in (intake.register(eng, f, "bench", archive) for f in landed) if r]
    results.add("register (hash + archive)", rows, t["seconds"])
    with timed() as t:
        each(staging.stage, refs)
    results.add("stage (parse + COPY)", rows, t["seconds"])
    with timed() as t:
        ingest.validate(eng, [r.submission_id for r in refs], "bench")
    results.add("validate (GX, in-database)", rows, t["seconds"])
    with timed() as t:
        each(merging.merge, refs)
    results.add("merge (history, quarantine)", rows, t["seconds"])
    with timed() as t:
        metrics.compute_round_metrics(eng, BENCH_ROUND)
    results.add("metrics (round)", rows, t["seconds"])
    with eng.connect() as conn:
        outcome = dict(conn.execute(sa.text(
            "SELECT status, count(*) FROM audit.submission WHERE kind = 'district' GROUP BY status")).all())
        accepted, quarantined = conn.execute(sa.text(
            "SELECT coalesce(sum(rows_accepted), 0), coalesce(sum(rows_quarantined), 0) FROM audit.submission"
            " WHERE kind = 'district'")).one()
    results.extra["round_outcome"] = {"submissions": outcome, "rows_accepted": int(accepted),
                                      "rows_quarantined": int(quarantined), "workers": workers}
    print(f"  round outcome: submissions {outcome}, rows accepted {accepted:,}, quarantined {quarantined:,}"
          f" ({workers} at a time)", flush=True)


def run_floor(eng, data: dict, results: Results) -> None:
    files = sorted(data["landing"].rglob("*.csv"))
    columns = ", ".join(f"{c} text" for c in CANONICAL_COLUMNS)
    with eng.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS public.bench_floor; CREATE UNLOGGED TABLE public.bench_floor ({columns})"))
    with timed() as t:
        with eng.begin() as conn, conn.connection.cursor() as cur:
            for path in files:
                with path.open("rb") as f:
                    cur.copy_expert("COPY public.bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)", f)
    results.add("floor: COPY unlogged", data["round_rows"], t["seconds"])


NAIVE_SUITE = [
    ("ExpectColumnValuesToNotBeNull", {"column": "nik"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "nik", "regex": r"^[0-9]{16}$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "nik",
                                        "regex": r"^[0-9]{6}(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{6}$"}),
    ("ExpectColumnValuesToNotMatchRegex", {"column": "nik", "regex": r"0000$"}),
    ("ExpectColumnValuesToBeUnique", {"column": "nik"}),
    ("ExpectColumnValuesToNotBeNull", {"column": "no_kk"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "no_kk", "regex": r"^[0-9]{16}$"}),
    ("ExpectColumnValuesToNotBeNull", {"column": "nama"}),
    ("ExpectColumnValuesToBeInSet", {"column": "jenis_kelamin", "value_set": ["L", "P"]}),
    ("ExpectColumnValuesToBeInSet", {"column": "hubungan_keluarga", "value_set": [str(i) for i in range(1, 10)]}),
    ("ExpectColumnValuesToBeInSet", {"column": "status_keberadaan", "value_set": ["1", "2", "3", "4", "5"]}),
    ("ExpectColumnValuesToMatchRegex", {"column": "kode_desa", "regex": r"^[0-9]{10}$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "tanggal_lahir", "regex": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "tanggal_verifikasi", "regex": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]


def run_naive(eng, data: dict, results: Results, sample_rows: int) -> None:
    """pandas + GX on DataFrames (COMPLETE) + to_sql, on the first files up to sample_rows."""
    import great_expectations as gx
    import pandas as pd

    from dtks.validation import _gx_context

    files, rows = [], 0
    for path in sorted(data["landing"].rglob("*.csv")):
        files.append(path)
        rows += data["sizes"].get(path.parent.name, 0)
        if rows >= sample_rows:
            break
    context = _gx_context()
    suite = context.suites.add_or_update(gx.ExpectationSuite(
        name="naive_bench", expectations=[getattr(gx.expectations, t)(**kw) for t, kw in NAIVE_SUITE]))
    source = context.data_sources.add_or_update_pandas("naive_bench")
    asset = source.add_dataframe_asset("frame")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    with eng.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS public.bench_naive"))
    done = 0
    with timed() as t:
        for path in files:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            batch.validate(suite, result_format="COMPLETE")
            frame.to_sql("bench_naive", eng, schema="public", if_exists="append", index=False)
            done += len(frame)
    results.add("naive: pandas+GX+to_sql", done, t["seconds"])
    context.data_sources.delete("naive_bench")


def run_orchestration_overhead(results: Results, tmp: Path, server_url: str, submissions: int = 12) -> None:
    """Seconds Airflow adds per submission: dag.test of dtks_ingest vs the same functions called directly."""
    from dtks import airflow_env, ingest, intake, landed_files, merging, rounds, staging, warehouse

    airflow_env.ensure_metadata_db()
    timings = {}
    for mode in ("direct", "airflow"):
        url = _fresh_database(server_url, f"dtks_bench_orch_{mode}")
        os.environ["DTKS_WAREHOUSE_URL"] = url
        eng = warehouse.engine(url)
        warehouse.migrate(eng)
        from dtks import reference
        reference.load_reference(eng)
        rounds.create_round(eng, rounds.default_round(BENCH_ROUND))
        small = generate_national(tmp / f"orch_{mode}", total_rows=submissions * 40, seed=7)
        landing = small["landing"]
        # keep only the first `submissions` district folders
        for folder in sorted((landing / BENCH_ROUND).iterdir())[submissions:]:
            shutil.rmtree(folder)
        archive = tmp / f"orch_{mode}_archive"
        os.environ["DTKS_ARCHIVE_DIR"] = str(archive)
        with timed() as t:
            if mode == "airflow":
                airflow_env.run_dag("dtks_ingest", {"landing_dir": str(landing)})
            else:
                refs = [r for r in (intake.register(eng, f, "direct", archive)
                                    for f in landed_files.discover(landing)) if r]
                for r in refs:
                    staging.stage(eng, r.submission_id, "direct")
                ingest.validate(eng, [r.submission_id for r in refs], "direct")
                for r in refs:
                    merging.merge(eng, r.submission_id, "direct")
        timings[mode] = t["seconds"]
    per_submission = (timings["airflow"] - timings["direct"]) / submissions
    results.extra["orchestration"] = {"submissions": submissions, **timings,
                                      "overhead_seconds_per_submission": per_submission}
    print(f"  airflow orchestration: {timings['airflow']:.1f} s vs direct {timings['direct']:.1f} s "
          f"for {submissions} submissions → {per_submission:.2f} s per submission", flush=True)


def run_history_metrics(eng, results: Results) -> None:
    """Metrics of all 514 districts for 24 rounds of calendar and submission history."""
    from dtks import metrics, rounds

    # 23 earlier monthly rounds of district submissions (audit rows only; the registry is the bench's)
    first = date(2024, 12, 1)
    ids = [f"{first.year + (first.month - 1 + i) // 12:04d}-{(first.month - 1 + i) % 12 + 1:02d}"
           for i in range(HISTORY_ROUNDS - 1)]
    for rid in ids:
        rounds.create_round(eng, rounds.default_round(rid))
    with eng.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, sha256,"
            " size_bytes, received_at, registered_by_run, status, rows_in, rows_accepted, rows_quarantined, rows_warned)"
            " SELECT 'district', r.round_id, e.kabkota_code, 'history.csv', 'history', md5(r.round_id || e.kabkota_code)"
            " || md5(e.kabkota_code || r.round_id), 1000, (r.cutoff_on - (abs(hashtext(e.kabkota_code || r.round_id)) % 20 - 3))"
            "::timestamp AT TIME ZONE 'Asia/Jakarta', 'bench-history', 'merged', 100, 95, 5, 0"
            " FROM audit.round r JOIN audit.round_expected_district e USING (round_id)"
            " WHERE r.round_id = ANY(:ids) AND abs(hashtext(e.kabkota_code || r.round_id)) % 10 < 8"),
            {"ids": ids})
    all_rounds = ids + [BENCH_ROUND]
    with timed() as t:
        for rid in all_rounds:
            metrics.compute_round_metrics(eng, rid)
    results.add(f"metrics x {len(all_rounds)} rounds", 514 * len(all_rounds), t["seconds"])
    results.extra["metrics_24_rounds_seconds"] = t["seconds"]


def machine_description(eng) -> dict:
    """What the figures were measured on (they are only comparable on the same machine)."""
    import platform

    import psutil

    with eng.connect() as conn:
        server = conn.execute(sa.text("SHOW server_version")).scalar_one()
    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "postgresql": server, "platform": platform.platform()}


# ----------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DTKS_ARRIVAL_FROM_MTIME", "1")  # the national round is replayed at its simulated arrival
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="individual rows in the national round")
    parser.add_argument("--naive-sample", type=int, default=200_000, help="rows the naive baseline processes")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench")
    parser.add_argument("--skip-orchestration", action="store_true")
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions staged / merged at a time (default: the dtks_warehouse pool's slots)")
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / "var" / "bench" / "results.json")
    args = parser.parse_args(argv)

    from dtks import airflow_env, reference, warehouse

    airflow_env.configure()
    server = warehouse.normalise_url(settings().warehouse_url or warehouse.embedded_server_url())
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    print(f"generating a national round of {args.rows:,} rows in {work} …", flush=True)
    with timed() as t:
        data = generate_national(work / "data", args.rows)
    results = Results(rows=data["round_rows"], districts=data["districts"])
    print(f"  generated {data['round_rows']:,} round rows ({data['baseline_rows']:,} baseline) "
          f"for {data['districts']} districts in {t['seconds']:.0f} s", flush=True)

    url = _fresh_database(server, "dtks_bench")
    os.environ["DTKS_WAREHOUSE_URL"] = url
    eng = warehouse.engine(url)
    warehouse.migrate(eng)
    reference.load_reference(eng)
    results.extra["machine"] = machine_description(eng)
    print(f"  machine: {results.extra['machine']}", flush=True)

    print("floor and naive baseline (same files):", flush=True)
    run_floor(eng, data, results)
    run_naive(eng, data, results, args.naive_sample)

    print("pipeline (real path):", flush=True)
    with PeakMemory() as memory:
        run_pipeline(eng, data, work / "archive", results, args.workers or airflow_env.WAREHOUSE_POOL_SLOTS)
    results.extra["peak_rss_bytes"] = memory.peak
    print(f"  peak memory (this process tree): {memory.peak / 2**20:,.0f} MiB", flush=True)
    run_history_metrics(eng, results)
    if not args.skip_orchestration:
        run_orchestration_overhead(results, work / "orchestration", server)

    pipeline_seconds = results.seconds("register (hash + archive)", "stage (parse + COPY)",
                                       "validate (GX, in-database)", "merge (history, quarantine)", "metrics (round)")
    pipeline_rate = results.rows / pipeline_seconds
    floor_rate = next(s.rows_per_second for s in results.stages if s.name.startswith("floor"))
    naive_rate = next(s.rows_per_second for s in results.stages if s.name.startswith("naive"))
    summary = {
        "rows": results.rows, "districts": results.districts,
        "pipeline_rows_per_second": pipeline_rate,
        "ratio_to_floor": pipeline_rate / floor_rate,
        "ratio_to_naive": pipeline_rate / naive_rate,
        "peak_rss_mib": results.extra["peak_rss_bytes"] / 2**20,
        "stages": [{"name": s.name, "rows": s.rows, "seconds": round(s.seconds, 2),
                    "rows_per_second": round(s.rows_per_second)} for s in results.stages],
        **{k: v for k, v in results.extra.items() if k != "peak_rss_bytes"},
    }
    print("\nend to end (register → metrics): "
          f"{pipeline_rate:,.0f} rows/s = {summary['ratio_to_floor']:.2f} × COPY floor "
          f"(target ≥ 0.25), {summary['ratio_to_naive']:.1f} × naive baseline (target ≥ 10); "
          f"peak memory {summary['peak_rss_mib']:,.0f} MiB (target < 1,536); "
          f"metrics 24 rounds {results.extra['metrics_24_rounds_seconds']:.1f} s (target < 10)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, default=str))
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
