"""The round calendar in the warehouse: create / move / close / reopen with reasons, the exported
calendar file, which round a file counts for, and resubmissions superseding earlier files (but never
an all-refused one)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dtks import cli, close_schedule, merging, metrics, rounds
from tests.builders import JAKPUS, PACITAN, SURABAYA, WIB, land
from tests.rounds import multi_round as s

pytestmark = pytest.mark.postgres


def test_create_move_close_reopen_are_recorded_with_reasons(wh):
    nov = rounds.default_round("2026-11")
    assert rounds.create_round(wh, nov, districts=[SURABAYA, PACITAN], changed_by="tester")
    assert not rounds.create_round(wh, nov, changed_by="tester")  # exists: no-op
    moved = rounds.move_round(
        wh, "2026-11", "banjir di Jawa Timur / floods", changed_by="tester", cutoff_on=date(2026, 11, 18), grace_days=2
    )
    assert (moved.cutoff_on, moved.last_grace_day, moved.close_at) == (
        date(2026, 11, 18),
        date(2026, 11, 20),
        datetime(2026, 11, 20, 17, tzinfo=UTC),
    )
    assert rounds.close_round(wh, "2026-11", changed_by="run-1")
    assert not rounds.close_round(wh, "2026-11", changed_by="run-2")  # already closed: nothing recorded
    with pytest.raises(ValueError, match="closed"):
        rounds.move_round(wh, "2026-11", "too late", cutoff_on=date(2026, 11, 19))
    with pytest.raises(ValueError, match="reason"):
        rounds.reopen_round(wh, "2026-11", "  ")
    reopened = rounds.reopen_round(
        wh, "2026-11", "berkas Pacitan tertahan server / upload outage", changed_by="tester", grace_days=5
    )
    assert (reopened.status, reopened.grace_days) == ("open", 5)
    with pytest.raises(ValueError, match="open"):
        rounds.reopen_round(wh, "2026-11", "twice")
    log = rounds.round_changes(wh, "2026-11")
    assert [(c["change"], c["reason"], c["changed_by"]) for c in log] == [
        ("created", None, "tester"),
        ("moved", "banjir di Jawa Timur / floods", "tester"),
        ("closed", None, "run-1"),
        ("reopened", "berkas Pacitan tertahan server / upload outage", "tester"),
    ]
    assert (log[1]["before"]["cutoff_on"], log[1]["after"]["cutoff_on"]) == ("2026-11-14", "2026-11-18")
    assert (log[3]["before"]["status"], log[3]["after"]["grace_days"]) == ("closed", 5)
    with wh.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        conn.execute(sa.text("DELETE FROM audit.round_change"))
    # the expected set stays what it was when the round was created
    with wh.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT array_agg(kabkota_code ORDER BY kabkota_code) FROM"
                " audit.round_expected_district WHERE round_id = '2026-11'"
            )
        ).scalar() == [PACITAN, SURABAYA]


def test_round_dates_are_checked(wh):
    with pytest.raises(ValueError, match="penetapan"):  # penetapan must come after the round closes
        rounds.create_round(wh, replace(rounds.default_round("2026-12"), cutoff_on=date(2026, 12, 23)))
    with pytest.raises(ValueError, match="on-time"):
        rounds.create_round(wh, replace(rounds.default_round("2026-12"), on_time_grace_days=4))
    with pytest.raises(ValueError):
        rounds.default_round("2026-13")


def test_calendar_export_for_the_timetable(wh, tmp_path):
    s.create_rounds(wh)
    rounds.move_round(wh, s.R2, "libur nasional / public holiday", cutoff_on=date(2026, 9, 16))
    path = close_schedule.export_calendar(wh, tmp_path / "cal" / "rounds.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == close_schedule.CALENDAR_FORMAT and doc["timezone"] == "Asia/Jakarta"
    assert [(r["round_id"], r["cutoff_on"], r["grace_days"]) for r in doc["rounds"]] == [
        (s.R1, "2026-08-14", 3),
        (s.R2, "2026-09-16", 3),
        (s.R3, "2026-10-14", 3),
    ]
    assert close_schedule.load_calendar(path) == rounds.list_rounds(wh)
    stamp = path.stat().st_mtime_ns
    close_schedule.export_calendar(wh, path)  # same calendar: file untouched
    assert path.stat().st_mtime_ns == stamp
    runs = close_schedule.close_runs(close_schedule.load_calendar(path))
    assert [r.close_at for r in runs] == [
        datetime(2026, 8, 17, 17, tzinfo=UTC),
        datetime(2026, 9, 19, 17, tzinfo=UTC),
        datetime(2026, 10, 17, 17, tzinfo=UTC),
    ]
    # the close DAG finds its round from the data interval the timetable gave it
    assert rounds.round_for_interval(wh, runs[1].opens_at, runs[1].close_at) == s.R2
    with pytest.raises(LookupError, match="out of date"):
        rounds.round_for_interval(wh, datetime(2026, 9, 5, tzinfo=UTC), datetime(2026, 9, 18, tzinfo=UTC))


def test_which_round_a_file_counts_for(wh):
    s.create_rounds(wh)
    rounds.create_round(wh, rounds.default_round("2026-12"))  # a gap month: no November round
    with wh.begin() as conn:
        conn.execute(sa.text("UPDATE audit.round SET status = 'closed' WHERE round_id = :r"), {"r": s.R3})

        def assign(folder, when):
            a = rounds.assign_round(conn, folder, when)
            return a.round_id, a.rule

        cut = datetime(2026, 8, 15, tzinfo=WIB)  # end of the cut-off day, 14 Aug
        close = datetime(2026, 8, 18, tzinfo=WIB)  # end of the last grace day, 17 Aug
        assert assign(s.R1, datetime(2026, 7, 20, tzinfo=WIB)) == (s.R1, "in_round")  # early is fine
        assert assign(s.R1, cut - timedelta(seconds=1)) == (s.R1, "in_round")
        assert assign(s.R1, cut) == (s.R1, "in_grace")
        assert assign(s.R1, close - timedelta(seconds=1)) == (s.R1, "in_grace")
        assert assign(s.R1, close) == (s.R2, "after_grace")  # the next open round
        # after 2026-09 closes, 2026-10 (closed already) is skipped, November has no round: December
        assert assign(s.R2, datetime(2026, 9, 25, tzinfo=WIB)) == ("2026-12", "after_grace")
        assert assign(s.R1, datetime(2026, 12, 20, tzinfo=WIB)) == (None, "round_closed")
        assert assign("2027-01", datetime(2026, 12, 20, tzinfo=WIB)) == (None, "round_unknown")
        assert assign(None, datetime(2026, 12, 20, tzinfo=WIB)) == (None, "round_unknown")


def test_a_resubmission_supersedes_even_when_merged_out_of_order(wh, dirs, tmp_path, process_landed):
    s.prepare(wh, tmp_path)
    a1 = s.a1
    land(
        dirs["landing"],
        s.R1,
        SURABAYA,
        "first.csv",
        [a1.but(tanggal_verifikasi="2026-08-03")],
        datetime(2026, 8, 4, 9, tzinfo=WIB),
    )
    land(
        dirs["landing"],
        s.R1,
        SURABAYA,
        "second.csv",
        [a1.but(tanggal_verifikasi="2026-08-06")],
        datetime(2026, 8, 7, 9, tzinfo=WIB),
    )
    land(
        dirs["landing"],
        s.R1,
        JAKPUS,
        "jakpus.csv",
        [s.c1.but(tanggal_verifikasi="2026-08-06")],
        datetime(2026, 8, 8, 9, tzinfo=WIB),
    )
    refs = {r.file_name: r.submission_id for r in process_landed("run", until="validate").registered}
    # The later file's task runs first: the district's files still merge in arrival order
    # (the first one first, inside the same call), and the later one supersedes it.
    assert merging.merge(wh, refs["second.csv"], "merge-2")["superseded"] == [refs["first.csv"]]
    assert merging.merge(wh, refs["first.csv"], "merge-1") == {
        "submission_id": refs["first.csv"],
        "status": "superseded",
        "skipped": True,
    }
    merging.merge(wh, refs["jakpus.csv"], "merge-3")  # another district: untouched
    with wh.connect() as conn:
        status = dict(
            conn.execute(sa.text("SELECT file_name, status FROM audit.submission WHERE kind = 'district'")).all()
        )
        events = conn.execute(
            sa.text("SELECT e.run_id, e.detail FROM audit.submission_event e WHERE e.event = 'superseded'")
        ).all()
        kept = conn.execute(
            sa.text("SELECT count(*) FROM registry.individual_event WHERE submission_id = :s"), {"s": refs["first.csv"]}
        ).scalar()
    assert status == {"first.csv": "superseded", "second.csv": "merged", "jakpus.csv": "merged"}
    # the round cannot be moved to close before files already counted for it arrived (7 and 8 Aug)
    with pytest.raises(ValueError, match="2 file"):
        rounds.move_round(wh, s.R1, "shorter", cutoff_on=date(2026, 8, 5), grace_days=1)
    assert rounds.move_round(wh, s.R1, "a little shorter", grace_days=1).close_at == datetime(2026, 8, 16, tzinfo=WIB)
    assert [(e.run_id, e.detail) for e in events] == [("merge-2", {"superseded_by": refs["second.csv"]})]
    assert kept == 1  # the superseded file's history stays


def test_an_all_refused_resubmission_displaces_nothing(wh, dirs, tmp_path):
    """A resubmission whose every row is refused is merged with nothing accepted: the district's
    accepted file keeps standing, and its rows (not the refused file's) are the round's figures."""
    s.prepare(wh, tmp_path)
    land(
        dirs["landing"],
        s.R1,
        SURABAYA,
        "accepted.csv",
        [s.a1.but(tanggal_verifikasi="2026-08-03"), s.a2.but(tanggal_verifikasi="2026-08-03")],
        datetime(2026, 8, 4, 9, tzinfo=WIB),
    )
    land(
        dirs["landing"],
        s.R1,
        SURABAYA,
        "all_refused.csv",
        [
            s.a1.but(tanggal_verifikasi="2026-08-06", nama=""),
            s.a2.but(tanggal_verifikasi="2026-08-06", nama=""),
            s.a3.but(tanggal_verifikasi="2026-08-06", nama=""),
        ],
        datetime(2026, 8, 7, 9, tzinfo=WIB),
    )
    ids = s.ingest_landing(wh, dirs["landing"], dirs["archive"])
    assert len(ids) == 2
    metrics.compute_round_metrics(wh, s.R1)
    with wh.connect() as conn:
        subs = conn.execute(
            sa.text(
                "SELECT file_name, status, rows_in, rows_accepted, rows_quarantined FROM audit.submission"
                " WHERE kind = 'district' ORDER BY received_at"
            )
        ).all()
        superseded = conn.execute(
            sa.text("SELECT count(*) FROM audit.submission_event WHERE event = 'superseded'")
        ).scalar()
    assert [tuple(x) for x in subs] == [("accepted.csv", "merged", 2, 2, 0), ("all_refused.csv", "merged", 3, 0, 3)]
    assert superseded == 0
    a = next(r for r in metrics.district_table(wh, s.R1) if r["kabkota_code"] == SURABAYA)
    assert (a["submissions_received"], a["accepted"], a["on_time"]) == (2, True, True)
    assert (a["rows_submitted"], a["rows_accepted"], a["acceptance_rate"]) == (2, 2, 1)


def test_round_commands(wh, warehouse_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DTKS_CALENDAR_FILE", str(tmp_path / "calendar.json"))
    assert cli.main(["round", "create", "2026-11", "--cutoff", "2026-11-13", "--grace", "4", "--provinces", "31"]) == 0
    assert cli.main(["round", "move", "2026-11", "--reason", "rapat koordinasi", "--grace", "5"]) == 0
    assert cli.main(["round", "reopen", "2026-11", "--reason", "x"]) == 1  # open: cannot reopen
    with pytest.raises(SystemExit):  # a move needs a reason
        cli.main(["round", "move", "2026-11", "--grace", "6"])
    assert cli.main(["round", "list"]) == 0
    assert cli.main(["round", "history", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "2026-11  2026-11-01 2026-11-13     5 2026-11-18" in out
    assert "moved    by cli:" in out and "rapat koordinasi" in out
    doc = json.loads((tmp_path / "calendar.json").read_text())
    assert [(r["round_id"], r["grace_days"]) for r in doc["rounds"]] == [("2026-11", 5)]
    with wh.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM audit.round_expected_district WHERE round_id = '2026-11'")
            ).scalar()
            == 6
        )  # DKI Jakarta's six kab/kota
