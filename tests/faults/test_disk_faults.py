"""Files and disks misbehaving: each is a recorded failure with a clear reason,
and nothing already accepted is lost."""

import errno
import subprocess

import pytest
import sqlalchemy as sa

from dtks import feedback, intake, landed_files, staging
from tests import scenario
from tests.faults.state import warehouse_state

pytestmark = pytest.mark.postgres


def test_landing_file_vanishes_before_registration(wh, dirs, tmp_path):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    landed = landed_files.discover(dirs["landing"])
    landed[0].path.unlink()  # the district's upload was withdrawn
    results = [intake.register(wh, f, "run", dirs["archive"]) for f in landed]
    assert results[0] is None and results[1] is not None
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.submission WHERE kind = 'district'")).scalar() == 1


def test_archived_file_changed_before_staging_is_rejected_with_reason(wh, dirs, tmp_path, process_landed):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    refs = process_landed("run", until="register").registered
    with wh.connect() as conn:
        path = conn.execute(
            sa.text("SELECT archive_path FROM audit.submission WHERE submission_id = :s"), {"s": refs[0].submission_id}
        ).scalar()
    with open(path, "ab") as f:  # bit rot / tampering in the archive
        f.write(b"tampered\n")
    result = staging.stage(wh, refs[0].submission_id, "run")
    assert (result["status"], result["reason"]) == ("rejected", "archive_integrity")
    with wh.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, reject_reason, reject_detail FROM audit.submission WHERE submission_id = :s"),
            {"s": refs[0].submission_id},
        ).one()
    assert row.status == "rejected" and row.reject_reason == "archive_integrity"
    assert "sha256" in row.reject_detail
    # the other district is not held back
    assert staging.stage(wh, refs[1].submission_id, "run")["status"] == "staged"


def test_unwritable_archive_keeps_the_file_in_landing(wh, dirs, tmp_path):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    blocked = tmp_path / "archive-is-a-file"
    blocked.write_text("not a folder")  # the archive mount is broken
    landed = landed_files.discover(dirs["landing"])
    with pytest.raises(OSError):
        intake.register(wh, landed[0], "run", blocked)
    assert landed[0].path.exists()  # nothing lost: still waiting in landing
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.submission WHERE kind = 'district'")).scalar() == 0
    # once the archive is back, the same file registers normally
    assert intake.register(wh, landed[0], "run", dirs["archive"]) is not None


@pytest.fixture
def full_outbox(tmp_path):
    """A 256 KiB filesystem, nearly filled: the outbox disk is full after the first few files."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    (mount / "filler").write_bytes(b"x" * 250 * 1024)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_outbox_fails_the_feedback_step_and_loses_nothing(
    wh, dirs, tmp_path, full_outbox, reference_state, process_landed
):
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    refs = process_landed("run").registered
    with pytest.raises(OSError) as info:
        feedback.write_run_feedback(wh, "run", [r.submission_id for r in refs], full_outbox)
    assert info.value.errno == errno.ENOSPC
    assert warehouse_state(wh) == reference_state  # everything accepted is still there
    (full_outbox / "filler").unlink()  # space freed: the next run writes what is missing
    written = feedback.write_run_feedback(wh, "next-run", [], full_outbox)
    assert written["submissions"]  # what the full disk refused is written now
    assert sorted(p.name for p in full_outbox.rglob("feedback_*.csv") if "summary" not in p.name) == sorted(
        f"feedback_{r.submission_id}.csv" for r in refs
    )
    assert not list(full_outbox.rglob(".*.tmp"))  # no half-written leftovers
