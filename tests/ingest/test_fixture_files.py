"""Static fixture files (tests/fixtures/) through the real path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_fixture_files(wh, dirs):
    h.create_round(wh)
    h.land_bytes(
        dirs["landing"], "3501", "siksng_pacitan_cp1252.csv", (FIXTURES / "siksng_pacitan_cp1252.csv").read_bytes()
    )
    h.land_bytes(
        dirs["landing"], "5301", "nama_wilayah_kupang.csv", (FIXTURES / "nama_wilayah_kupang.csv").read_bytes()
    )
    h.run_pipeline(wh, dirs)
    found = h.outcomes(wh)
    siks = found["siksng_pacitan_cp1252.csv"]
    assert (siks.status, siks.rows_in, siks.rows_accepted) == ("merged", 3, 2)
    assert siks.errors == {3: {"nama_invalid"}}
    stored = h.registry(wh, "3501014211830022")
    assert (stored["nama"], stored["jenis_kelamin"], stored["kode_desa"], str(stored["tanggal_lahir"])) == (
        "SRI RÉJEKI",
        "P",
        "3501012001",
        "1983-11-02",
    )
    feedback_csv = next(dirs["outbox"].rglob(f"feedback_{siks.submission_id}.csv")).read_text(encoding="utf-8-sig")
    # line 5 (title, header, 2 rows) as the spreadsheet numbers it, data row 3, the value neutralised
    line = next(x for x in feedback_csv.splitlines() if "nama_invalid" in x)
    assert line.startswith("5,baris ditolak / row not accepted,nama,'=1+2,nama_invalid,") and line.endswith(",3")
    names = found["nama_wilayah_kupang.csv"]
    assert names.status == "merged" and names.errors == {2: {"village_name_ambiguous"}}
    assert h.registry(wh, "5301061501700031")["kode_desa"] == "5301061001"
