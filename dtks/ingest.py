"""The life of a submission: discover, register (+archive), stage, validate, merge.

Each step is a plain function that the ``dtks_ingest`` DAG's tasks call and
tests call directly. Each is idempotent: it looks at the submission's status
and does nothing if its work is already done, so a retried task or a re-run
DAG changes nothing the second time. Nothing in this module logs a NIK or a
name: log lines carry submission ids, district codes and counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.parsing import open_submission
from dtks.reasons import SubmissionRejected
from dtks.schema import CANONICAL_COLUMNS
from dtks.validation import check_district_of_rows, load_suite_spec, record_validation, run_row_suite
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart")
_MANIFEST_SUFFIX = ".manifest.json"
_COPY_CHUNK_ROWS = 20_000
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    path: Path
    round_id: str
    kabkota_code: str | None  # None: the file was not inside a district folder


@dataclass(frozen=True)
class SubmissionRef:
    """What XCom carries between tasks: ids and names, never data."""

    submission_id: int
    kabkota_code: str | None
    round_id: str | None
    file_name: str

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------- discovery
def discover(landing_dir: Path, settle_seconds: float = 0.0) -> list[LandedFile]:
    """Files waiting in ``<landing>/<round>/<kabkota>/``, oldest first.

    Manifests travel with their data file; partial uploads and files touched
    in the last ``settle_seconds`` (still being written) wait for a later run.
    """
    found: list[LandedFile] = []
    if not landing_dir.is_dir():
        return found
    now = datetime.now(timezone.utc).timestamp()
    for path in sorted(landing_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.name
        if name.startswith(".") or name.endswith(_MANIFEST_SUFFIX) or name.lower().endswith(_PARTIAL_SUFFIXES):
            continue
        if settle_seconds and now - path.stat().st_mtime < settle_seconds:
            continue
        parts = path.relative_to(landing_dir).parts
        round_id = parts[0] if len(parts) >= 2 else ""
        kabkota = parts[1] if len(parts) == 3 else None
        found.append(LandedFile(path, round_id, kabkota))
    found.sort(key=lambda f: (f.path.stat().st_mtime, str(f.path)))
    return found


# ----------------------------------------------------------------- register
def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def safe_file_name(name: str, limit: int = 120) -> str:
    """A file name that cannot escape a folder or break a terminal."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[-limit:]


def _manifest_for(path: Path) -> tuple[Path | None, dict | None]:
    manifest = path.with_name(path.stem + _MANIFEST_SUFFIX)
    if not manifest.is_file():
        return None, None
    try:
        return manifest, json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return manifest, {"unreadable_manifest": True}


