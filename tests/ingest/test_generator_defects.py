"""The generator's injected defects are exactly the defects reported back to districts, row by row.

The synthetic data set (small, three monthly rounds) goes through the real
functions round by round — baseline, then each round's files delivered with
their arrival times, registered, staged, validated by the GX suites in
PostgreSQL, merged — and the feedback files written for the districts are
compared with the generator's answer key (``expected_defects.csv``):

* every injected (file, row, reason) is reported for that row;
* no row without an injected defect is reported as an error;
* every whole-file defect is a whole-file rejection with that reason, and no
  other file is rejected.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import merging, rounds
from dtks.devtools.defects import DEFECT_REASONS
from dtks.devtools.generate import DEMO_ROUNDS, generate
from dtks.feedback import feedback_paths
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

PROVINCES = ("31", "52")  # DKI Jakarta and NTB: 16 districts; seed 4 gives every defect kind and format
BASELINE_AT = datetime(2026, 7, 31, 17, 0, tzinfo=UTC)


def _deliver(generated_landing: Path, round_id: str, landing: Path) -> None:
    for path in sorted((generated_landing / round_id).rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(generated_landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


@pytest.fixture(scope="module")
def demo(module_wh, module_dirs, tmp_path_factory):
    eng = module_wh
    out = tmp_path_factory.mktemp("generated")
    generate(out, seed=4, provinces=PROVINCES, households_per_district=4, defect_rate=0.08)
    for round_id in DEMO_ROUNDS:
        rounds.create_round(eng, rounds.default_round(round_id), provinces=list(PROVINCES))
    merging.load_baseline(eng, out / "baseline" / "registry.csv", "baseline", BASELINE_AT)
    for round_id in DEMO_ROUNDS:
        _deliver(out / "landing", round_id, module_dirs["landing"])
        h.run_pipeline(eng, module_dirs, f"run-{round_id}")
    with open(out / "expected_defects.csv", newline="", encoding="utf-8") as f:
        expected = {
            (r["round_id"], r["kabkota_code"], r["file"], int(r["file_row"]), r["reason_code"])
            for r in csv.DictReader(f)
        }
    with eng.connect() as conn:
        subs = (
            conn.execute(
                sa.text(
                    "SELECT submission_id, coalesce(landed_round_id, round_id) AS landed, round_id, kabkota_code,"
                    " file_name, status FROM audit.submission WHERE kind = 'district'"
                )
            )
            .mappings()
            .all()
        )
    reported: set[tuple] = set()
    for s in subs:
        path = feedback_paths(
            module_dirs["outbox"], s["round_id"] or s["landed"], s["kabkota_code"], s["submission_id"]
        )["csv"]
        for line in h.feedback_lines(path):
            if line["severity"] in ("error", "critical"):
                row = int(line["file_row"]) if line["file_row"] else 0
                reported.add((s["landed"], s["kabkota_code"], s["file_name"], row, line["reason_code"]))
    with eng.connect() as conn:
        # the same bytes sent again (e.g. two districts' empty files): feedback_duplicate_<id>
        duplicates = conn.execute(
            sa.text(
                "SELECT d.duplicate_id, d.round_folder, d.kabkota_folder, d.file_name, s.status"
                " FROM audit.duplicate_upload d JOIN audit.submission s ON s.submission_id = d.duplicate_of"
            )
        ).all()
    for d in duplicates:
        path = feedback_paths(module_dirs["outbox"], d.round_folder, d.kabkota_folder, f"duplicate_{d.duplicate_id}")[
            "csv"
        ]
        for line in h.feedback_lines(path):
            reported.add((d.round_folder, d.kabkota_folder, d.file_name, 0, line["reason_code"]))
    return {"expected": expected, "reported": reported, "subs": subs, "duplicates": duplicates}


def test_the_data_set_exercises_every_defect_kind(demo):
    assert {e[4] for e in demo["expected"]} == set(DEFECT_REASONS)


def test_every_injected_defect_is_reported_for_its_row(demo):
    missing = sorted(demo["expected"] - demo["reported"])
    assert missing == []


def test_no_row_without_an_injected_defect_is_reported(demo):
    defective_rows = {e[:4] for e in demo["expected"]}
    extra = sorted(r for r in demo["reported"] if r[:4] not in defective_rows)
    assert extra == []


def test_file_rejections_are_exactly_the_injected_file_defects(demo):
    rejected = {(s["landed"], s["kabkota_code"], s["file_name"]) for s in demo["subs"] if s["status"] == "rejected"}
    rejected |= {(d.round_folder, d.kabkota_folder, d.file_name) for d in demo["duplicates"] if d.status == "rejected"}
    assert rejected == {e[:3] for e in demo["expected"] if e[3] == 0}
    assert Counter(s["status"] for s in demo["subs"])["merged"] > 0


def test_the_districts_formats_went_through_the_pipeline(demo, module_wh):
    with module_wh.connect() as conn:
        formats = set(
            conn.execute(
                sa.text(
                    "SELECT DISTINCT detail->>'format' || '/' || coalesce(detail->>'encoding', '-')"
                    " FROM audit.submission_event WHERE event = 'staged'"
                )
            ).scalars()
        )
    # comma UTF-8, semicolon with a BOM, XLSX with a title row (the pipe files are plain ASCII: read as UTF-8)
    assert {"csv/utf-8", "csv/utf-8-sig", "xlsx/-"} <= formats
