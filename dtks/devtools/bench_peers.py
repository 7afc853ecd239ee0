"""The benchmark's comparisons, run on the same files as the pipeline: the COPY floor, the naive script, the SQL peer.

* **floor** — ``COPY`` of the round's files into an unlogged table of text
  columns: what the database can ingest at best;
* **naive** — what a team writes first: pandas ``read_csv``, GX on the
  DataFrame (result format COMPLETE), ``DataFrame.to_sql``, one file after
  another, on a sample of the files (compared by rows per second);
* **SQL peer** — what a skilled team writes without GX: ``COPY`` into a
  table, the same error rules in plain SQL in one statement
  (include/sql/bench/sql_peer_checks.sql), ``INSERT … ON CONFLICT`` into a
  current table. No history, no events, no per-row issue records, no feedback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.dbapi import driver_cursor
from dtks.devtools.bench_data import ROUND_ARRIVAL
from dtks.devtools.bench_measure import Results, timed
from dtks.schema import CANONICAL_COLUMNS
from dtks.warehouse import read_sql, run_script

_COPY_CSV = "WITH (FORMAT csv, HEADER true)"


def round_files(data: dict[str, Any]) -> list[Path]:
    return sorted(Path(data["landing"]).rglob("*.csv"))


def run_floor(eng: Engine, data: dict[str, Any], results: Results) -> None:
    columns = ", ".join(f"{c} text" for c in CANONICAL_COLUMNS)
    with eng.begin() as conn:
        conn.execute(
            sa.text(f"DROP TABLE IF EXISTS public.bench_floor; CREATE UNLOGGED TABLE public.bench_floor ({columns})")
        )
    with timed() as t, eng.begin() as conn, driver_cursor(conn) as cur:
        for path in round_files(data):
            with path.open("rb") as f:
                cur.copy_expert(f"COPY public.bench_floor FROM STDIN {_COPY_CSV}", f)
    results.add("floor: COPY unlogged", data["round_rows"], t["seconds"])
    with eng.begin() as conn:
        conn.execute(sa.text("DROP TABLE public.bench_floor"))


NAIVE_SUITE: list[tuple[str, dict[str, Any]]] = [
    ("ExpectColumnValuesToNotBeNull", {"column": "nik"}),
    ("ExpectColumnValuesToMatchRegex", {"column": "nik", "regex": r"^[0-9]{16}$"}),
    (
        "ExpectColumnValuesToMatchRegex",
        {"column": "nik", "regex": r"^[0-9]{6}(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{6}$"},
    ),
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


def run_naive(eng: Engine, data: dict[str, Any], results: Results, sample_rows: int) -> None:
    """pandas + GX on DataFrames (COMPLETE) + to_sql, on the first files up to sample_rows."""
    import great_expectations as gx
    import pandas as pd

    from dtks.validation import _gx_context

    files, rows = [], 0
    for path in round_files(data):
        files.append(path)
        rows += data["round_sizes"].get(path.parent.name, 0)
        if rows >= sample_rows:
            break
    context = _gx_context()
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name="naive_bench", expectations=[getattr(gx.expectations, t)(**kw) for t, kw in NAIVE_SUITE]
        )
    )
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
    results.add("naive: pandas+GX+to_sql (sample)", done, t["seconds"])
    context.data_sources.delete("naive_bench")
    with eng.begin() as conn:
        conn.execute(sa.text("DROP TABLE public.bench_naive"))


# ----------------------------------------------------------------- the SQL peer
def _copy_files(conn: sa.Connection, files: list[tuple[int, Path]]) -> None:
    """COPY each file into bench_peer.round_row under its file id (the column's default reads the setting)."""
    columns = ", ".join(CANONICAL_COLUMNS)
    with driver_cursor(conn) as cur:
        for file_id, path in files:
            cur.execute("SELECT set_config('bench_peer.file_id', %s, false)", (str(file_id),))
            with path.open("rb") as f:
                cur.copy_expert(f"COPY bench_peer.round_row ({columns}) FROM STDIN {_COPY_CSV}", f)


def run_sql_peer(eng: Engine, data: dict[str, Any], results: Results) -> dict[str, Any]:
    """The skilled team's set-based pipeline on the round: COPY, checks, upsert (each timed), from the baseline.

    Returns its counts (rows accepted and refused) and drops its schema afterwards."""
    with eng.begin() as conn:
        run_script(conn, read_sql("bench/sql_peer_tables.sql"))
    with timed() as t, eng.begin() as conn:
        _copy_files(conn, [(0, Path(data["baseline"]))])
        run_script(conn, read_sql("bench/sql_peer_baseline.sql"))
    results.add("SQL peer: baseline (setup)", data["baseline_rows"], t["seconds"])

    files = list(enumerate(round_files(data), start=1))
    rows = data["round_rows"]
    received_on = ROUND_ARRIVAL.date()
    with timed() as copy_t, eng.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO bench_peer.file (file_id, kabkota_code, received_on)"
                " SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:codes AS text[]),"
                " CAST(:days AS date[]))"
            ),
            {
                "ids": [i for i, _ in files],
                "codes": [p.parent.name for _, p in files],
                "days": [received_on] * len(files),
            },
        )
        _copy_files(conn, files)
        conn.execute(sa.text("ANALYZE bench_peer.round_row"))
    results.add("SQL peer: COPY", rows, copy_t["seconds"])
    with timed() as check_t, eng.begin() as conn:
        run_script(conn, read_sql("bench/sql_peer_checks.sql"))
    results.add("SQL peer: checks (SQL)", rows, check_t["seconds"])
    with timed() as upsert_t, eng.begin() as conn:
        run_script(conn, read_sql("bench/sql_peer_upsert.sql"))
    results.add("SQL peer: INSERT … ON CONFLICT", rows, upsert_t["seconds"])
    with eng.begin() as conn:
        accepted, refused = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE reasons = '{}'), count(*) FILTER (WHERE reasons <> '{}')"
                " FROM bench_peer.checked"
            )
        ).one()
        reasons: dict[str, int] = dict(
            conn.execute(
                sa.text("SELECT reason, count(*) FROM bench_peer.checked, unnest(reasons) AS reason GROUP BY reason")
            ).all()
        )
        conn.execute(sa.text("DROP SCHEMA bench_peer CASCADE"))
    seconds = copy_t["seconds"] + check_t["seconds"] + upsert_t["seconds"]
    outcome = {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds if seconds else None,
        "rows_accepted": int(accepted),
        "rows_refused": int(refused),
        "reasons": reasons,
    }
    results.extra["sql_peer"] = outcome
    print(
        f"  SQL peer end to end: {rows / seconds:,.0f} rows/s; accepted {accepted:,}, refused {refused:,}", flush=True
    )
    return outcome
