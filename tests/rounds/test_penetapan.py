"""The penetapan snapshot: the registry as each round determined it, frozen, and reproducible later
from history (tests/rounds/multi_round.py; counts worked out by hand)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from dtks import metrics
from tests.builders import WIB, land
from tests.rounds import multi_round as s

pytestmark = pytest.mark.postgres

COUNTS = ("active_individuals", "inactive_individuals", "households", "pkh", "bpnt", "pbi")


@pytest.fixture
def determined(wh, dirs, tmp_path):
    """Rounds closed as they happen, each freezing its penetapan snapshot."""
    s.prepare(wh, tmp_path)
    for batch in s.ROUNDS:
        s.land_batch(dirs["landing"], batch)
        s.ingest_landing(wh, dirs["landing"], dirs["archive"])
        assert metrics.freeze_penetapan(wh, batch, f"close-{batch}") == 1
    return wh


def counts(snapshot):
    return {d["kabkota_code"]: tuple(d[k] for k in COUNTS) for d in snapshot["districts"]}


def test_counts_frozen_with_each_round(determined):
    r1, r2, r3 = (metrics.penetapan(determined, r) for r in s.ROUNDS)
    # 2026-08: everyone as in the baseline (confirmations make no new version). A has KKs A1 and A2.
    assert counts(r1) == {
        s.A: (3, 0, 2, 0, 0, 0),
        s.B: (2, 0, 1, 0, 0, 0),
        s.C: (1, 0, 1, 0, 0, 0),
        s.D: (2, 0, 1, 0, 0, 0),
    }
    assert (r1["active_individuals"], r1["households"], r1["taken_by_run"]) == (8, 5, "close-2026-08")
    assert r1["as_of"] == datetime(2026, 8, 18, tzinfo=WIB)  # the round's close
    # 2026-09: a2 receives PBI (version 2), a3 died (version 2, inactive): KK A2 has no active member left.
    assert counts(r2)[s.A] == (2, 1, 1, 0, 0, 1)
    assert (r2["active_individuals"], r2["households"]) == (7, 4)
    # 2026-10: only confirmations: the same registry; D is counted (its records are in the registry)
    # although it left the round's expected set.
    assert counts(r3) == counts(r2) and r3["registry_hash"] == r2["registry_hash"] != r1["registry_hash"]


def test_reproduced_exactly_from_history_later(determined):
    for r in s.ROUNDS:
        assert metrics.verify_penetapan(determined, r) == []
    as_r1 = {
        (p["nik"], p["version_no"], p["active"], p["pbi"]) for p in metrics.registry_as_determined(determined, s.R1)
    }
    as_r2 = {
        (p["nik"], p["version_no"], p["active"], p["pbi"]) for p in metrics.registry_as_determined(determined, s.R2)
    }
    everyone_v1 = {(p.nik, 1, True, False) for p in s.BASELINE}
    assert as_r1 == everyone_v1
    assert as_r2 == (
        everyone_v1 - {(s.a2.nik, 1, True, False), (s.a3.nik, 1, True, False)}
        | {(s.a2.nik, 2, True, True), (s.a3.nik, 2, False, False)}
    )
    assert [p["nik"] for p in metrics.registry_as_determined(determined, s.R1, s.A)] == sorted(
        [s.a1.nik, s.a2.nik, s.a3.nik]
    )


def test_frozen_never_rewritten(determined, dirs):
    assert metrics.freeze_penetapan(determined, s.R1, "close-again") == 1  # same history: nothing new
    with determined.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        conn.execute(sa.text("UPDATE metrics.penetapan_district SET pkh = 99"))
    # A file that arrived in time for 2026-08 (16 Aug) but is registered only now (e.g. after an outage):
    # c1 now receives PKH. History as of the close changed, so 2026-08 no longer reproduces its snapshot...
    land(
        dirs["landing"],
        s.R1,
        s.C,
        "c_2026-08_stuck.csv",
        [s.c1.but(tanggal_verifikasi="2026-08-15", pkh="1")],
        datetime(2026, 8, 16, 10, tzinfo=WIB),
    )
    s.ingest_landing(determined, dirs["landing"], dirs["archive"])
    assert metrics.verify_penetapan(determined, s.R1) == [f"{s.C}: pkh, registry_hash differ (snapshot 1 vs history)"]
    # ... and closing it again records a second determination next to the first, which stays.
    assert metrics.freeze_penetapan(determined, s.R1, "close-after-outage") == 2
    assert counts(metrics.penetapan(determined, s.R1, 1))[s.C] == (1, 0, 1, 0, 0, 0)
    assert counts(metrics.penetapan(determined, s.R1))[s.C] == (1, 0, 1, 1, 0, 0)
    assert metrics.verify_penetapan(determined, s.R1) == []
