"""Run the Great Expectations suites over staged submissions, in the database.

Two suites, both versioned JSON in ``expectations/``:

* ``dtks_submission_file`` (severity *critical*): one row per submission
  (``include/sql/validation_file_batch.sql``): rows that mostly belong to
  another district, missing process evidence when the manifest policy is on.
  A failure rejects the whole submission. What the parser cannot read at all
  (empty, unreadable, unmappable, too large, unsafe …) is rejected before
  this suite and recorded under its name too.
* ``dtks_submission_rows`` (severities *error* and *warning*): one row per
  staged row (``include/sql/validation_batch.sql``). Error rows are
  quarantined with every reason that applies; warnings are recorded and the
  row accepted.

A batch of staged submissions is validated in one GX run per suite over a
query asset on the warehouse, so the work is a handful of set-based queries
whatever the number of districts. The failing rows come back by
``(submission_id, file_row)``; per-submission, per-rule counts go to
``audit.validation_result`` with the suite's name and version, and the exact
JSON of each suite version to ``audit.suite_definition``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import EXPECTATIONS_DIR, settings
from dtks.reasons import CRITICAL_REASONS, SubmissionRejected
from dtks.warehouse import read_sql

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

log = logging.getLogger(__name__)

ROW_SUITE_FILE = EXPECTATIONS_DIR / "dtks_submission_rows.json"
FILE_SUITE_FILE = EXPECTATIONS_DIR / "dtks_submission_file.json"
SEVERITIES = ("critical", "error", "warning")
# Kept for callers that read it: a file whose rows mostly belong elsewhere was sent to
# the wrong folder (the rule itself is in expectations/dtks_submission_file.json).
WRONG_DISTRICT_SHARE = 0.5


@dataclass(frozen=True)
class Rule:
    reason_code: str
    severity: str  # 'critical' rejects the file, 'error' quarantines the row, 'warning' flags it
    field: str
    message_id: str
    message_en: str
    detail_column: str | None
    expectation_type: str
    column: str | None

    def messages(self, detail: str | None) -> tuple[str, str]:
        """(Bahasa Indonesia, English) for a failure; {value} is the rule's detail."""
        value = "" if detail is None else str(detail)
        return self.message_id.replace("{value}", value), self.message_en.replace("{value}", value)


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    version: str
    rules: tuple[Rule, ...]
    raw: dict[str, Any]  # the suite file as declared (JSON)
    sha256: str

    def rule(self, reason_code: str) -> Rule:
        return next(r for r in self.rules if r.reason_code == reason_code)

    def find(self, reason_code: str) -> Rule | None:
        return next((r for r in self.rules if r.reason_code == reason_code), None)


def suite_files() -> list[Path]:
    return sorted(EXPECTATIONS_DIR.glob("*.json"))


def spec_from_raw(raw: dict[str, Any], origin: str = "suite") -> SuiteSpec:
    rules = []
    for exp in raw["expectations"]:
        meta = exp["meta"]
        kwargs = exp["kwargs"]
        severity = meta["severity"]
        if severity not in SEVERITIES:
            raise ValueError(f"{origin}: {meta.get('reason_code')}: unknown severity {severity!r}")
        if severity == "critical":
            reason = CRITICAL_REASONS[meta["reason_code"]]  # messages live with the critical reasons
            message_id, message_en = (
                meta.get("message_id", reason.message_id),
                meta.get("message_en", reason.message_en),
            )
        else:
            message_id, message_en = meta["message_id"], meta["message_en"]
        rules.append(
            Rule(
                reason_code=meta["reason_code"],
                severity=severity,
                field=meta["field"],
                message_id=message_id,
                message_en=message_en,
                detail_column=meta.get("detail_column"),
                expectation_type=exp["type"],
                column=kwargs.get("column") or kwargs.get("column_A"),
            )
        )
    codes = [r.reason_code for r in rules]
    if len(codes) != len(set(codes)):
        raise ValueError(f"{origin}: reason codes must be unique")
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return SuiteSpec(
        raw["name"], raw["meta"]["version"], tuple(rules), raw, hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    )


