"""Races for real: two ingest processes over one landing zone, and two files of one
district merged by two threads at once, give the result of one-after-another.

A race left to chance mostly goes the harmless way, so the last two tests force
the bad interleavings: a failpoint holds the first merge inside its transaction
(DTKS_FAILPOINT_HOLD, dtks/faults.py) while the second one starts.
"""

import threading
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from dtks import ingest, merging, warehouse
from tests import scenario
from tests.builders import SURABAYA, WIB, land
from tests.faults.harness import setup_round
from tests.faults.state import warehouse_state

pytestmark = pytest.mark.postgres


def test_two_ingest_runs_at_once(make_warehouse, tmp_path, reference_state):
    import subprocess
    import sys

    from dtks.config import PROJECT_ROOT

    url = make_warehouse()
    env = setup_round(url, tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.faults.run_ingest", f"racer-{i}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    assert warehouse_state(warehouse.engine(url)) == reference_state


def _second_file_of_a(landing):
    """A's resubmission two days later: a1 now also receives PKH."""
    people = [p for p in scenario.A_SUBMISSION if p.nama]  # without the defective row
    people = [people[0].but(pkh="1"), *people[1:]]
    return land(
        landing, scenario.ROUND, SURABAYA, "dtks_3578_2026-08_v2.csv", people, datetime(2026, 8, 12, 8, 0, tzinfo=WIB)
    )


def _validated_pair(eng, dirs):
    return ingest.process_landed(eng, dirs["landing"], "run", archive_dir=dirs["archive"], until="validate").registered


def test_two_files_of_one_district_merged_at_once(make_warehouse, tmp_path, monkeypatch):
    states = {}
    for mode in ("sequential", "concurrent"):
        eng, dirs = _fresh(make_warehouse, tmp_path / mode, monkeypatch)
        scenario.land_round(dirs["landing"])
        _second_file_of_a(dirs["landing"])
        refs = _validated_pair(eng, dirs)
        # the two files of Surabaya, in arrival order
        a_files = sorted((r for r in refs if r.kabkota_code == SURABAYA), key=lambda r: r.file_name)
        others = [r for r in refs if r.kabkota_code != SURABAYA]
        if mode == "sequential":
            for r in a_files + others:
                merging.merge(eng, r.submission_id, "run")
        else:
            # the later file first, from two threads released together
            barrier = threading.Barrier(2)
            errors = []

            def worker(ref, barrier=barrier, eng=eng, errors=errors):
                try:
                    barrier.wait()
                    merging.merge(eng, ref.submission_id, "run")
                except Exception as exc:  # surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(r,)) for r in reversed(a_files)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            for r in others:
                merging.merge(eng, r.submission_id, "run")
        states[mode] = warehouse_state(eng)
    assert states["concurrent"] == states["sequential"]
    statuses = [row[2] for row in states["sequential"]["submissions"]]
    assert statuses.count("superseded") == 1  # the first Surabaya file, superseded by the second


# ------------------------------------------------------------------ forced interleavings
HOLD_AT = "merge.before_commit"  # inside _merge_one's transaction, after the supersede step


def _until(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def _waiting_on_a_lock(eng) -> bool:
    """Some other session of this database is blocked on a lock (here: the second merge)."""
    with eng.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        )


def _merge_in_thread(eng, submission_id: int, errors: list) -> threading.Thread:
    def work():
        try:
            merging.merge(eng, submission_id, "run")
        except Exception as exc:  # surfaced by the test
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _held_then_second(eng, hold, first_id: int, second_id: int, between=None) -> None:
    """Merge ``first_id`` until it is held inside its transaction; then (after ``between``) start
    merging ``second_id``; let the first go once the second is blocked on a lock or finished."""
    errors: list = []
    first = second = None
    try:
        first = _merge_in_thread(eng, first_id, errors)
        _until(lambda: (hold / "reached").exists() or not first.is_alive(), "the first merge is held")
        assert (hold / "reached").exists(), errors
        if between is not None:
            between()
        second = _merge_in_thread(eng, second_id, errors)
        _until(lambda: not second.is_alive() or _waiting_on_a_lock(eng), "the second merge waits or ends")
    finally:
        (hold / "release").touch()
        for t in (first, second):
            if t is not None:
                t.join(timeout=120)
    assert errors == []


def _surabaya_statuses(eng) -> dict:
    with eng.connect() as conn:
        return dict(
            conn.execute(
                sa.text("SELECT file_name, status FROM audit.submission WHERE kabkota_code = :k"), {"k": SURABAYA}
            ).all()
        )


def _refs_by_name(eng, dirs) -> dict:
    run = ingest.process_landed(eng, dirs["landing"], "run", archive_dir=dirs["archive"], until="stage")
    return {r.file_name: r for r in run.registered}


def _fresh(make_warehouse, root, monkeypatch):
    url = make_warehouse()
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
    dirs = {n: root / n for n in ("landing", "archive")}
    for d in dirs.values():
        d.mkdir(parents=True)
    monkeypatch.setenv("DTKS_ARCHIVE_DIR", str(dirs["archive"]))
    eng = warehouse.engine(url)
    scenario.prepare(eng, root)
    return eng, dirs


def test_later_file_held_inside_its_merge_while_the_earlier_starts(make_warehouse, tmp_path, monkeypatch):
    """The later file's task holds the district inside a merge transaction; the earlier file's task
    starts meanwhile. The later task must have merged the earlier file first (arrival order)."""
    states = {}
    for mode in ("sequential", "forced"):
        monkeypatch.delenv("DTKS_FAILPOINT_HOLD", raising=False)
        eng, dirs = _fresh(make_warehouse, tmp_path / mode, monkeypatch)
        scenario.land_round(dirs["landing"])
        _second_file_of_a(dirs["landing"])
        refs = _validated_pair(eng, dirs)
        a_files = sorted((r for r in refs if r.kabkota_code == SURABAYA), key=lambda r: r.file_name)
        if mode == "sequential":
            for r in a_files:
                merging.merge(eng, r.submission_id, "run")
        else:
            hold = tmp_path / "hold-later-first"
            hold.mkdir()
            monkeypatch.setenv("DTKS_FAILPOINT_HOLD", f"{HOLD_AT}={hold}")
            _held_then_second(eng, hold, a_files[1].submission_id, a_files[0].submission_id)
        for r in refs:
            if r.kabkota_code != SURABAYA:
                merging.merge(eng, r.submission_id, "run")
        states[mode] = warehouse_state(eng)
    assert states["forced"] == states["sequential"]
    assert _surabaya_statuses(eng) == {"dtks_3578_2026-08.csv": "superseded", "dtks_3578_2026-08_v2.csv": "merged"}


def test_earlier_file_validated_while_a_later_one_merges_waits_its_turn(make_warehouse, tmp_path, monkeypatch):
    """Surabaya's later file is merging (held inside its transaction) when the earlier file, validated
    meanwhile, is merged by another task. The district's merges run one at a time, so the second sees
    the first committed: one file stands (the later by arrival), the other is superseded. Two merges
    of one district at once would each see only itself and leave both standing.

    The two files touch different households, so nothing but the district's merge lock orders them."""
    earlier = [
        scenario.a3.but(tanggal_verifikasi="2026-08-05", status_keberadaan="3"),
        scenario.a4.but(tanggal_verifikasi="2026-08-05"),
    ]
    later = [
        scenario.a1.but(tanggal_verifikasi="2026-08-11", pkh="1"),
        scenario.a2.but(tanggal_verifikasi="2026-08-11"),
    ]
    states = {}
    for mode in ("sequential", "forced"):
        monkeypatch.delenv("DTKS_FAILPOINT_HOLD", raising=False)
        eng, dirs = _fresh(make_warehouse, tmp_path / mode, monkeypatch)
        for name, people, day in (("a_earlier.csv", earlier, 10), ("a_later.csv", later, 12)):
            land(dirs["landing"], scenario.ROUND, SURABAYA, name, people, datetime(2026, 8, day, 9, 0, tzinfo=WIB))
        refs = _refs_by_name(eng, dirs)
        first, second = refs["a_earlier.csv"].submission_id, refs["a_later.csv"].submission_id
        if mode == "sequential":
            ingest.validate(eng, [first, second], "run")
            merging.merge(eng, first, "run")
            merging.merge(eng, second, "run")
        else:
            ingest.validate(eng, [second], "run")  # the earlier file is still being checked
            hold = tmp_path / "hold-one-at-a-time"
            hold.mkdir()
            monkeypatch.setenv("DTKS_FAILPOINT_HOLD", f"{HOLD_AT}={hold}")
            _held_then_second(
                eng, hold, second, first, between=lambda eng=eng, first=first: ingest.validate(eng, [first], "run")
            )
        assert _surabaya_statuses(eng) == {"a_earlier.csv": "superseded", "a_later.csv": "merged"}, mode
        states[mode] = warehouse_state(eng)
    assert states["forced"] == states["sequential"]
