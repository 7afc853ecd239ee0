"""A three-round mini scenario for the auditor tests, on top of tests/scenario.py.

Round 2026-08: as tests/scenario.py (Surabaya on time: a2 changed – PBI –, a3
               deceased, a5 born, a4 quarantined for a blank name; Pacitan late).
Round 2026-09: Surabaya: a2 changed again (now BPNT), a1 and a5 confirmed;
               Pacitan sends an empty file (rejected whole).
Round 2026-10: Surabaya: a2 confirmed as it stood after 2026-09; a1, a5 confirmed.
Every round's metrics are computed; every step leaves audit.task_run rows
recorded by dtks.runs.record_task_outcome as the DAGs' callbacks would.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dtks import ingest, metrics, rounds, runs
from tests import scenario
from tests.builders import JAKPUS, PACITAN, SURABAYA, WIB, land, write_csv

ROUNDS = ("2026-08", "2026-09", "2026-10")
a1, a2, a5 = scenario.a1, scenario.a2, scenario.a5

R2_SURABAYA = [
    a1.but(tanggal_verifikasi="2026-09-05", rt="009"),
    a2.but(tanggal_verifikasi="2026-09-05", rt="009", pbi="1", bpnt="1"),
    a5.but(tanggal_verifikasi="2026-09-05", rt="009"),
]
R3_SURABAYA = [
    a1.but(tanggal_verifikasi="2026-10-06", rt="009"),
    a2.but(tanggal_verifikasi="2026-10-06", rt="009", pbi="1", bpnt="1"),
    a5.but(tanggal_verifikasi="2026-10-06", rt="009"),
]
RECEIVED = {
    "2026-09": datetime(2026, 9, 10, 10, 0, tzinfo=WIB),
    "2026-10": datetime(2026, 10, 9, 11, 0, tzinfo=WIB),
}

# Every identifier the scenario ever sends: none may appear unmasked in an auditor page.
PEOPLE = [*scenario.BASELINE, scenario.a5]
NIKS = sorted({p.nik for p in PEOPLE})
KKS = sorted({p.no_kk for p in PEOPLE})
NAMES = sorted({p.nama for p in PEOPLE if p.nama} | {"SITI"})


class FakeTI:
    """What an Airflow task instance offers a success callback (run, DAG, task, map index, XCom)."""

    def __init__(self, run_id, dag_id, task_id, result, map_index=-1):
        self.run_id, self.dag_id, self.task_id, self.map_index = run_id, dag_id, task_id, map_index
        self.start_date = datetime.now(WIB)
        self.try_number = 1
        self._result = result

    def xcom_pull(self, task_ids=None, map_indexes=None, **_):
        assert task_ids == self.task_id and map_indexes == self.map_index
        return self._result


def _callback(run_id, task_id, result, map_index=-1, dag_id="dtks_ingest", params=None):
    runs.record_task_outcome({"ti": FakeTI(run_id, dag_id, task_id, result, map_index), "params": params or {}})


def ingest_landing(eng, dirs, run_id: str) -> list[dict]:
    """register → stage → validate → merge, then each step's result recorded as the DAG's callbacks do."""
    run = ingest.process_landed(eng, dirs["landing"], run_id, archive_dir=dirs["archive"])
    _callback(run_id, "register_landed_files", [r.to_dict() for r in run.registered])
    for i, result in enumerate(run.staged.values()):
        _callback(run_id, "stage_submission", result, map_index=i)
    _callback(run_id, "validate_submissions", {str(k): v for k, v in run.validated.items()})
    for i, result in enumerate(run.merged.values()):
        _callback(run_id, "merge_submission", result, map_index=i)
    return list(run.merged.values())


def close(eng, round_id: str) -> None:
    n = metrics.compute_round_metrics(eng, round_id)
    _callback(
        f"close-{round_id}",
        "compute_metrics",
        {"round_id": round_id, "districts": n},
        dag_id="dtks_close_round",
        params={"round_id": round_id},
    )


def build(eng, dirs, tmp: Path) -> None:
    scenario.prepare(eng, tmp)  # round 2026-08 + baseline
    for r in ROUNDS[1:]:
        rounds.create_round(eng, rounds.default_round(r), districts=scenario.EXPECTED)
    scenario.land_round(dirs["landing"])
    ingest_landing(eng, dirs, "ingest-2026-08")
    close(eng, "2026-08")

    land(dirs["landing"], "2026-09", SURABAYA, "dtks_3578_2026-09.csv", R2_SURABAYA, RECEIVED["2026-09"])
    write_csv(dirs["landing"] / "2026-09" / PACITAN / "dtks_3501_2026-09.csv", [], RECEIVED["2026-09"])
    ingest_landing(eng, dirs, "ingest-2026-09")
    close(eng, "2026-09")

    land(dirs["landing"], "2026-10", SURABAYA, "dtks_3578_2026-10.csv", R3_SURABAYA, RECEIVED["2026-10"])
    ingest_landing(eng, dirs, "ingest-2026-10")
    close(eng, "2026-10")


def write_round_files(dirs, round_id: str = "2026-09") -> None:
    """A report, a Data Docs page and district feedback files as other tools write them (with raw NIKs)."""
    out = dirs["out"] / round_id
    (out / "data_docs").mkdir(parents=True, exist_ok=True)
    (out / "report.html").write_text(
        f"<html><body><h1>Laporan {round_id}</h1><a href='data_docs/index.html'>Data Docs</a></body></html>",
        encoding="utf-8",
    )
    (out / "data_docs" / "index.html").write_text(
        f"<html><body><h1>Data Docs</h1><p>unexpected: {a2.nik}, {a2.no_kk}</p></body></html>", encoding="utf-8"
    )
    fb = dirs["outbox"] / round_id / SURABAYA
    fb.mkdir(parents=True, exist_ok=True)
    (fb / "feedback_3578.csv").write_text(
        "baris,nik,nama,field,value_sent,alasan\n"
        f"4,{scenario.a4.nik},{scenario.a4.nama or 'DEWI'},nama,DEWI LESTARI,nama_blank\n"
        f"9,{a2.nik},BUDI ASTUTI,nik,{a2.nik},nik_duplicate_in_file\n",
        encoding="utf-8",
    )
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Ditolak"
    ws.append(["Umpan balik kiriman Surabaya"])
    ws.append(["baris", "nik", "no_kk", "nama", "field", "value_sent"])
    ws.append([2, a2.nik, a2.no_kk, "BUDI ASTUTI", "tanggal_lahir", "1982-05-06"])
    wb.save(fb / "feedback_3578.xlsx")
    (fb / "notes.txt").write_text(f"free text {a2.nik}", encoding="utf-8")
    (dirs["outbox"] / round_id / JAKPUS).mkdir(parents=True, exist_ok=True)
