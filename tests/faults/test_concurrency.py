"""Races for real: two ingest processes over one landing zone, and two files of one
district merged by two threads at once, give the result of one-after-another."""

import threading
from datetime import datetime

import pytest

from dtks import ingest, warehouse
from tests import scenario
from tests.builders import SURABAYA, WIB, land
from tests.faults.state import warehouse_state
from tests.faults.harness import setup_round

pytestmark = pytest.mark.postgres


def test_two_ingest_runs_at_once(make_warehouse, tmp_path, reference_state):
    import subprocess
    import sys

    from dtks.config import PROJECT_ROOT

    url = make_warehouse()
    env = setup_round(url, tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "tests.faults.run_ingest", f"racer-{i}"], cwd=PROJECT_ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    assert warehouse_state(warehouse.engine(url)) == reference_state


def _second_file_of_a(landing):
    """A's resubmission two days later: a1 now also receives PKH."""
    people = [p for p in scenario.A_SUBMISSION if p.nama]  # without the defective row
    people = [people[0].but(pkh="1")] + people[1:]
    return land(landing, scenario.ROUND, SURABAYA, "dtks_3578_2026-08_v2.csv", people,
                datetime(2026, 8, 12, 8, 0, tzinfo=WIB))


def _validated_pair(eng, dirs):
    refs = [r for r in (ingest.register(eng, f, "run", dirs["archive"]) for f in ingest.discover(dirs["landing"])) if r]
    for r in refs:
        ingest.stage(eng, r.submission_id, "run")
    ingest.validate(eng, [r.submission_id for r in refs], "run")
    return refs


def test_two_files_of_one_district_merged_at_once(make_warehouse, tmp_path, monkeypatch):
    states = {}
    for mode in ("sequential", "concurrent"):
        url = make_warehouse()
        monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
        root = tmp_path / mode
        dirs = {n: root / n for n in ("landing", "archive")}
        for d in dirs.values():
            d.mkdir(parents=True)
        monkeypatch.setenv("DTKS_ARCHIVE_DIR", str(dirs["archive"]))
        eng = warehouse.engine(url)
        scenario.prepare(eng, root)
        scenario.land_round(dirs["landing"])
        _second_file_of_a(dirs["landing"])
        refs = _validated_pair(eng, dirs)
        # the two files of Surabaya, in arrival order
        a_files = sorted((r for r in refs if r.kabkota_code == SURABAYA), key=lambda r: r.file_name)
        others = [r for r in refs if r.kabkota_code != SURABAYA]
        if mode == "sequential":
            for r in a_files + others:
                ingest.merge(eng, r.submission_id, "run")
        else:
            # the later file first, from two threads released together
            barrier = threading.Barrier(2)
            errors = []

            def worker(ref):
                try:
                    barrier.wait()
                    ingest.merge(eng, ref.submission_id, "run")
                except Exception as exc:  # surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(r,)) for r in reversed(a_files)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            for r in others:
                ingest.merge(eng, r.submission_id, "run")
        states[mode] = warehouse_state(eng)
    assert states["concurrent"] == states["sequential"]
    statuses = [row[2] for row in states["sequential"]["submissions"]]
    assert statuses.count("superseded") == 1   # the first Surabaya file, superseded by the second