@lru_cache(maxsize=8)
def load_suite_spec(path: Path = ROW_SUITE_FILE) -> SuiteSpec:
    return spec_from_raw(json.loads(path.read_text(encoding="utf-8")), path.name)


def build_gx_suite(spec: SuiteSpec, only: set[str] | None = None) -> ExpectationSuite:
    """The GX ExpectationSuite for a spec (or for the rules in ``only``); fails loudly if GX drops anything."""
    import great_expectations as gx

    expectations = [e for e in spec.raw["expectations"] if only is None or e["meta"]["reason_code"] in only]
    name = spec.name if only is None else f"{spec.name}__failed_rules"
    suite = gx.ExpectationSuite(name=name, expectations=expectations, meta=spec.raw["meta"])
    if len(suite.expectations) != len(expectations):
        raise ValueError(
            f"suite {spec.name}: {len(expectations)} expectations in the file but GX loaded {len(suite.expectations)}"
        )
    return suite


def require_manifest() -> bool:
    """Policy: must a submission carry its process evidence (DTKS_REQUIRE_MANIFEST=1)?"""
    return settings().require_manifest


@lru_cache(maxsize=1)
def _gx_context() -> AbstractDataContext:
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
    _by_submission: dict[int, list[RowFailure]] | None = field(default=None, repr=False)

    def failures_of(self, submission_id: int) -> list[RowFailure]:
        """One submission's failures (grouped once, not rescanned per submission)."""
        if self._by_submission is None:
            grouped: dict[int, list[RowFailure]] = defaultdict(list)
            for f in self.failures:
                grouped[f.submission_id].append(f)
            self._by_submission = dict(grouped)
        return self._by_submission.get(submission_id, [])


def _config(res: ExpectationValidationResult) -> ExpectationConfiguration:
    """The expectation a result answers (GX gives it with every result of a suite run)."""
    if res.expectation_config is None:
        raise RuntimeError("GX returned a validation result without its expectation")
    return res.expectation_config


