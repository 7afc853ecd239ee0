"""`make bench` and its scaling mode work end to end at a tiny size, and the SQL peer does the pipeline's work.

The figures of a tiny run mean nothing; what is checked is that every line
and column BENCHMARKS.md needs is produced, and that the SQL peer accepts and
refuses exactly what the pipeline does on the same files (a peer doing less
work would make the comparison dishonest).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os

import pytest
from sqlalchemy.engine import make_url

from dtks.devtools import bench
from dtks.devtools.bench_pipeline import PIPELINE_STAGES


def _expected_refusals(landing) -> tuple[int, int, dict[str, int]]:
    """Rows, and rows with one of the generator's defects, counted from the files themselves."""
    rows, reasons = 0, {}
    for path in sorted(landing.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows += 1
                if len(row["nik"]) != 16:
                    reasons["nik_not_16_digits"] = reasons.get("nik_not_16_digits", 0) + 1
                if row["status_keberadaan"] not in ("1", "2", "3", "4", "5"):
                    reasons["status_code_unknown"] = reasons.get("status_code_unknown", 0) + 1
    return rows, sum(reasons.values()), reasons


def _args(work, template_url: str, *more: str) -> list[str]:
    return [
        "--districts",
        "6",
        "--work",
        str(work),
        "--db-prefix",
        f"dtks_benchtest_{os.getpid()}",
        "--template",
        make_url(template_url).database,
        *more,
    ]


@pytest.fixture(scope="module")
def bench_run(server_url, template_url, tmp_path_factory):
    """One tiny `make bench` (2,000 rows, 6 districts): its folder and what it printed."""
    work = tmp_path_factory.mktemp("bench")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.setenv("DTKS_WAREHOUSE_URL", server_url)  # (restored afterwards: the bench repoints it)
        args = ["--rows", "2000", "--naive-sample", "300", "--skip-orchestration", "--settings-rows", "0"]
        assert bench.main(_args(work, template_url, *args)) == 0
    return work, printed.getvalue()


def test_bench_reports_every_figure_and_the_sql_peer_does_the_same_work(bench_run):
    work, printed = bench_run
    summary = json.loads((work / "results.json").read_text())
    report = (work / "results.md").read_text()

    rows, refused, reasons = _expected_refusals(work / "data" / "landing")
    assert summary["rows"] == rows and refused > 0
    outcome, peer = summary["round_outcome"], summary["sql_peer"]
    assert outcome["rows_accepted"] == peer["rows_accepted"] == rows - refused
    assert outcome["rows_quarantined"] == peer["rows_refused"] == refused
    assert outcome["error_reasons"] == peer["reasons"] == reasons
    assert summary["same_work_as_sql_peer"] is True

    # the machine, the server's settings, memory of the pipeline and of the server
    assert "CPUs" in printed and "GiB" in printed and summary["machine"]["cpu_model"]
    assert "shared_buffers" in summary["server_settings"] and "max_wal_size" in summary["server_settings"]
    assert "server settings: shared_buffers=" in printed
    assert summary["peak_memory_mib"]["pipeline"] > 0 and summary["peak_memory_mib"]["server"] > 0
    # every stage timed, each comparison and target reported, and where the time went
    names = [s["name"] for s in summary["stages"]]
    for stage in (
        *PIPELINE_STAGES,
        "floor: COPY unlogged",
        "naive: pandas+GX+to_sql (sample)",
        "SQL peer: COPY",
        "SQL peer: checks (SQL)",
        "SQL peer: INSERT … ON CONFLICT",
        "baseline import (setup)",
        "metrics × 24 rounds",
    ):
        assert stage in names, stage
        assert f"| {stage} |" in report or f"| *{stage}* |" in report, stage
    for ratio in ("ratio_to_floor", "ratio_to_naive", "ratio_to_sql_peer"):
        assert summary[ratio] > 0
    for target in (
        "× the COPY floor",
        "× the naive script",
        "× the SQL peer",
        "peak memory of the pipeline",
        "PostgreSQL server's peak memory",
        "514 districts × 24 rounds",
        "Server settings: `",
    ):
        assert target in report, target
    assert {s["stage"] for s in summary["statements"]} >= {*PIPELINE_STAGES[1:4], "baseline import (setup)"}


def test_scaling_mode_reports_per_row_cost_by_stage(bench_run, server_url, template_url):
    work, _ = bench_run
    whole = json.loads((work / "results.json").read_text())["rows"]
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.setenv("DTKS_WAREHOUSE_URL", server_url)
        args = [
            "--scaling",
            "--round-sizes",
            f"300,600,{whole - 1}",  # (a round figure just under the whole round means the whole round)
            "--registry-sizes",
            "2000,1200,8000",
            "--registry-round",
            "600",
        ]
        assert bench.main(_args(work, template_url, *args)) == 0
    out = json.loads((work / "scaling.json").read_text())
    report = (work / "scaling.md").read_text()
    rounds = out["rounds"]
    assert len(rounds) == 3 and rounds[0]["round_rows"] < rounds[1]["round_rows"] < rounds[2]["round_rows"] == whole
    assert rounds[0]["registry_persons"] == rounds[1]["registry_persons"] == rounds[2]["registry_persons"]
    # the smaller rounds take districts no other took (each finds the registry as imported); the whole
    # round on the same registry is `make bench`'s own measurement, not run twice
    assert not set(rounds[0]["district_codes"]) & set(rounds[1]["district_codes"])
    assert "source" not in rounds[1] and rounds[2]["source"].startswith("make bench")
    registries = [r["registry_persons"] for r in out["registries"]]
    assert len(registries) == 3 and registries[1] < registries[0] and 3.5 < registries[2] / registries[0] < 4.5
    # the smaller registry (the same people, fewer districts) meets the very same district files
    same, smaller = out["registries"][0]["round"], out["registries"][1]["round"]
    assert smaller["district_codes"] == same["district_codes"] and smaller["round_rows"] == same["round_rows"]
    assert smaller["rows_accepted"] == same["rows_accepted"]
    for row in [*rounds, *(r["round"] for r in out["registries"])]:
        assert set(row["us_per_row"]) == set(PIPELINE_STAGES)
        assert all(v > 0 for v in row["us_per_row"].values())
        assert row["rows_accepted"] > 0.95 * row["round_rows"]
    assert "**Rounds of growing size on the same registry**" in report
    assert "**The same round size against growing registries**" in report
    assert "| round rows | districts | registry persons | register | stage | validate | merge |" in report
    assert "larger registry: per-row cost" in report and "national 97 M persons" in report
    # EXPLAIN ANALYZE of a district no round touched: its check table, then each statement of its merge
    explained = out["explain"]
    assert explained["district"] not in {d for r in rounds[:2] for d in r["district_codes"]}
    names = [s["statement"] for s in explained["statements"]]
    assert names[0].startswith("CREATE UNLOGGED TABLE staging.check_batch_")
    assert any(n.startswith("INSERT INTO registry.individual_event") for n in names)
    assert all(s["ms"] > 0 for s in explained["statements"])
    assert (work / "explain.txt").read_text().count("Execution Time:") == len(names)
    assert "EXPLAIN (ANALYZE, BUFFERS) for one district file" in report
