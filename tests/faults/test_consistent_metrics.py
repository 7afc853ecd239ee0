"""A close-round run overlapping an ingest run: the metrics come from one snapshot,
never from a registry half before and half after a merge."""

import threading
import time

import pytest

from dtks import merging, metrics
from tests import scenario
from tests.builders import PACITAN, SURABAYA

pytestmark = pytest.mark.postgres


def test_merge_committing_during_metrics_is_not_half_seen(wh, dirs, tmp_path, monkeypatch, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    refs = process_landed("run", until="validate").registered
    surabaya = next(r for r in refs if r.kabkota_code == SURABAYA)
    pacitan = next(r for r in refs if r.kabkota_code == PACITAN)
    merging.merge(wh, pacitan.submission_id, "run")

    # Metrics take their snapshot, then pause; Surabaya's merge commits meanwhile.
    monkeypatch.setenv("DTKS_FAILPOINT_PAUSE", "metrics.after_snapshot=3")
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("n", metrics.compute_round_metrics(wh, scenario.ROUND)))
    worker.start()
    time.sleep(1.0)
    assert merging.merge(wh, surabaya.submission_id, "run")["status"] == "merged"
    worker.join(timeout=60)
    monkeypatch.delenv("DTKS_FAILPOINT_PAUSE")
    assert done.get("n") == 3

    during = {r["kabkota_code"]: r for r in metrics.district_table(wh, scenario.ROUND)}
    # Consistent with the registry before Surabaya's merge: not accepted, baseline records only.
    assert during[SURABAYA]["accepted"] is False
    assert during[SURABAYA]["active_records"] == 4  # a1-a4 of the baseline; a3 not yet deceased
    assert during[PACITAN]["accepted"] is True

    metrics.compute_round_metrics(wh, scenario.ROUND)  # the next close-round run sees the merge
    after = {r["kabkota_code"]: r for r in metrics.district_table(wh, scenario.ROUND)}
    assert after[SURABAYA]["accepted"] is True and after[SURABAYA]["active_records"] == 4  # a3 out, a5 in
    assert after[SURABAYA]["rows_accepted"] == 4