def _raised_exception(info: dict[str, Any] | None) -> str | None:
    """GX reports errors either flat or keyed by metric id; find any."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _run_suite(
    eng: Engine,
    spec: SuiteSpec,
    sql_name: str,
    ids: list[int],
    index_columns: list[str],
    params: dict[str, Any] | None = None,
) -> tuple[bool, list[tuple[Rule, dict[str, Any]]]]:
    """GX runs of ``spec`` over the batch table built by ``sql_name``; (success, failing entries).

    Two passes over the same batch: every rule with result format
    BOOLEAN_ONLY (GX bundles the counts of all rules into a few aggregate
    queries), then only the rules that failed with result format COMPLETE
    (the failing rows of each). Asking every rule for its failing rows cost a
    few full scans of the batch per rule even when nothing failed.
    """
    context = _gx_context()
    # The facts the rules need are computed once into an unlogged table; GX
    # then runs its queries against that table instead of re-running the joins.
    table = f"check_batch_{uuid.uuid4().hex[:12]}"
    body = read_sql(sql_name)
    started = time.perf_counter()
    with eng.begin() as conn:
        # Sorts and hashes over a national batch stay in memory; the registry is read by index.
        # The reference tables are small: hashed, never sorted against the batch (the planner's
        # merge joins sorted every row of the batch three times). Batches already run in
        # parallel as tasks: no parallel workers within one (each re-built the same hashes).
        conn.execute(
            sa.text(
                "SET LOCAL work_mem = '128MB'; SET LOCAL random_page_cost = 1.1;"
                " SET LOCAL enable_mergejoin = off; SET LOCAL enable_memoize = off;"
                " SET LOCAL max_parallel_workers_per_gather = 0"
            )
        )
        # (the rows written, from the statement's own count: one scan of the table fewer)
        batch_rows = conn.execute(
            sa.text(f"CREATE UNLOGGED TABLE staging.{table} AS {body}"), {"ids": ids, **(params or {})}
        ).rowcount
        conn.execute(sa.text(f"ANALYZE staging.{table}"))
    built = time.perf_counter()
    datasource = context.data_sources.add_or_update_sql(
        name=f"warehouse_{table}", connection_string=eng.url.render_as_string(hide_password=False)
    )

    def run(
        gx_suite: ExpectationSuite, result_format: Literal["BOOLEAN_ONLY"] | dict[str, Any]
    ) -> ExpectationSuiteValidationResult:
        # Batch.validate: the result comes back to us (it is recorded in audit.*), not
        # serialised into GX's own results store, which took longer than the queries.
        outcome = batch.validate(gx_suite, result_format=result_format)
        for res in outcome.results:
            error = _raised_exception(res.exception_info)
            if error is not None:
                # A rule that could not run is a pipeline fault, never a pass.
                raise RuntimeError(f"expectation {_config(res).type} could not run: {error}")
        return outcome

    try:
        # A table asset: GX reflects the check table's columns (every one has a type
        # SQLAlchemy knows) instead of running a query asset's SELECT * again and again.
        asset = datasource.add_table_asset(name="staged_rows", table_name=table, schema_name="staging")
        batch = asset.add_batch_definition_whole_table("whole").get_batch()
        verdict = run(build_gx_suite(spec), "BOOLEAN_ONLY")
        failed = {_config(res).meta["reason_code"] for res in verdict.results if not res.success}
        detail = None
        if failed:
            detail = run(
                build_gx_suite(spec, only=failed),
                {
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": index_columns,
                    "return_unexpected_index_query": False,
                    # GX truncates the failing-row list to this count; every row is needed.
                    "partial_unexpected_count": max(batch_rows, 1),
                },
            )
    finally:
        context.data_sources.delete(datasource.name)
        with eng.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS staging.{table}"))
    log.info(
        "suite %s over %s rows: check table %.1f s, GX %.1f s (%d of %d rules failed)",
        spec.name,
        batch_rows,
        built - started,
        time.perf_counter() - built,
        len(failed),
        len(spec.rules),
    )
    failing: list[tuple[Rule, dict[str, Any]]] = []
    for res in detail.results if detail is not None else []:
        rule = spec.rule(_config(res).meta["reason_code"])
        entries = res.result.get("unexpected_index_list") or []
        if res.success or len(entries) != (res.result.get("unexpected_count") or 0):
            raise RuntimeError(
                f"rule {rule.reason_code}: GX returned {len(entries)} of "
                f"{res.result.get('unexpected_count')} failing rows"
            )
        failing.extend((rule, entry) for entry in entries)
    return bool(verdict.success), failing


def run_file_suite(
    eng: Engine, submission_ids: list[int], spec: SuiteSpec | None = None
) -> dict[int, list[SubmissionRejected]]:
    """The critical suite over staged submissions: {submission_id: reasons to reject it (may be empty)}."""
    spec = spec or load_suite_spec(FILE_SUITE_FILE)
    ids = sorted({int(s) for s in submission_ids})
    found: dict[int, list[SubmissionRejected]] = {sid: [] for sid in ids}
    if not ids:
        return found
    _, failing = _run_suite(
        eng,
        spec,
        "validation_file_batch.sql",
        ids,
        ["submission_id", "submitted_kabkota"],
        {"require_manifest": 1 if require_manifest() else 0},
    )
    for rule, entry in failing:
        sid = int(entry["submission_id"])
        if rule.reason_code == "file_wrong_district":
            why = SubmissionRejected(
                rule.reason_code,
                share=f"{float(entry['share_elsewhere']):.0%}",
                district=entry.get("submitted_kabkota"),
            )
        elif rule.reason_code == "manifest_missing":
            why = SubmissionRejected(rule.reason_code, missing=entry.get("manifest_missing"))
        else:  # a critical rule added to the suite later: its reason text takes no details
            why = SubmissionRejected(rule.reason_code)
        found[sid].append(why)
    return found


def run_row_suite(
    eng: Engine, submission_ids: list[int], run_id: str, spec: SuiteSpec | None = None
) -> BatchValidation:
    """Run the row suite over the staged rows of ``submission_ids`` (one GX run)."""
    spec = spec or load_suite_spec()
    ids = sorted({int(s) for s in submission_ids})
    result = BatchValidation(spec)
    if not ids:
        return result
    result.success, failing = _run_suite(eng, spec, "validation_batch.sql", ids, ["submission_id", "file_row"])
    for rule, entry in failing:
        detail = entry.get(rule.detail_column) if rule.detail_column else None
        result.failures.append(
            RowFailure(
                int(entry["submission_id"]), int(entry["file_row"]), rule, None if detail is None else str(detail)
            )
        )
    return result


# ----------------------------------------------------------------- recording
def record_suite_definition(conn: sa.Connection, spec: SuiteSpec) -> None:
    """Keep the exact JSON of the suite version that runs; refuse an edit without a new version."""
    conn.execute(
        sa.text(
            "INSERT INTO audit.suite_definition (suite_name, suite_version, sha256, definition)"
            " VALUES (:n, :v, :h, CAST(:d AS jsonb)) ON CONFLICT (suite_name, suite_version) DO NOTHING"
        ),
        {"n": spec.name, "v": spec.version, "h": spec.sha256, "d": json.dumps(spec.raw, ensure_ascii=False)},
    )
    stored = conn.execute(
        sa.text("SELECT sha256 FROM audit.suite_definition WHERE suite_name = :n AND suite_version = :v"),
        {"n": spec.name, "v": spec.version},
    ).scalar_one()
    if stored != spec.sha256:
        raise RuntimeError(
            f"suite {spec.name} {spec.version} differs from the definition that ran under the same "
            "version: bump meta.version in the suite file"
        )


def stored_suite_spec(conn: sa.Connection, name: str, version: str | None) -> SuiteSpec | None:
    """The suite as it was when a submission was validated (None if never recorded)."""
    if not version:
        return None
    raw = conn.execute(
        sa.text("SELECT definition FROM audit.suite_definition WHERE suite_name = :n AND suite_version = :v"),
        {"n": name, "v": version},
    ).scalar()
    return spec_from_raw(raw, f"{name} {version}") if raw else None


def record_file_checks(
    conn: sa.Connection, submission_id: int, spec: SuiteSpec, failed: list[SubmissionRejected], run_id: str
) -> None:
    """One audit.validation_result row per critical rule for a submission."""
    bad = {why.code for why in failed}
    conn.execute(
        sa.text(
            "INSERT INTO audit.validation_result (submission_id, suite_name, suite_version, expectation_type,"
            " reason_code, severity, column_name, element_count, unexpected_count, success, run_id)"
            " VALUES (:sid, :suite, :version, :type, :code, 'critical', :column, 1, :bad, :ok, :run)"
            " ON CONFLICT (submission_id, suite_name, reason_code) DO NOTHING"
        ),
        [
            {
                "sid": submission_id,
                "suite": spec.name,
                "version": spec.version,
                "type": r.expectation_type,
                "code": r.reason_code,
                "column": r.column,
                "bad": int(r.reason_code in bad),
                "ok": r.reason_code not in bad,
                "run": run_id,
            }
            for r in spec.rules
        ],
    )


def record_validation(conn: sa.Connection, submission_id: int, batch: BatchValidation, run_id: str) -> dict[str, Any]:
    """Write one submission's share of a batch result; return its row counts."""
    spec = batch.suite
    mine = batch.failures_of(submission_id)
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
            {
                "sid": submission_id,
                "suite": spec.name,
                "version": spec.version,
                "type": r.expectation_type,
                "code": r.reason_code,
                "severity": r.severity,
                "column": r.column,
                "n": rows_in,
                "bad": per_rule.get(r.reason_code, 0),
                "ok": per_rule.get(r.reason_code, 0) == 0,
                "run": run_id,
            }
            for r in spec.rules
        ],
    )
    if mine:
        conn.execute(
            sa.text(read_sql("record_row_issue.sql")),
            {
                "sid": submission_id,
                "rows": [f.file_row for f in mine],
                "codes": [f.rule.reason_code for f in mine],
                "severities": [f.rule.severity for f in mine],
                "fields": [f.rule.field for f in mine],
                "details": [f.detail for f in mine],
            },
        )
    error_rows = {f.file_row for f in mine if f.rule.severity == "error"}
    warned_rows = {f.file_row for f in mine if f.rule.severity == "warning"} - error_rows
    return {"rows_in": rows_in, "rows_quarantined": len(error_rows), "rows_warned": len(warned_rows)}