def _archive_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".incoming")
    shutil.copyfile(source, tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    shutil.copystat(source, target)


def register(eng: Engine, landed: LandedFile, run_id: str, archive_dir: Path | None = None,
             kind: str = "district") -> SubmissionRef | None:
    """Record a landed file and move it into the archive. None: content already known.

    The archive copy is made (and fsynced) before the landing file is removed,
    so a crash at any point leaves the file in at least one of the two places.
    """
    archive_dir = archive_dir or settings().archive_dir
    sha, size = sha256_of(landed.path)
    received_at = datetime.fromtimestamp(landed.path.stat().st_mtime, tz=timezone.utc)
    manifest_path, manifest = _manifest_for(landed.path)
    safe_round = safe_file_name(landed.round_id or "no-round")
    safe_district = safe_file_name(landed.kabkota_code or "no-district")
    archive_path = archive_dir / safe_round / safe_district / f"{sha[:16]}__{safe_file_name(landed.path.name)}"
    with eng.begin() as conn:
        existing = conn.execute(sa.text("SELECT submission_id FROM audit.submission WHERE sha256 = :s"), {"s": sha}).first()
        if existing is not None:
            log.info("file with sha256 %s… already registered as submission %s: no-op", sha[:12], existing[0])
            sub_id = None
        else:
            _archive_copy(landed.path, archive_path)
            round_known = conn.execute(sa.text("SELECT 1 FROM audit.round WHERE round_id = :r"), {"r": landed.round_id}).first()
            district_known = landed.kabkota_code is not None and conn.execute(
                sa.text("SELECT 1 FROM ref.kabkota WHERE code = :k"), {"k": landed.kabkota_code}).first()
            sub_id = conn.execute(
                sa.text(
                    "INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, archive_path,"
                    " sha256, size_bytes, received_at, registered_by_run, manifest)"
                    " VALUES (:kind, :round, :district, :name, :landing, :archive, :sha, :size, :received, :run,"
                    " CAST(:manifest AS jsonb)) RETURNING submission_id"
                ),
                {"kind": kind, "round": landed.round_id if round_known else None,
                 "district": landed.kabkota_code if district_known else None,
                 "name": landed.path.name[:500], "landing": str(landed.path)[:2000], "archive": str(archive_path),
                 "sha": sha, "size": size, "received": received_at, "run": run_id,
                 "manifest": json.dumps(manifest) if manifest is not None else None},
            ).scalar_one()
            _event(conn, sub_id, "received", run_id, {"size_bytes": size, "sha256": sha})
            _event(conn, sub_id, "archived", run_id, {"archive_path": str(archive_path)})
            if kind == "district":
                if not round_known:
                    _reject(conn, sub_id, SubmissionRejected("round_unknown", round_id=safe_round), run_id)
                elif not district_known:
                    _reject(conn, sub_id, SubmissionRejected("district_unknown", district=safe_district), run_id)
    # Leave landing only once the archive holds the file (or it was known already).
    landed.path.unlink(missing_ok=True)
    if manifest_path is not None:
        if sub_id is not None:
            _archive_copy(manifest_path, archive_path.with_name(archive_path.name + _MANIFEST_SUFFIX))
        manifest_path.unlink(missing_ok=True)
    if sub_id is None:
        return None
    return SubmissionRef(sub_id, landed.kabkota_code, landed.round_id, landed.path.name)


def _event(conn: sa.Connection, submission_id: int, event: str, run_id: str, detail: dict | None = None) -> None:
    conn.execute(
        sa.text("INSERT INTO audit.submission_event (submission_id, event, run_id, detail)"
                " VALUES (:sid, :event, :run, CAST(:detail AS jsonb))"),
        {"sid": submission_id, "event": event, "run": run_id, "detail": json.dumps(detail or {})},
    )


def _reject(conn: sa.Connection, submission_id: int, why: SubmissionRejected, run_id: str) -> None:
    conn.execute(
        sa.text("UPDATE audit.submission SET status = 'rejected', reject_reason = :code, reject_detail = :detail"
                " WHERE submission_id = :sid"),
        {"sid": submission_id, "code": why.code, "detail": f"{why.message_id} / {why.message_en}"},
    )
    conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
    _event(conn, submission_id, "rejected", run_id, {"reason": why.code})
    log.info("submission %s rejected: %s", submission_id, why.code)


def _status(conn: sa.Connection, submission_id: int, lock: bool = False) -> str:
    return conn.execute(
        sa.text("SELECT status FROM audit.submission WHERE submission_id = :sid" + (" FOR UPDATE" if lock else "")),
        {"sid": submission_id},
    ).scalar_one()


# ----------------------------------------------------------------- stage
def _csv_chunks(rows, submission_id: int):
    buf = io.StringIO()
    writer = csv.writer(buf)
    n = 0
    for file_row, values in rows:
        writer.writerow((submission_id, file_row, *values))
        n += 1
        if n % _COPY_CHUNK_ROWS == 0:
            yield buf, n
            buf = io.StringIO()
            writer = csv.writer(buf)
    yield buf, n


def stage(eng: Engine, submission_id: int, run_id: str) -> dict:
    """Parse the archived file and COPY its rows into staging (streamed, chunked)."""
    with eng.begin() as conn:
        status = _status(conn, submission_id, lock=True)
        if status != "received":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        path, expected_sha = conn.execute(
            sa.text("SELECT archive_path, sha256 FROM audit.submission WHERE submission_id = :sid"), {"sid": submission_id}
        ).one()
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        columns = ", ".join(("submission_id", "file_row", *CANONICAL_COLUMNS))
        rows_in = 0
        try:
            if sha256_of(Path(path))[0] != expected_sha:
                raise RuntimeError(f"archived file of submission {submission_id} changed since registration")
            parsed = open_submission(Path(path))
            with conn.connection.cursor() as cur:
                for buf, rows_in in _csv_chunks(parsed.rows(), submission_id):
                    buf.seek(0)
                    cur.copy_expert(f"COPY staging.submission_row ({columns}) FROM STDIN WITH (FORMAT csv)", buf)
            if rows_in == 0:
                raise SubmissionRejected("file_empty")
        except SubmissionRejected as why:
            _reject(conn, submission_id, why, run_id)
            return {"submission_id": submission_id, "status": "rejected", "reason": why.code}
        conn.execute(
            sa.text("UPDATE audit.submission SET status = 'staged', rows_in = :n WHERE submission_id = :sid"),
            {"sid": submission_id, "n": rows_in},
        )
        _event(conn, submission_id, "staged", run_id, {"rows": rows_in, "format": parsed.format})
    return {"submission_id": submission_id, "status": "staged", "rows_in": rows_in}


# ----------------------------------------------------------------- validate
def validate(eng: Engine, submission_ids: list[int], run_id: str) -> dict[int, dict]:
    """Critical checks per submission, then the row suite over all of them at once."""
    spec = load_suite_spec()
    ready: list[int] = []
    outcome: dict[int, dict] = {}
    for sid in submission_ids:
        with eng.begin() as conn:
            if _status(conn, sid, lock=True) != "staged":
                continue
            try:
                check_district_of_rows(conn, sid)
            except SubmissionRejected as why:
                _reject(conn, sid, why, run_id)
                outcome[sid] = {"status": "rejected", "reason": why.code}
                continue
        ready.append(sid)
    if not ready:
        return outcome
    batch = run_row_suite(eng, ready, run_id, spec)
    for sid in ready:
        with eng.begin() as conn:
            if _status(conn, sid, lock=True) != "staged":
                continue
            counts = record_validation(conn, sid, batch, run_id)
            conn.execute(
                sa.text("UPDATE audit.submission SET status = 'validated', rows_quarantined = :q, rows_warned = :w,"
                        " suite_name = :suite, suite_version = :version WHERE submission_id = :sid"),
                {"sid": sid, "q": counts["rows_quarantined"], "w": counts["rows_warned"],
                 "suite": spec.name, "version": spec.version},
            )
            _event(conn, sid, "validated", run_id, {"suite": spec.name, "version": spec.version, **counts})
            outcome[sid] = {"status": "validated", **counts}
    return outcome


# ----------------------------------------------------------------- merge
def merge(eng: Engine, submission_id: int, run_id: str) -> dict:
    """Merge one validated submission in one transaction (all or nothing)."""
    with eng.begin() as conn:
        district = conn.execute(
            sa.text("SELECT coalesce(kabkota_code, 'none') FROM audit.submission WHERE submission_id = :sid"),
            {"sid": submission_id},
        ).scalar_one()
        # One merge per district at a time: two files of one district never interleave.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('dtks-merge-' || :d))"), {"d": district})
        status = _status(conn, submission_id, lock=True)
        if status != "validated":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        events = dict(conn.execute(sa.text(read_sql("merge_submission.sql")),
                                   {"sid": submission_id, "run_id": run_id}).all())
        accepted = sum(events.values())
        conn.execute(
            sa.text("UPDATE audit.submission SET status = 'merged', rows_accepted = :n, merged_at = now()"
                    " WHERE submission_id = :sid"),
            {"sid": submission_id, "n": accepted},
        )
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        _event(conn, submission_id, "merged", run_id, {"rows_accepted": accepted, "events": events})
    log.info("submission %s merged: %s", submission_id, events)
    return {"submission_id": submission_id, "status": "merged", "rows_accepted": accepted, "events": events}


# ----------------------------------------------------------------- baseline
def load_baseline(eng: Engine, path: Path, run_id: str, received_at: datetime) -> dict:
    """Import the existing registry once, through the same stage and merge path.

    The baseline is the registry as it stood before the first round: it is
    recorded as a submission of kind 'baseline' (archived, hashed) and merged
    without district checks; re-loading the same file is a no-op.
    """
    os.utime(path, (received_at.timestamp(), received_at.timestamp()))
    ref = register(eng, LandedFile(path, "", None), run_id, kind="baseline")
    if ref is None:
        return {"status": "already loaded"}
    staged = stage(eng, ref.submission_id, run_id)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE audit.submission SET status = 'validated', rows_quarantined = 0, rows_warned = 0"
                             " WHERE submission_id = :sid AND status = 'staged'"), {"sid": ref.submission_id})
    merged = merge(eng, ref.submission_id, run_id)
    return {"submission_id": ref.submission_id, "rows_in": staged.get("rows_in"), **merged}


