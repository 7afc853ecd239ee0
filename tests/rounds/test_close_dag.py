"""dtks_close_round through Airflow (dag.test): scheduled by the round calendar, re-run and backfilled.

Rounds are closed as the scheduler would close them: at each round's close
run from the DAG's own timetable, with no round id, the DAG resolving the
round from the run's data interval. Then the metrics are thrown away and a
backfill of all three past rounds must give the very same figures.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dtks import close_schedule, closing, metrics
from tests.rounds import multi_round as s

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

TABLES = {
    "metrics.district_round": "round_id, kabkota_code",
    "metrics.province_round": "round_id, province_code",
    "metrics.national_round": "round_id",
}


def _tables(eng) -> dict:
    with eng.connect() as conn:
        return {
            t: [
                {k: v for k, v in row.items() if k != "computed_at"}
                for row in conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY {key}")).mappings()
            ]
            for t, key in TABLES.items()
        }


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def test_rounds_close_through_the_calendar_and_backfill_gives_the_same_figures(
    wh, dirs, tmp_path, monkeypatch, airflow_ready
):
    monkeypatch.setenv("DTKS_CALENDAR_FILE", str(tmp_path / "calendar.json"))
    s.prepare(wh, tmp_path)
    close_schedule.export_calendar(wh)
    dag = closing.close_dag()
    assert type(dag.timetable).__name__ == "RoundCloseTimetable"
    planned = closing.scheduled_close_runs(dag)
    assert [r.round_id for r in planned] == list(s.ROUNDS)

    for run in planned:  # the months go by: files arrive, each round closes on schedule
        s.land_batch(dirs["landing"], run.round_id)
        s.ingest_landing(wh, dirs["landing"], dirs["archive"])
        assert "success" in closing.run_close_dag(logical_date=run.run_after)
    in_order = _tables(wh)
    assert len(in_order["metrics.district_round"]) == 4 + 4 + 4
    with wh.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT array_agg(status ORDER BY round_id) FROM audit.round")).scalar()
            == ["closed"] * 3
        )
        closed_by = (
            conn.execute(sa.text("SELECT changed_by FROM audit.round_change WHERE change = 'closed' ORDER BY round_id"))
            .scalars()
            .all()
        )
        assert all("__2026-" in run_id or run_id.startswith("manual__") for run_id in closed_by)
        assert conn.execute(sa.text("SELECT count(*) FROM metrics.penetapan")).scalar() == 3

    # the report of the last round, opened as a reader would: charts and tables with content
    html = (dirs["out"] / s.R3 / "report.html").read_text(encoding="utf-8")
    cover = _section(html, "coverage-by-province")
    assert cover.count('<circle class="dot"') == 3  # A, B, C
    assert re.findall(r'<tr id="p-(\d+)">', cover) == ["31", "35"]  # the province table
    # per-province trend lines over the three rounds: coverage and on-time rate for each province
    provinces = re.findall(r"<figure>(.*?)</figure>", _section(html, "province-trends"), re.S)
    assert len(provinces) == 2 and all(p.count("<polyline") == 2 for p in provinces)
    assert _section(html, "update-class").count('<rect class="seg"') >= 2
    trend = _section(html, "trend")
    assert trend.count("<polyline") == 3 and trend.count('<circle class="pt') == 3 * 3
    assert re.findall(r'<tr data-code="(\d+)">', _section(html, "league")) == [s.A, s.B, s.C]
    assert re.findall(r'<tr data-code="(\d+)">', _section(html, "follow-up")) == [s.C]
    assert "Kota Malang" not in _section(html, "league")  # not expected in 2026-10
    pen = _section(html, "penetapan")
    assert "Jawa Timur" in pen and "Jakarta" in pen and "snapshot #1" in pen and "2026-10-18 00:00 WIB" in pen
    assert (dirs["out"] / s.R3 / "district_metrics.csv").read_text().count("\n") == 1 + 3
    assert (dirs["out"] / s.R3 / "district_metrics.xlsx").stat().st_size > 0

    # a manual re-run of a past round with the form recomputes it identically
    assert "success" in closing.run_close_dag(round_id=s.R1)
    assert _tables(wh) == in_order

    # metrics lost (or computed by a buggy release): backfill every past round, in calendar order
    with wh.begin() as conn:
        for t in TABLES:
            conn.execute(sa.text(f"DELETE FROM {t}"))
    assert closing.backfill(wh) == list(s.ROUNDS)
    assert _tables(wh) == in_order
    with wh.connect() as conn:  # the penetapan snapshots stand: nothing re-determined
        assert conn.execute(sa.text("SELECT count(*) FROM metrics.penetapan")).scalar() == 3
    assert all(metrics.verify_penetapan(wh, r) == [] for r in s.ROUNDS)
