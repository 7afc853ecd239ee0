"""The suites in expectations/ load whole into Great Expectations, with reasons districts can read.

GX silently drops an expectation it cannot parse, so a malformed rule would
simply never run: every file's expectations are counted after loading.
"""

from __future__ import annotations

import json

import pytest

from dtks.reasons import CRITICAL_REASONS
from dtks.validation import SEVERITIES, build_gx_suite, load_suite_spec, spec_from_raw, suite_files


@pytest.mark.parametrize("path", suite_files(), ids=lambda p: p.name)
def test_every_expectation_loads_into_gx(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    spec = load_suite_spec(path)
    suite = build_gx_suite(spec)
    assert len(suite.expectations) == len(raw["expectations"]) == len(spec.rules)
    assert suite.name == raw["name"] and raw["meta"]["version"]
    for exp, rule in zip(suite.expectations, spec.rules):
        assert exp.meta["reason_code"] == rule.reason_code
        assert rule.severity in SEVERITIES
        assert rule.message_id and rule.message_en and rule.message_id != rule.message_en
        assert rule.field


def test_a_malformed_expectation_is_refused_not_dropped():
    path = suite_files()[0]
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["expectations"].append(
        {
            "type": "expect_column_values_to_be_frobnicated",
            "kwargs": {"column": "nik"},
            "meta": {"reason_code": "x", "severity": "error", "field": "nik", "message_id": "x", "message_en": "y"},
        }
    )
    with pytest.raises(ValueError):
        build_gx_suite(spec_from_raw(raw))


def test_three_severities_and_unique_reasons_across_suites():
    specs = [load_suite_spec(p) for p in suite_files()]
    assert {r.severity for s in specs for r in s.rules} == set(SEVERITIES)
    codes = [r.reason_code for s in specs for r in s.rules]
    assert len(codes) == len(set(codes))
    for s in specs:
        for r in s.rules:
            if r.severity == "critical":
                assert r.reason_code in CRITICAL_REASONS
        for code in s.raw["meta"].get("parse_reasons", []) + s.raw["meta"].get("register_reasons", []):
            assert code in CRITICAL_REASONS


def test_issue_rules_are_all_there():
    codes = {r.reason_code for p in suite_files() for r in load_suite_spec(p).rules} | set(CRITICAL_REASONS)
    assert {
        # critical
        "file_empty",
        "file_unreadable",
        "file_missing_columns",
        "file_wrong_district",
        "round_closed",
        "manifest_missing",
        "file_too_large",
        "file_too_many_rows",
        "file_archive_unsafe",
        "file_format_unsupported",
        # error
        "nik_not_16_digits",
        "nik_region_unknown",
        "nik_birth_date_invalid",
        "nik_serial_zero",
        "kk_not_16_digits",
        "kk_region_unknown",
        "kk_issue_date_invalid",
        "kk_serial_zero",
        "nik_excel_corrupted",
        "kk_excel_corrupted",
        "nik_birth_mismatch",
        "village_unknown",
        "village_other_district",
        "village_name_unknown",
        "village_name_ambiguous",
        "nik_duplicate_in_file",
        "kk_head_count",
        "nama_blank",
        "birth_date_future",
        "birth_date_invalid",
        "verification_date_future",
        "verification_before_birth",
        "sex_code_unknown",
        "relationship_code_unknown",
        "status_code_unknown",
        "pkh_flag_unknown",
        "nik_active_in_other_district",
        # warning
        "nik_region_differs_from_address",
        "household_size_jump",
    } <= codes