# ----------------------------------------------------------------- DAG glue
def register_landing(run_id: str, landing_dir: str | Path | None = None,
                     settle_seconds: float | None = None) -> list[dict]:
    """Register every landed file, then list every submission still to finish.

    Returning unfinished submissions too (not only this run's) is what makes a
    failed run recover: the next run stages, validates and merges them.
    """
    from dtks.warehouse import engine

    eng = engine()
    conf = settings()
    landing = Path(landing_dir) if landing_dir else conf.landing_dir
    settle = float(os.environ.get("DTKS_LANDING_SETTLE_SECONDS", "0")) if settle_seconds is None else settle_seconds
    for landed in discover(landing, settle):
        register(eng, landed, run_id, conf.archive_dir)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT submission_id, kabkota_code, round_id, file_name FROM audit.submission"
            " WHERE kind = 'district' AND status IN ('received', 'staged', 'validated')"
            " ORDER BY received_at, submission_id")).all()
    return [SubmissionRef(r.submission_id, r.kabkota_code, r.round_id, r.file_name).to_dict() for r in rows]


def district_label(submission: dict) -> str:
    """How a mapped task is named in the Airflow UI: district code and submission id."""
    return f"{submission.get('kabkota_code') or 'tanpa-kode'} #{submission['submission_id']}"


def summarise(eng: Engine, submission_ids: list[int]) -> dict:
    """What a run did to its submissions, by final status (for the asset event and logs)."""
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT status, count(*) AS n, coalesce(sum(rows_accepted), 0) AS accepted"
            " FROM audit.submission WHERE submission_id = ANY(:ids) GROUP BY status"),
            {"ids": [int(i) for i in submission_ids]}).all()
    by_status = {r.status: r.n for r in rows}
    return {
        "submissions_merged": by_status.get("merged", 0),
        "submissions_rejected": by_status.get("rejected", 0),
        "submissions_unfinished": sum(by_status.get(s, 0) for s in ("received", "staged", "validated")),
        "rows_accepted": int(sum(r.accepted for r in rows if r.status == "merged")),
    }
