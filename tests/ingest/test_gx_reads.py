"""Great Expectations decides from a few aggregate queries: how often each pass reads the check table.

The row suite runs in two passes over a batch's check table: every rule with
result format BOOLEAN_ONLY, then only the failed rules with COMPLETE (their
failing rows). The statements the database receives (from every SQLAlchemy
engine, GX's own included) are counted per pass. GX bundles the counts of
all column rules that share a domain (the whole table, or one row_condition)
into one aggregate query, plus that domain's row count; a column-pair rule
costs its own two queries. So the first pass reads the table
2 × (domains + pair rules) times, far fewer than once per rule.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from great_expectations.datasource.fluent.interfaces import Batch

from dtks import ingest
from dtks.validation import load_suite_spec
from tests import scenario

pytestmark = pytest.mark.postgres

CHECK_TABLE = re.compile(r"\bcheck_batch_[0-9a-f]{12}\b")


def test_each_pass_reads_the_check_table_per_domain_not_per_rule(wh, dirs, monkeypatch):
    scenario.prepare(wh, dirs["archive"])
    scenario.land_round(dirs["landing"])
    staged = ingest.process_landed(wh, dirs["landing"], "run", archive_dir=dirs["archive"], until="stage")

    reads: Counter = Counter()
    running = {"pass": None}
    original = Batch.validate

    def validate(self, expect, *args, result_format="SUMMARY", **kwargs):
        fmt = result_format if isinstance(result_format, str) else result_format["result_format"]
        running["pass"] = (expect.name, fmt)
        try:
            return original(self, expect, *args, result_format=result_format, **kwargs)
        finally:
            running["pass"] = None

    def seen(conn, cursor, statement, parameters, context, executemany):
        if running["pass"] and CHECK_TABLE.search(statement) and statement.lstrip().upper().startswith("SELECT"):
            reads[running["pass"]] += 1

    monkeypatch.setattr(Batch, "validate", validate)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        outcome = ingest.validate(wh, staged.submissions, "run")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert {v["status"] for v in outcome.values()} == {"validated"}

    spec = load_suite_spec()
    expectations = spec.raw["expectations"]
    pairs = [e for e in expectations if e["type"].startswith("expect_column_pair_")]
    domains = {json.dumps(e["kwargs"].get("row_condition"), sort_keys=True) for e in expectations if e not in pairs}
    first = reads[(spec.name, "BOOLEAN_ONLY")]
    assert first == 2 * (len(domains) + len(pairs)) < len(spec.rules)
    # the scenario's failing rows: only the failed rules are asked for their rows (a row count,
    # then per failed rule its rows, its values and its count)
    with wh.connect() as conn:
        failed = conn.execute(
            sa.text(
                "SELECT count(DISTINCT reason_code) FROM audit.validation_result WHERE suite_name = :s AND NOT success"
            ),
            {"s": spec.name},
        ).scalar_one()
    assert failed >= 1
    assert reads[(f"{spec.name}__failed_rules", "COMPLETE")] == 1 + 3 * failed
