"""Attacks on the way files come in and go out (issue 13 items 1, 3, 4, 6, 9, 10; issue 14 item 4).

Each test does what a careless upload tool, a district's second upload or a
curious insider would do, on real files and the real PostgreSQL, and checks
that nothing a district sent is lost, nothing outside landing is read,
nothing outside the outbox is written, and one bad file stops no one else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dtks import feedback, intake, landed_files, rounds
from dtks.config import PROJECT_ROOT
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres


def _child_env(warehouse_url: str, dirs: dict, **extra: str) -> dict:
    env = {
        **os.environ,
        "DTKS_WAREHOUSE_URL": warehouse_url,
        "DTKS_LANDING_DIR": str(dirs["landing"]),
        "DTKS_ARCHIVE_DIR": str(dirs["archive"]),
        "DTKS_OUTBOX_DIR": str(dirs["outbox"]),
        "DTKS_OUT_DIR": str(dirs["out"]),
        **extra,
    }
    env.pop("DTKS_FAILPOINT", None)
    return env


def _status(eng) -> dict[str, tuple]:
    with eng.connect() as conn:
        return {
            r.file_name: (r.status, r.reject_reason, r.kabkota_code)
            for r in conn.execute(
                sa.text("SELECT file_name, status, reject_reason, kabkota_code FROM audit.submission")
            )
        }


def _good(eng, district: str, serial: int) -> bytes:
    return h.csv_bytes(h.rows_of(h.family(h.villages(eng, district, 1)[0], serial, serial * 10, 2)))


# ----------------------------------------------------------------- item 1
def _as_pipeline_without_root_bypass(cmd: list[str]) -> list[str]:
    """The pipeline's process as an upload host runs it: it cannot read another account's 0600 file.

    Tests run as root here, and root reads any file whatever its mode. The
    child drops the two capabilities that give root that power
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) with util-linux ``setpriv``, so
    the kernel refuses the open with EACCES exactly as it would for the
    Airflow user; everything else (its own folders, the database) works as
    before. Not root: a plain child already cannot read a mode-000 file.
    """
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]


def _socket_reachable_without_root_bypass(url: str, folder: Path) -> str:
    """The warehouse URL as such a child can use it.

    The embedded server's socket sits in its data folder (mode 700, owned by
    the server's account), which root reaches only through the capabilities
    the child has dropped; a hard link to the socket in a folder of ours is
    the same socket, reachable. (A TCP URL needs nothing.)
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.query.get("host")
    if os.geteuid() != 0 or not host or not Path(host).is_dir():
        return url
    folder.mkdir(parents=True, exist_ok=True)
    socket = f".s.PGSQL.{parsed.port or 5432}"
    os.link(Path(host) / socket, folder / socket)
    return parsed.update_query_dict({"host": str(folder)}).render_as_string(hide_password=False)


def _lock_away(path: Path) -> None:
    """Mode 600 and owned by another upload account (nobody) or, not root, mode 000."""
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        os.chmod(path, 0o600)
    else:
        os.chmod(path, 0o000)


def test_unreadable_file_and_manifest_wait_in_landing_while_the_others_proceed(wh, dirs, warehouse_url):
    try:
        _unreadable_files_case(wh, dirs, warehouse_url)
    finally:
        for link in (PROJECT_ROOT / "var" / "run").glob(f"socket-{os.getpid()}-*"):
            shutil.rmtree(link, ignore_errors=True)


