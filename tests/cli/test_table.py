"""Issue 14 item 6: `dtks table` — full district names, a legend, Indonesian labels, --format table|csv|json."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa

from dtks import metrics, rounds
from dtks.metrics import DISTRICT_COLUMNS
from tests.builders import SURABAYA
from tests.ingest.helpers import ROUND, csv_bytes, family, land_bytes, rows_of, run_pipeline, villages

SIAU = "7109"  # Kabupaten Kepulauan Siau Tagulandang Biaro (Sulawesi Utara): a name longer than 28 characters


def _round_with_metrics(wh, dirs) -> dict[str, str]:
    rounds.create_round(wh, rounds.default_round(ROUND), provinces=["35", "71"])
    sby = villages(wh, SURABAYA, 1)
    land_bytes(dirs["landing"], SURABAYA, "surabaya.csv", csv_bytes(rows_of(family(sby[0], 1, 1, 3))))
    run_pipeline(wh, dirs)
    metrics.compute_round_metrics(wh, ROUND)
    with wh.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT k.code, k.name FROM audit.round_expected_district e JOIN ref.kabkota k ON k.code = e.kabkota_code"
                    " WHERE e.round_id = :r"
                ),
                {"r": ROUND},
            ).all()
        )


def test_table_full_names_legend_and_labels(run_cli, wh, dirs):
    names = _round_with_metrics(wh, dirs)
    assert len(names[SIAU]) > 28
    result = run_cli("table", ROUND, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for code, name in names.items():  # every expected district, its full name on its own line
        (row,) = [ln for ln in lines if ln.strip().startswith(code + " ")]
        assert name in row, row
    (sby_row,) = [ln for ln in lines if ln.strip().startswith(SURABAYA + " ")]
    (siau_row,) = [ln for ln in lines if ln.strip().startswith(SIAU + " ")]
    assert "≥ 50%" in sby_row and "Ya" in sby_row  # 3 of 3 records updated since the baseline
    assert "Belum pernah" in siau_row and "Tidak" in siau_row
    legend = lines[lines.index("Keterangan / legend:") + 1 :]
    for heading in (
        "Jeda (hari):",
        "Cakupan 12 bln:",
        "Cakupan 24 bln:",
        "Umur (hari):",
        "Terima baris:",
        "Telat (hari):",
        "Indeks:",
        "Kelas:",
    ):
        assert any(ln.strip().startswith(heading) for ln in legend), heading
    table_part = "\n".join(lines[: lines.index("Keterangan / legend:")])
    for code in ("50_plus", "under_50", "never", "cak12", "umur "):  # codes only in the legend
        assert code not in table_part, code


def test_table_csv_and_json(run_cli, wh, dirs):
    names = _round_with_metrics(wh, dirs)
    as_csv = run_cli("table", ROUND, "--format", "csv", timeout=120)
    assert as_csv.returncode == 0, as_csv.stderr
    reader = csv.DictReader(io.StringIO(as_csv.stdout))
    assert tuple(reader.fieldnames) == DISTRICT_COLUMNS
    rows = {r["kabkota_code"]: r for r in reader}
    assert set(rows) == set(names)
    assert rows[SURABAYA]["update_class"] == "50_plus" and rows[SURABAYA]["accepted"] == "true"
    assert rows[SIAU]["kabkota_name"] == names[SIAU] and rows[SIAU]["update_class"] == "never"

    as_json = run_cli("table", ROUND, "--format", "json", timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    doc = {d["kabkota_code"]: d for d in json.loads(as_json.stdout)}
    assert set(doc) == set(names)
    assert doc[SURABAYA]["accepted"] is True and doc[SURABAYA]["rows_accepted"] == 3
    assert doc[SURABAYA]["acceptance_rate"] == 1.0 and doc[SIAU]["update_class"] == "never"


def test_table_of_a_round_not_closed_and_a_wrong_format(run_cli, wh):
    rounds.create_round(wh, rounds.default_round(ROUND), provinces=["35"])
    result = run_cli("table", ROUND, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"dtks: error: round {ROUND} has no district metrics yet (close it first: `dtks close-round {ROUND}`)"
    ]
    wrong = run_cli("table", ROUND, "--format", "xml", timeout=60)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
