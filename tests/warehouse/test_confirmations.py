"""A confirmation is an event and a narrow verification row: the person's wide current row is not rewritten."""

import pytest
import sqlalchemy as sa

from tests import scenario
from tests.ingest.helpers import run_pipeline

pytestmark = pytest.mark.postgres


def _physical(conn, nik):
    """Where and by which transaction the person's current row was last written (xmin changes with every update)."""
    return conn.execute(
        sa.text("SELECT ctid::text, xmin::text FROM registry.individual_current WHERE nik = :n"), {"n": nik}
    ).one()


def test_confirmation_moves_only_the_verification(wh, dirs, tmp_path):
    scenario.prepare(wh, tmp_path)
    with wh.connect() as conn:
        before = {p.nik: _physical(conn, p.nik) for p in (scenario.a1, scenario.a2, scenario.b1, scenario.b2)}
    scenario.land_round(dirs["landing"])
    run_pipeline(wh, dirs)
    with wh.connect() as conn:
        # a1 (household moved RT only), b1 and b2 confirm themselves unchanged: the wide row stays as it was
        for p in (scenario.a1, scenario.b1, scenario.b2):
            assert _physical(conn, p.nik) == before[p.nik], p.nik
        # a2 changed: a new version, so its current row is rewritten
        assert _physical(conn, scenario.a2.nik) != before[scenario.a2.nik]
        verification = {
            nik: (on, by)
            for nik, on, by in conn.execute(
                sa.text(
                    "SELECT nik, last_verified_on::text, by_district FROM registry.individual_verification"
                    " WHERE nik IN (:a1, :a4, :b1)"
                ),
                {"a1": scenario.a1.nik, "a4": scenario.a4.nik, "b1": scenario.b1.nik},
            )
        }
        assert verification == {
            scenario.a1.nik: ("2026-08-05", True),  # confirmed by Surabaya's file
            scenario.b1.nik: ("2026-08-12", True),  # confirmed by Pacitan's file
            scenario.a4.nik: ("2023-01-10", False),
        }  # quarantined row: baseline only
        # the confirmation's record is its append-only event
        events = conn.execute(
            sa.text(
                "SELECT e.event, e.version_no, e.verified_on::text FROM registry.individual_event e"
                " JOIN audit.submission s USING (submission_id) WHERE e.nik = :n AND s.kind = 'district'"
            ),
            {"n": scenario.b1.nik},
        ).all()
        assert [tuple(e) for e in events] == [("confirmed", 1, "2026-08-12")]
        # one verification row per person, none without a current row
        assert (
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM registry.individual_current c"
                    " FULL JOIN registry.individual_verification v USING (nik) WHERE c.nik IS NULL OR v.nik IS NULL"
                )
            ).scalar()
            == 0
        )
