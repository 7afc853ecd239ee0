"""Issue 14 items 1 and 2: `dtks ingest` / `close-round` show every file's outcome, totals and exit status."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.builders import JAKPUS, PACITAN, SURABAYA
from tests.ingest.helpers import ROUND, create_round, csv_bytes, family, land_bytes, rows_of, villages


def _file_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if not ln.startswith("total:")]


def test_ingest_outcome_lines_totals_json_and_close(run_cli, wh, dirs, airflow_ready):
    create_round(wh)
    landing: Path = dirs["landing"]
    sby = villages(wh, SURABAYA, 2)
    people = family(sby[0], 1, 1, 3) + family(sby[1], 2, 10, 2)
    people[4] = people[4].but(nama="")  # one row quarantined (nama_blank): 5 sent, 4 accepted
    land_bytes(landing, SURABAYA, "surabaya_agustus.csv", csv_bytes(rows_of(people)))
    nik_named = f"perbaikan NIK {people[0].nik} ADI SANTOSO.csv"  # a NIK and a name must not reach the screen
    land_bytes(landing, PACITAN, nik_named, b"nik,nama\r\n3501010101010001,BUDI\r\n")  # lacks columns
    land_bytes(landing, JAKPUS, "jakpus.xlsx", b"this is not a workbook")  # unreadable

    result = run_cli("ingest")
    assert result.returncode == 0, result.stderr
    lines = _file_lines(result.stdout)
    assert len(lines) == 3, result.stdout
    with wh.connect() as conn:
        ids = dict(conn.execute(sa.text("SELECT kabkota_code, submission_id FROM audit.submission")).all())
        reason = conn.execute(
            sa.text("SELECT reject_reason FROM audit.submission WHERE file_name = 'jakpus.xlsx'")
        ).scalar()
    (sby_line,) = [ln for ln in lines if ln.startswith(f"{ROUND}  {SURABAYA} Kota Surabaya  #{ids[SURABAYA]} ")]
    # file names as people may see them (dtks.identifiers.mask_file_name): only listed words, no NIK, no name
    assert (
        f"#{ids[SURABAYA]} agustus.csv: merged — rows sent 5, accepted 4, quarantined 1, warnings 0 — feedback "
        in sby_line
    )
    (pac_line,) = [ln for ln in lines if ln.startswith(f"{ROUND}  {PACITAN} Kabupaten Pacitan  #{ids[PACITAN]} ")]
    assert people[0].nik not in result.stdout + result.stderr and "SANTOSO" not in result.stdout + result.stderr
    assert f"#{ids[PACITAN]} perbaikan NIK {'*' * 16}.csv: REJECTED" in pac_line
    assert "file_missing_columns: Required columns not found" in pac_line
    (jak_line,) = [ln for ln in lines if ln.startswith(f"{ROUND}  {JAKPUS} Kota Administrasi Jakarta Pusat  ")]
    assert f"#{ids[JAKPUS]} berkas.xlsx: REJECTED — {reason}: " in jak_line
    for line in lines:  # every line names its feedback file, which exists
        path = Path(line.rsplit(" — feedback ", 1)[1])
        assert path.exists() and path.is_relative_to(dirs["outbox"]), line
    assert result.stdout.splitlines()[-1] == (
        "total: 3 file(s): 1 merged, 2 rejected, 0 duplicate; rows sent 5, accepted 4, quarantined 1, warnings 0"
    )
    # Progress on stderr (plain lines: not a terminal), library warnings in the log, not on screen.
    assert "stage_submission: 3/3 districts done" in result.stderr
    assert "merge_submission: 3/3 districts done" in result.stderr
    for noise in ("SQLDatasource", "httpx", "No tasks to run", "\x1b["):
        assert noise not in result.stderr + result.stdout, noise
    log = Path(__file__).resolve().parents[2] / "var" / "log" / "dtks-cli.log"
    assert "SQLDatasource" in log.read_text(encoding="utf-8")

    # Second run: the same Surabaya file again (duplicate) and an empty file; JSON, failing on rejection.
    land_bytes(landing, SURABAYA, "surabaya_lagi.csv", csv_bytes(rows_of(people)))
    land_bytes(landing, PACITAN, "pacitan_kosong.csv", b"")
    again = run_cli("ingest", "--json", "--fail-on-rejection")
    assert again.returncode == 3, again.stderr
    assert again.stderr == ""  # --json: no progress display
    doc = json.loads(again.stdout)
    assert doc["state"] == "success" and doc["error"] is None
    by_outcome = {f["outcome"]: f for f in doc["files"]}
    assert sorted(by_outcome) == ["duplicate", "rejected"] and len(doc["files"]) == 2
    assert by_outcome["duplicate"]["kabkota_code"] == SURABAYA
    assert by_outcome["duplicate"]["duplicate_of"] == ids[SURABAYA]
    assert by_outcome["rejected"]["kabkota_code"] == PACITAN
    assert by_outcome["rejected"]["reason_code"] == "file_empty"
    assert {f["file_name"] for f in doc["files"]} == {"berkas.csv"}  # no listed word in either name
    assert doc["totals"] == {
        "files": 2,
        "merged": 0,
        "rejected": 1,
        "duplicate": 1,
        "unfinished": 0,
        "rows_sent": 0,
        "rows_accepted": 0,
        "rows_quarantined": 0,
        "rows_warned": 0,
    }

    # Closing the round: headline figures and the paths of its outputs.
    with wh.connect() as conn:
        expected = conn.execute(
            sa.text("SELECT count(*) FROM audit.round_expected_district WHERE round_id = :r"), {"r": ROUND}
        ).scalar()
    closed = run_cli("close-round", ROUND)
    assert closed.returncode == 0, closed.stderr
    head, *outputs = closed.stdout.splitlines()
    assert head.startswith(f"round {ROUND} closed: districts expected {expected:,}, submitted 3, accepted 1, ")
    assert "penetapan: active individuals 4, households 2" in head
    shown = dict(ln.strip().split(": ", 1) for ln in outputs)
    for key in ("district_csv", "district_xlsx", "report_html"):
        assert Path(shown[key]).exists() and Path(shown[key]).parent == dirs["out"] / ROUND


def test_ingest_missing_landing_folder_is_one_line_before_airflow(run_cli, wh, tmp_path):
    result = run_cli("ingest", "--landing", str(tmp_path / "nowhere"), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"dtks: error: landing folder {tmp_path / 'nowhere'} does not exist or is not a folder"
    ]
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.task_run")).scalar() == 0


def test_ingest_unreachable_warehouse_is_one_line(run_cli, dirs):
    result = run_cli("ingest", env={"DTKS_WAREHOUSE_URL": "postgresql://dtks@127.0.0.1:9/dtks"}, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dtks: error: cannot reach the warehouse"), result.stderr
