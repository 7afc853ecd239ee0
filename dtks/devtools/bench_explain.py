"""`EXPLAIN (ANALYZE, BUFFERS)` of the pipeline's heaviest statements for one district file on a full registry.

Run at the end of ``make bench-scaling`` (``--explain``), on the scaling
registry and a district file no round touched: its check table (the
statement that builds it runs under EXPLAIN ANALYZE while validation runs,
and still builds it), then every statement of ``include/sql/merge_submission.sql``
for it, each under EXPLAIN ANALYZE in one transaction that is rolled back.
The plans go to ``var/bench/explain.txt``; each statement's execution time
to the scaling report.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.devtools.bench_measure import Results
from dtks.devtools.bench_pipeline import VALIDATE, run_stages
from dtks.warehouse import read_sql

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS) "
_CHECK_TABLE = re.compile(r"^\s*CREATE UNLOGGED TABLE staging\.check_batch_\w+ AS", re.IGNORECASE)
_EXPLAINABLE = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE (TEMP |UNLOGGED )?TABLE .* AS)\b", re.IGNORECASE | re.DOTALL
)


def _statement_name(sql: str) -> str:
    return " ".join(sql.split())[:80]


def _execution_ms(plan: str) -> float:
    found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
    return float(found.group(1)) if found else 0.0


class ExplainCheckTables:
    """While active, validation's check tables are built under EXPLAIN ANALYZE (built all the same); plans kept."""

    def __init__(self) -> None:
        self.plans: list[tuple[str, str]] = []

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> tuple[str, Any]:
        if _CHECK_TABLE.match(statement):
            conn.info["bench_explain"] = statement
            return EXPLAIN + statement, parameters
        return statement, parameters

    def _after(self, conn: Any, cursor: Any, *args: Any) -> None:
        statement = conn.info.pop("bench_explain", None)
        if statement:
            self.plans.append((_statement_name(statement), "\n".join(row[0] for row in cursor.fetchall())))

    def __enter__(self) -> ExplainCheckTables:
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._before, retval=True)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", self._after)


def merge_statements() -> list[str]:
    """The statements of the merge script, comments dropped, in order."""
    text = "\n".join(
        line for line in read_sql("merge_submission.sql").splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


def explain_merge(eng: Engine, submission_id: int, run_id: str) -> list[tuple[str, str]]:
    """Every statement of the merge for one validated submission under EXPLAIN ANALYZE; rolled back."""
    plans: list[tuple[str, str]] = []
    with eng.connect() as conn:
        transaction = conn.begin()
        try:
            for sql in merge_statements():
                params = {k: v for k, v in (("sid", submission_id), ("run_id", run_id)) if f":{k}" in sql}
                if _EXPLAINABLE.match(sql):
                    rows = conn.execute(sa.text(EXPLAIN + sql), params).all()
                    plans.append((_statement_name(sql), "\n".join(r[0] for r in rows)))
                else:
                    conn.execute(sa.text(sql), params)
        finally:
            transaction.rollback()
    return plans


def explain_district(eng: Engine, data: dict[str, Any], district: str, work: Path, workers: int) -> dict[str, Any]:
    """Register, stage and validate one district file (its check table explained), then explain its merge."""
    from dtks.devtools.bench_data import district_file

    landing = work / "explain-landing"
    archive = work / "explain-archive"
    for folder in (landing, archive):
        shutil.rmtree(folder, ignore_errors=True)
    target = district_file(landing, district)
    target.parent.mkdir(parents=True)
    target.hardlink_to(district_file(data["landing"], district))
    rows = data["round_sizes"][district]
    with ExplainCheckTables() as checks:
        ids = run_stages(
            eng, landing, archive, "bench-explain", workers, rows, Results(rows, 1, quiet=True), until=VALIDATE
        )
    plans = checks.plans + explain_merge(eng, ids[0], "bench-explain")
    for folder in (landing, archive):
        shutil.rmtree(folder, ignore_errors=True)
    text = [f"District {district}: {rows:,} rows, registry of {data['baseline_rows']:,} persons.\n"]
    text += [f"==== {name}\n{plan}\n" for name, plan in plans]
    (work / "explain.txt").write_text("\n".join(text))
    return {
        "district": district,
        "rows": rows,
        "statements": [{"statement": name, "ms": _execution_ms(plan)} for name, plan in plans],
    }
