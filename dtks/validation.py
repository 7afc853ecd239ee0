"""Run the Great Expectations suites over staged submissions, in the database.

A batch of staged submissions is validated in one GX run over
``include/sql/validation_batch.sql`` (a query asset on the warehouse), so the
work is a handful of set-based queries whatever the number of districts. The
failing rows come back by ``(submission_id, file_row)`` and are written as
quarantine issues with the rule's reason; per-submission, per-rule counts go
to ``audit.validation_result`` with the suite's name and version.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import EXPECTATIONS_DIR
from dtks.reasons import SubmissionRejected
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

ROW_SUITE_FILE = EXPECTATIONS_DIR / "dtks_submission_rows.json"
# A file whose rows mostly belong elsewhere was sent to the wrong folder.
WRONG_DISTRICT_SHARE = 0.5


@dataclass(frozen=True)
class Rule:
    reason_code: str
    severity: str  # 'error' quarantines the row, 'warning' flags it
    field: str
    message_id: str
    message_en: str
    detail_column: str | None
    expectation_type: str
    column: str | None


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    version: str
    rules: tuple[Rule, ...]
    raw: dict

    def rule(self, reason_code: str) -> Rule:
        return next(r for r in self.rules if r.reason_code == reason_code)


@lru_cache(maxsize=8)
def load_suite_spec(path: Path = ROW_SUITE_FILE) -> SuiteSpec:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rules = []
    for exp in raw["expectations"]:
        meta = exp["meta"]
        kwargs = exp["kwargs"]
        rules.append(Rule(
            reason_code=meta["reason_code"],
            severity=meta["severity"],
            field=meta["field"],
            message_id=meta["message_id"],
            message_en=meta["message_en"],
            detail_column=meta.get("detail_column"),
            expectation_type=exp["type"],
            column=kwargs.get("column") or kwargs.get("column_A"),
        ))
    codes = [r.reason_code for r in rules]
    if len(codes) != len(set(codes)):
        raise ValueError(f"{path.name}: reason codes must be unique")
    return SuiteSpec(raw["name"], raw["meta"]["version"], tuple(rules), raw)


def build_gx_suite(spec: SuiteSpec):
    """The GX ExpectationSuite for a spec; fails loudly if GX drops anything."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=spec.name, expectations=spec.raw["expectations"], meta=spec.raw["meta"])
    if len(suite.expectations) != len(spec.rules):
        raise ValueError(
            f"suite {spec.name}: {len(spec.rules)} expectations in the file but GX loaded {len(suite.expectations)}"
        )
    return suite


@lru_cache(maxsize=1)
def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@dataclass
class RowFailure:
    submission_id: int
    file_row: int
    rule: Rule
    detail: str | None


@dataclass
class BatchValidation:
    suite: SuiteSpec
    failures: list[RowFailure] = field(default_factory=list)
    success: bool = True


def check_district_of_rows(conn: sa.Connection, submission_id: int) -> None:
    """Critical: reject a file whose known villages mostly lie in another district."""
    row = conn.execute(sa.text(read_sql("submission_district_share.sql")), {"sid": submission_id}).one()
    if row.rows_with_known_village and row.share_elsewhere > WRONG_DISTRICT_SHARE:
        raise SubmissionRejected(
            "file_wrong_district", share=f"{row.share_elsewhere:.0%}", district=row.submitted_kabkota
        )


