"""One round-id rule (dtks.rounds.ROUND_ID) for the calendar, the CLI, the audit export and the auditor pages."""

from __future__ import annotations

import pytest

from dtks import audit_export, rounds


@pytest.mark.parametrize("round_id", ["2026-01", "2026-11", "1999-12"])
def test_a_year_and_month_is_a_round_id(round_id):
    assert rounds.parse_round_id(round_id) == (int(round_id[:4]), int(round_id[5:]))
    assert rounds.default_round(round_id).validate().round_id == round_id


@pytest.mark.parametrize(
    "round_id",
    [
        "2026-13",
        "2026-00",
        "26-11",
        "2026-1",
        "2026/11",
        "",
        "\uff12\uff10\uff12\uff16-11",  # full-width digits: a digit to Python's \d, not a round id
        "\u0662\u0660\u0662\u0666-11",  # Arabic-Indic digits
    ],
)
def test_anything_else_is_refused_everywhere(round_id):
    with pytest.raises(ValueError, match="round id must look like 2026-11"):
        rounds.parse_round_id(round_id)
    # the audit export refuses it by the same rule, before it reads anything
    with pytest.raises(ValueError, match="round id must look like 2026-11"):
        audit_export.render_audit_export(None, round_id)  # type: ignore[arg-type]