def _unreadable_files_case(wh, dirs, warehouse_url):
    h.create_round(wh)
    for i, district in enumerate(("3501", "3502")):
        h.land_bytes(dirs["landing"], district, f"baik_{district}.csv", _good(wh, district, i + 1))
    locked = h.land_bytes(dirs["landing"], "3503", "terkunci.csv", _good(wh, "3503", 3))
    with_manifest = h.land_bytes(
        dirs["landing"], "3504", "dengan_manifest.csv", _good(wh, "3504", 4), manifest=h.good_manifest("3504")
    )
    manifest = with_manifest.with_name("dengan_manifest.manifest.json")
    _lock_away(locked)
    _lock_away(manifest)
    socket_dir = PROJECT_ROOT / "var" / "run" / f"socket-{os.getpid()}-{time.monotonic_ns()}"
    env = _child_env(_socket_reachable_without_root_bypass(warehouse_url, socket_dir), dirs)
    for run in ("run-1", "run-2"):  # the next hourly run meets the same files: the same outcome
        proc = subprocess.run(
            _as_pipeline_without_root_bypass([sys.executable, "-m", "tests.faults.run_ingest", run]),
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert _status(wh) == {"baik_3501.csv": ("merged", None, "3501"), "baik_3502.csv": ("merged", None, "3502")}
        assert locked.exists() and with_manifest.exists() and manifest.exists()  # nothing lost, nothing moved
        assert list((dirs["archive"] / ".intake").iterdir()) == []  # no intake copy left behind
    with wh.connect() as conn:
        problems = {
            Path(r.landing_path).name: (r.problem, r.detail, r.resolved_at)
            for r in conn.execute(
                sa.text("SELECT landing_path, problem, detail, resolved_at FROM audit.landing_problem")
            )
        }
    assert problems == {
        "terkunci.csv": ("file_unreadable", "PermissionError", None),
        "dengan_manifest.csv": ("manifest_unreadable", "PermissionError", None),
    }
    # the operator sees them, and where they are
    from dtks import landing

    shown = landing.format_landing(landing.landing_report(wh, dirs["landing"], dirs["outbox"]), show_names=True)
    assert "could not be read (they stay in landing until fixed): 2" in shown
    assert "2026-08/3503/terkunci.csv  file_unreadable (PermissionError)" in shown
    assert "2026-08/3504/dengan_manifest.csv  manifest_unreadable (PermissionError)" in shown
    # fixed by the operator: the next run takes them, and the problems are resolved
    os.chmod(locked, 0o644)
    os.chmod(manifest, 0o644)
    proc = subprocess.run(
        _as_pipeline_without_root_bypass([sys.executable, "-m", "tests.faults.run_ingest", "run-3"]),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _status(wh)["terkunci.csv"][0] == "merged" and _status(wh)["dengan_manifest.csv"][0] == "merged"
    with wh.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM audit.landing_problem WHERE resolved_at IS NULL")).scalar() == 0
        )


# ----------------------------------------------------------------- item 3
def test_reupload_during_registration_is_never_deleted(wh, dirs, warehouse_url):
    h.create_round(wh)
    path = h.land_bytes(dirs["landing"], "3501", "data.csv", _good(wh, "3501", 1))
    corrected = _good(wh, "3501", 2) + b""  # the district's corrected file, same name
    env = _child_env(warehouse_url, dirs, DTKS_FAILPOINT_PAUSE="register.after_commit=4")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.run_ingest", "run-1"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _status(wh):  # registered and committed: the child now sleeps before removing the landed file
        assert time.monotonic() < deadline and child.poll() is None, "the child never registered the file"
        time.sleep(0.1)
    upload = path.with_name(".upload.tmp")  # as an SFTP client does: write, then rename over the old name
    upload.write_bytes(corrected)
    os.replace(upload, path)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]
    assert path.read_bytes() == corrected  # the corrected upload is still in landing, whole
    # ... and the next run takes it
    run2 = subprocess.run(
        [sys.executable, "-m", "tests.faults.run_ingest", "run-2"],
        cwd=PROJECT_ROOT,
        env=_child_env(warehouse_url, dirs),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run2.returncode == 0, run2.stderr[-3000:]
    with wh.connect() as conn:
        shas = set(conn.execute(sa.text("SELECT sha256 FROM audit.submission")).scalars())
    import hashlib

    assert hashlib.sha256(corrected).hexdigest() in shas and len(shas) == 2
    assert not path.exists()


# ----------------------------------------------------------------- item 4
def test_arrival_is_when_the_file_came_not_the_uploaders_mtime(wh, dirs, monkeypatch):
    """A file uploaded now with ``sftp -p`` keeping an mtime inside a round that has closed is late."""
    monkeypatch.delenv("DTKS_ARRIVAL_FROM_MTIME", raising=False)  # the production rule, not the replay
    today = datetime.now(UTC).date()
    opens = today - timedelta(days=40)
    rnd = rounds.Round(f"{opens:%Y-%m}", opens, today - timedelta(days=20), 3, today - timedelta(days=10))
    rounds.create_round(wh, rnd)
    kept_mtime = datetime.combine(today - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    before = datetime.now(UTC)
    h.land_bytes(
        dirs["landing"], "3501", "terlambat.csv", _good(wh, "3501", 1), round_id=rnd.round_id, received_at=kept_mtime
    )
    h.run_pipeline(wh, dirs)
    with wh.connect() as conn:
        sub = conn.execute(sa.text("SELECT * FROM audit.submission")).mappings().one()
        event = conn.execute(sa.text("SELECT detail FROM audit.submission_event WHERE event = 'received'")).scalar_one()
    assert sub["received_at"] >= before - timedelta(seconds=2)  # when it landed, not 30 days ago
    assert (sub["status"], sub["reject_reason"]) == ("rejected", "round_closed")
    assert event["arrival_source"] == "ctime"
    assert datetime.fromisoformat(event["file_mtime"]) == kept_mtime  # the uploader's mtime kept, not trusted


# ----------------------------------------------------------------- item 6
def test_baseline_load_leaves_the_operators_file_and_fsyncs_the_archive_folder(wh, dirs, monkeypatch, tmp_path):
    source = tmp_path / "operator" / "baseline.csv"
    source.parent.mkdir()
    source.write_bytes(_good(wh, "3501", 1))
    os.utime(source, (1_700_000_000, 1_700_000_000))
    before = (source.read_bytes(), source.stat().st_mtime_ns, source.stat().st_ino)
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    from dtks import cli

    assert cli.main(["baseline", "load", str(source), "--received-at", "2026-07-01T00:00:00+07:00"]) == 0
    assert (source.read_bytes(), source.stat().st_mtime_ns, source.stat().st_ino) == before
    archived = [p for p in dirs["archive"].rglob("*") if p.is_file() and ".intake" not in p.parts]
    assert len(archived) == 1 and archived[0].read_bytes() == before[0]
    assert str(archived[0].parent) in synced  # the rename into the archive is durable
    with wh.connect() as conn:
        received = conn.execute(sa.text("SELECT received_at FROM audit.submission")).scalar_one()
    assert received == datetime(2026, 6, 30, 17, 0, tzinfo=UTC)


# ----------------------------------------------------------------- item 9
def test_planted_links_in_the_outbox_never_redirect_a_write(wh, dirs, tmp_path):
    h.create_round(wh)
    h.land_bytes(dirs["landing"], "3501", "baik.csv", _good(wh, "3501", 1))
    ids = h.run_pipeline(wh, dirs)
    folder = feedback.feedback_paths(dirs["outbox"], h.ROUND, "3501", ids[0])["csv"].parent
    shutil.rmtree(folder)
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    for name in (
        f".feedback_{ids[0]}.csv.tmp",
        f".feedback_{ids[0]}_summary.csv.tmp",
        f".feedback_{ids[0]}.xlsx.tmp",
    ):  # the names the old code used
        (folder / name).symlink_to(victim)
    paths = feedback.write_feedback(wh, ids[0], dirs["outbox"])
    assert victim.read_text() == "do not touch"
    for p in paths.values():
        assert Path(p).is_file() and not Path(p).is_symlink() and Path(p).stat().st_size > 0
        assert oct(Path(p).stat().st_mode & 0o777) == "0o644"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]
    # a district folder swapped for a link to elsewhere is refused, not written through
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(folder)
    folder.symlink_to(elsewhere)
    with pytest.raises(RuntimeError, match="symbolic link"):
        feedback.write_feedback(wh, ids[0], dirs["outbox"])
    assert list(elsewhere.iterdir()) == []
    # ... and it holds back no other district's feedback: the run writes theirs, then says what it refused
    h.land_bytes(dirs["landing"], "3502", "baik.csv", _good(wh, "3502", 2))
    with pytest.raises(RuntimeError, match="every other feedback file was written"):
        h.run_pipeline(wh, dirs, run_id="run-2")
    assert list(dirs["outbox"].glob(f"{h.ROUND}/3502/feedback_*.csv"))
    assert list(elsewhere.iterdir()) == []


# ----------------------------------------------------------------- item 10
def test_file_swapped_after_discovery_is_never_read(wh, dirs, tmp_path):
    h.create_round(wh)
    secret = tmp_path / "secret.csv"
    secret.write_bytes(_good(wh, "3502", 9))  # readable by the pipeline, outside landing
    link = h.land_bytes(dirs["landing"], "3501", "a.csv", _good(wh, "3501", 1))
    other = h.land_bytes(dirs["landing"], "3501", "b.csv", _good(wh, "3501", 2))
    found = {f.path.name: f for f in landed_files.discover(dirs["landing"])}
    link.unlink()
    link.symlink_to(secret)  # swapped for a link between discovery and registration
    replacement = other.with_name(".b.new")
    replacement.write_bytes(_good(wh, "3501", 3))
    os.replace(replacement, other)  # swapped for another file (another inode)
    refused = {}
    for name in ("a.csv", "b.csv"):
        try:
            intake.register(wh, found[name], "run-1", dirs["archive"])
        except Exception as exc:
            refused[name] = exc
    assert _status(wh) == {}  # neither the secret nor the unseen file
    assert [p for p in dirs["archive"].rglob("*") if p.is_file()] == []
    assert {n: (type(e).__name__, e.code) for n, e in refused.items()} == {
        "a.csv": ("LandingProblem", "file_swapped"),
        "b.csv": ("LandingProblem", "file_swapped"),
    }
    assert secret.exists() and link.is_symlink() and other.exists()
    # the new b.csv is a new file: the next discovery sees it and it is registered then
    assert intake.register(wh, landed_files.discover(dirs["landing"])[0], "run-2", dirs["archive"]) is not None


# ----------------------------------------------------------------- issue 14 item 4
def test_misplaced_files_get_a_reason_where_they_were_found_and_no_placeholder_folders(wh, dirs, warehouse_url):
    h.create_round(wh)
    v = h.villages(wh, "3504", 1)[0]
    root_file = dirs["landing"] / "lepas.csv"
    root_file.write_bytes(h.csv_bytes(h.rows_of(h.family(v, 1, 1, 2))))
    no_round = dirs["landing"] / "3504" / "x.csv"
    no_round.parent.mkdir()
    no_round.write_bytes(h.csv_bytes(h.rows_of(h.family(v, 2, 5, 2))))
    too_deep = dirs["landing"] / h.ROUND / "3504" / "sub" / "y.csv"
    too_deep.parent.mkdir(parents=True)
    too_deep.write_bytes(h.csv_bytes(h.rows_of(h.family(v, 3, 9, 2))))
    h.land_bytes(dirs["landing"], "3504", "benar.csv", h.csv_bytes(h.rows_of(h.family(v, 4, 13, 2))))
    env = _child_env(warehouse_url, dirs)
    named = h.land_bytes(dirs["landing"], "3504", "perbaikan NIK 3578010101800021 BUDI SANTOSO.csv", b"x")
    masked = subprocess.run(
        [sys.executable, "-m", "dtks.cli", "landing"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert masked.returncode == 0, masked.stderr
    assert f"{h.ROUND}/3504/perbaikan NIK ****************.csv" in masked.stdout
    assert "3578010101800021" not in masked.stdout and "BUDI" not in masked.stdout
    named.unlink()
    cli = [sys.executable, "-m", "dtks.cli", "landing", "--show-names"]
    before = subprocess.run(cli, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert before.returncode == 0, before.stderr
    assert "waiting for the next ingest run: 4" in before.stdout
    assert (
        "lepas.csv  (" in before.stdout
        and "misplaced, found in <landing>/ (folder utama / the landing root)" in before.stdout
    )
    assert "3504/x.csv" in before.stdout and "found in <landing>/3504/" in before.stdout
    assert f"{h.ROUND}/3504/benar.csv" in before.stdout and f"round {h.ROUND} (open), district 3504" in before.stdout

    h.run_pipeline(wh, dirs)
    status = _status(wh)
    assert status["benar.csv"] == ("merged", None, "3504")
    for name in ("lepas.csv", "x.csv", "y.csv"):
        assert status[name][:2] == ("rejected", "file_misplaced")
    with wh.connect() as conn:
        details = dict(conn.execute(sa.text("SELECT file_name, reject_detail FROM audit.submission")).all())
    assert "ditemukan di <landing>/3504/" in details["x.csv"] and "found in <landing>/3504/" in details["x.csv"]
    assert f"<landing>/{h.ROUND}/3504/sub/" in details["y.csv"]
    assert "<landing>/<putaran>/<kode kab/kota>/" in details["lepas.csv"]
    assert "<landing>/<round>/<district code>/" in details["lepas.csv"]
    outbox_paths = [str(p.relative_to(dirs["outbox"])) for p in dirs["outbox"].rglob("*")]
    assert not [p for p in outbox_paths if "no-round" in p or "no-district" in p or p.startswith("3504")]
    operator = sorted(p.name for p in (dirs["outbox"] / feedback.OPERATOR_FOLDER).glob("feedback_*[0-9].csv"))
    assert len(operator) == 3
    for name in operator:
        text = (dirs["outbox"] / feedback.OPERATOR_FOLDER / name).read_text(encoding="utf-8-sig")
        assert "file_misplaced" in text and "<landing>/<round>/<district code>/" in text
    archived = [p for p in dirs["archive"].rglob("*") if p.is_file()]
    assert sorted(p.name.split("__", 1)[1] for p in archived if p.parent.name == intake.UNROUTED_ARCHIVE) == [
        "lepas.csv",
        "x.csv",
        "y.csv",
    ]
    assert not [p for p in dirs["archive"].rglob("*") if p.name in ("no-round", "no-district")]

    after = subprocess.run(cli, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0, after.stderr
    assert "waiting for the next ingest run: 0" in after.stdout
    assert "archived but not routed (re-land in the right folder to process): 3" in after.stdout
    assert "3504/x.csv  file_misplaced: The file was found in <landing>/3504/" in after.stdout
    assert f"feedback: {dirs['outbox'] / feedback.OPERATOR_FOLDER}" in after.stdout
    # Masked (the default): the whole English reason, although it holds " / " itself, and an
    # archive path whose content-hash prefix is the real file's, so the operator can find it.
    masked_after = subprocess.run(
        [sys.executable, "-m", "dtks.cli", "landing"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert masked_after.returncode == 0, masked_after.stderr
    assert (
        "berkas.csv  file_misplaced: The file was found in <landing>/ (folder utama / the landing root), not in"
        in masked_after.stdout
    )
    lepas = next(p for p in archived if p.name.endswith("__lepas.csv"))
    assert f"archive copy: {lepas.parent}/{lepas.name.split('__')[0]}__berkas.csv" in masked_after.stdout


def test_a_misplaced_file_re_landed_in_the_right_folder_is_processed_not_a_duplicate(wh, dirs):
    # `dtks landing` tells the operator to re-land a misplaced file from its archive copy: the very same
    # bytes. They were never read, so they are a new submission; after it merges, a third copy is a duplicate.
    h.create_round(wh)
    v = h.villages(wh, "3504", 1)[0]
    data = h.csv_bytes(h.rows_of(h.family(v, 1, 1, 3)))
    (dirs["landing"] / "lepas.csv").write_bytes(data)
    h.run_pipeline(wh, dirs)
    archived = next(p for p in (dirs["archive"] / intake.UNROUTED_ARCHIVE).iterdir() if p.name.endswith("lepas.csv"))
    assert archived.read_bytes() == data
    h.land_bytes(dirs["landing"], "3504", "lepas.csv", archived.read_bytes())
    h.run_pipeline(wh, dirs)
    h.land_bytes(dirs["landing"], "3504", "lepas lagi.csv", data)
    h.run_pipeline(wh, dirs)
    with wh.connect() as conn:
        subs = conn.execute(
            sa.text(
                "SELECT submission_id, status, reject_reason, kabkota_code, rows_accepted FROM audit.submission"
                " WHERE kind = 'district' ORDER BY submission_id"
            )
        ).all()
        duplicates = conn.execute(sa.text("SELECT duplicate_of, file_name FROM audit.duplicate_upload")).all()
        registered = conn.execute(sa.text("SELECT count(*) FROM registry.individual")).scalar()
    assert [(s.status, s.reject_reason, s.kabkota_code) for s in subs] == [
        ("rejected", "file_misplaced", None),
        ("merged", None, "3504"),
    ]
    assert subs[1].rows_accepted == 3
    assert [(d.duplicate_of, d.file_name) for d in duplicates] == [(subs[1].submission_id, "lepas lagi.csv")]
    assert registered == 3
