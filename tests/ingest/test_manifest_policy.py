"""Process evidence (musdes minutes, the district head's sign-off) when the policy requires it.

``DTKS_REQUIRE_MANIFEST=1``: a submission without its manifest, or whose
manifest lacks the minutes reference, the sign-off number or a plausible
sign-off date, is rejected whole (critical rule ``manifest_missing``).
"""

from __future__ import annotations

import pytest

from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

CASES = {  # district -> (manifest, expected reason, words in the detail)
    "3501": (None, "manifest_missing", ["musdes_ref", "pengesahan_no", "pengesahan_date"]),
    "3502": ({"musdes_ref": "BA/1", "pengesahan_date": "2026-08-08"}, "manifest_missing", ["pengesahan_no"]),
    "3503": (
        {"musdes_ref": " ", "pengesahan_no": "400/1", "pengesahan_date": "08-08-2026"},
        "manifest_missing",
        ["musdes_ref"],
    ),
    "3504": (
        {"musdes_ref": "BA/1", "pengesahan_no": "400/1", "pengesahan_date": "2026-08-30"},
        "manifest_missing",
        ["pengesahan_date"],
    ),  # signed after the file was sent
    "3505": ("{not json", "manifest_missing", ["manifest"]),
    "3506": ("good", None, []),
}


def test_manifest_policy(wh, dirs, monkeypatch):
    monkeypatch.setenv("DTKS_REQUIRE_MANIFEST", "1")
    h.create_round(wh)
    for district, (manifest, _, _) in CASES.items():
        data = h.csv_bytes(h.rows_of(h.family(h.villages(wh, district, 1)[0], 1, 1, 2)))
        path = h.land_bytes(
            dirs["landing"],
            district,
            f"dtks_{district}.csv",
            data,
            manifest=h.good_manifest(district)
            if manifest == "good"
            else manifest
            if isinstance(manifest, dict)
            else None,
        )
        if isinstance(manifest, str) and manifest != "good":
            path.with_name(path.stem + ".manifest.json").write_text(manifest, encoding="utf-8")
    h.run_pipeline(wh, dirs)
    found = {o.kabkota_code: o for o in h.outcomes(wh).values()}
    for district, (_, reason, words) in CASES.items():
        outcome = found[district]
        if reason is None:
            assert outcome.status == "merged" and outcome.rows_accepted == 2
            continue
        assert (outcome.status, outcome.reject_reason) == ("rejected", reason), district
        for word in words:
            assert word in outcome.reject_detail, (district, outcome.reject_detail)
    # the manifests were archived beside their files
    assert len(list(dirs["archive"].rglob("*.manifest.json"))) == 5