def _raised_exception(info: dict | None) -> str | None:
    """GX reports errors either flat or keyed by metric id; find any."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def run_row_suite(eng: Engine, submission_ids: list[int], run_id: str, spec: SuiteSpec | None = None) -> BatchValidation:
    """Run the row suite over the staged rows of ``submission_ids`` (one GX run)."""
    spec = spec or load_suite_spec()
    ids = sorted({int(s) for s in submission_ids})
    result = BatchValidation(spec)
    if not ids:
        return result
    import great_expectations as gx

    context = _gx_context()
    suite = context.suites.add_or_update(build_gx_suite(spec))
    # The facts the rules need are computed once into an unlogged table; GX
    # then runs its queries against that table instead of re-running the joins.
    table = f"check_batch_{uuid.uuid4().hex[:12]}"
    body = read_sql("validation_batch.sql").replace("{submission_ids}", ", ".join(map(str, ids)))
    with eng.begin() as conn:
        conn.execute(sa.text(f"CREATE UNLOGGED TABLE staging.{table} AS {body}"))
        conn.execute(sa.text(f"ANALYZE staging.{table}"))
        batch_rows = conn.execute(sa.text(f"SELECT count(*) FROM staging.{table}")).scalar_one()
    datasource = context.data_sources.add_or_update_sql(
        name=f"warehouse_{table}", connection_string=eng.url.render_as_string(hide_password=False))
    validation = None
    try:
        # A query asset: GX's table reflection cannot type some computed columns.
        asset = datasource.add_query_asset(name="staged_rows", query=f"SELECT * FROM staging.{table}")
        batch_definition = asset.add_batch_definition_whole_table("whole")
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"validate_{table}", data=batch_definition, suite=suite))
        outcome = validation.run(result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["submission_id", "file_row"],
            "return_unexpected_index_query": False,
            # GX truncates the failing-row list to this count; every row is needed.
            "partial_unexpected_count": max(batch_rows, 1),
        })
    finally:
        if validation is not None:
            context.validation_definitions.delete(validation.name)
        context.data_sources.delete(datasource.name)
        with eng.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS staging.{table}"))
    result.success = bool(outcome.success)
    for res in outcome.results:
        error = _raised_exception(res.exception_info)
        if error is not None:
            # A rule that could not run is a pipeline fault, never a pass.
            raise RuntimeError(f"expectation {res.expectation_config.type} could not run: {error}")
        rule = spec.rule(res.expectation_config.meta["reason_code"])
        failing = res.result.get("unexpected_index_list") or []
        if len(failing) != (res.result.get("unexpected_count") or 0):
            raise RuntimeError(f"rule {rule.reason_code}: GX returned {len(failing)} of "
                               f"{res.result.get('unexpected_count')} failing rows")
        for entry in failing:
            detail = entry.get(rule.detail_column) if rule.detail_column else None
            result.failures.append(RowFailure(int(entry["submission_id"]), int(entry["file_row"]), rule,
                                              None if detail is None else str(detail)))
    return result


def record_validation(conn: sa.Connection, submission_id: int, batch: BatchValidation, run_id: str) -> dict:
    """Write one submission's share of a batch result; return its row counts."""
    spec = batch.suite
    mine = [f for f in batch.failures if f.submission_id == submission_id]
    rows_in = conn.execute(
        sa.text("SELECT count(*) FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id}
    ).scalar_one()
    per_rule: dict[str, int] = defaultdict(int)
    for f in mine:
        per_rule[f.rule.reason_code] += 1
    conn.execute(
        sa.text(
            "INSERT INTO audit.validation_result (submission_id, suite_name, suite_version, expectation_type,"
            " reason_code, severity, column_name, element_count, unexpected_count, success, run_id)"
            " VALUES (:sid, :suite, :version, :type, :code, :severity, :column, :n, :bad, :ok, :run)"
            " ON CONFLICT (submission_id, suite_name, reason_code) DO NOTHING"
        ),
        [
            {"sid": submission_id, "suite": spec.name, "version": spec.version, "type": r.expectation_type,
             "code": r.reason_code, "severity": r.severity, "column": r.column, "n": rows_in,
             "bad": per_rule.get(r.reason_code, 0), "ok": per_rule.get(r.reason_code, 0) == 0, "run": run_id}
            for r in spec.rules
        ],
    )
    if mine:
        conn.execute(
            sa.text(read_sql("record_row_issue.sql")),
            [
                {"sid": submission_id, "row": f.file_row, "code": f.rule.reason_code, "severity": f.rule.severity,
                 "field": f.rule.field, "detail": f.detail}
                for f in mine
            ],
        )
    error_rows = {f.file_row for f in mine if f.rule.severity == "error"}
    warned_rows = {f.file_row for f in mine if f.rule.severity == "warning"} - error_rows
    return {"rows_in": rows_in, "rows_quarantined": len(error_rows), "rows_warned": len(warned_rows)}
