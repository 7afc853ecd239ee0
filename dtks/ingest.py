"""The life of a submission: discover, register (+archive), stage, validate, merge.

Each step is a plain function that the ``dtks_ingest`` DAG's tasks call and
tests call directly. Each is idempotent: it looks at the submission's status
and does nothing if its work is already done, so a retried task or a re-run
DAG changes nothing the second time. Nothing in this module logs a NIK or a
name: log lines carry submission ids, district codes and counts.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import stat
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import value_mapping
from dtks.config import settings
from dtks.faults import failpoint
from dtks.parsing import BulkCopyPlan, bulk_copy_plan, limits, open_submission
from dtks.reasons import SubmissionRejected
from dtks.schema import STAGED_COLUMNS
from dtks.validation import (
    FILE_SUITE_FILE,
    ROW_SUITE_FILE,
    load_suite_spec,
    record_file_checks,
    record_parse_rejection,
    record_suite_definition,
    record_validation,
    run_file_suite,
    run_row_suite,
)
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart")
_MANIFEST_SUFFIX = ".manifest.json"
_COPY_CHUNK_ROWS = 20_000
# Rows per run of the row suite: a national round is checked in batches of whole files.
_VALIDATION_BATCH_ROWS = 500_000
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    path: Path
    round_id: str             # "": the file was not at <landing>/<round>/<kabkota>/
    kabkota_code: str | None  # None: the file was not inside a district folder
    found_in: str = ""        # the folder it was found in, relative to landing ("" = the landing root)
    identity: tuple[int, int] | None = None  # (device, inode) discovery saw: what registration may read

    @property
    def misplaced(self) -> bool:
        return self.kabkota_code is None


class LandingProblem(Exception):
    """A landed file that cannot be taken in now: it stays in landing, recorded for the operator."""

    def __init__(self, code: str, detail: str) -> None:
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}")


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
def _text(name: str) -> str:
    """A file or folder name as text the database and logs can hold (bytes that are not UTF-8 escaped)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def discover(landing_dir: Path, settle_seconds: float = 0.0) -> list[LandedFile]:
    """Files waiting in ``<landing>/<round>/<kabkota>/``, oldest first.

    Only regular files inside the landing folder are seen: symbolic links
    (to files or folders) are neither followed nor read, so nothing outside
    the landing folder can be pulled in, whatever the names. Hidden files and
    folders (upload tools' temporary files), partial uploads (``.part`` …)
    and files touched in the last ``settle_seconds`` (still being written)
    wait for a later run; manifests travel with their data file.
    """
    found: list[tuple[float, str, LandedFile]] = []
    if not landing_dir.is_dir():
        return []
    root = landing_dir.resolve()
    now = time.time()
    for dirpath, dirnames, filenames in os.walk(landing_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(_MANIFEST_SUFFIX) or name.lower().endswith(_PARTIAL_SUFFIXES):
                continue
            path = Path(dirpath) / name
            try:
                info = path.lstat()
                inside = path.resolve().is_relative_to(root)
            except (OSError, RuntimeError):
                continue  # vanished meanwhile, or a link loop
            if not stat.S_ISREG(info.st_mode) or not inside:
                continue  # symlinks, fifos, devices: never read
            if settle_seconds and now - info.st_mtime < settle_seconds:
                continue
            parts = path.relative_to(landing_dir).parts
            placed = len(parts) == 3  # <round>/<kabkota>/<file>: anything else is misplaced
            round_id = _text(parts[0]) if placed else ""
            kabkota = _text(parts[1]) if placed else None
            found.append((info.st_mtime, str(path), LandedFile(path, round_id, kabkota, _text("/".join(parts[:-1])),
                                                               (info.st_dev, info.st_ino))))
    found.sort(key=lambda f: (f[0], f[1]))
    return [f for _, _, f in found]


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


_MANIFEST_MAX_BYTES = 64 * 1024


def _manifest_for(path: Path) -> tuple[Path | None, dict | None, tuple | None]:
    """The manifest beside a data file: a regular file (never a link), small, JSON; and its identity.

    A manifest that exists but cannot be opened (permissions, I/O) raises
    :class:`LandingProblem`: its data file waits in landing with it.
    """
    manifest = path.with_name(path.stem + _MANIFEST_SUFFIX)
    try:
        info = manifest.lstat()
    except OSError:
        return None, None, None
    if not stat.S_ISREG(info.st_mode):
        return None, None, None  # a link or device named like a manifest is not read
    identity = _identity(info)
    if info.st_size > _MANIFEST_MAX_BYTES:
        return manifest, {"unreadable_manifest": True}, identity
    try:
        with _open_regular(manifest) as f:
            raw = f.read(_MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        raise LandingProblem("manifest_unreadable", type(exc).__name__) from exc
    try:
        return manifest, json.loads(raw.decode("utf-8")), identity
    except (ValueError, UnicodeDecodeError, RecursionError):
        return manifest, {"unreadable_manifest": True}, identity


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What says "the same file": device, inode, size and modification time."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _open_regular(path: Path):
    """Open a landed file for reading without following a symbolic link or blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LandingProblem("file_swapped", "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make a rename or new name in ``folder`` durable (the directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_if_same(path: Path, identity: tuple | None) -> bool:
    """Remove a landed file only if it is still the file that was archived.

    A district may upload a corrected file under the same name while the
    first is being registered: that new file is not the archived one, so it
    stays in landing for the next run instead of being deleted unseen.
    """
    try:
        now = _identity(path.lstat())
    except FileNotFoundError:
        return False
    if identity is not None and now != identity:
        log.warning("a landed file was replaced while being registered: the new upload stays for the next run")
        return False
    path.unlink(missing_ok=True)
    return True


def _archive_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".incoming")
    with _open_regular(source) as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)


@dataclass(frozen=True)
class Captured:
    intake: Path                  # the copy in <archive>/.intake/, fsynced
    sha256: str
    size: int
    received_at: datetime         # the arrival time recorded (see arrival_time)
    arrival_source: str
    file_mtime: datetime          # the modification time as uploaded (kept, never trusted)
    identity: tuple               # (device, inode, size, mtime_ns) of the landed file copied


ARRIVAL_FROM_MTIME_ENV = "DTKS_ARRIVAL_FROM_MTIME"


def arrival_time(info: os.stat_result) -> tuple[datetime, str]:
    """When a landed file arrived: its ctime (the last change of the file in landing).

    Upload tools keep the uploader's modification time (WinSCP, ``sftp -p``,
    ``rsync -t``), so a file's mtime says nothing about when it came; its
    ctime is set by the file system when the upload writes (or renames) it
    and no user can set it back. ``DTKS_ARRIVAL_FROM_MTIME=1`` trusts the
    mtime instead: only for replaying past rounds from generated files (the
    demo, the tests, the benchmark), never in production.
    """
    if os.environ.get(ARRIVAL_FROM_MTIME_ENV, "").strip() in ("1", "true", "yes"):
        return datetime.fromtimestamp(info.st_mtime, tz=timezone.utc), "mtime_replay"
    return datetime.fromtimestamp(info.st_ctime, tz=timezone.utc), "ctime"


def _capture(landed: LandedFile, archive_dir: Path) -> Captured | None:
    """Copy a landed file into the archive's intake folder, hashing what is written.

    One read of the file gives both the archived bytes and their sha256, so
    the hash recorded is the hash of the archived copy. The file is opened
    without following links, and must be the very file discovery saw (same
    inode): a link or another file swapped in meanwhile is never read. None
    when the file changed while being copied (still being uploaded): it waits
    for a later run. A file that cannot be read raises :class:`LandingProblem`.
    """
    try:
        src = _open_regular(landed.path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        if exc.errno == errno.ELOOP:
            raise LandingProblem("file_swapped", "symbolic link") from exc
        raise LandingProblem("file_unreadable", type(exc).__name__) from exc
    intake = archive_dir / ".intake"
    intake.mkdir(parents=True, exist_ok=True)
    tmp = intake / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with src:
            before = os.fstat(src.fileno())
            if landed.identity is not None and (before.st_dev, before.st_ino) != landed.identity:
                raise LandingProblem("file_swapped", "another file than the one discovered")
            with tmp.open("wb") as dst:
                while True:
                    try:
                        chunk = src.read(_HASH_CHUNK)
                    except OSError as exc:  # reading the landed file (writing the archive fails the task)
                        raise LandingProblem("file_unreadable", type(exc).__name__) from exc
                    if not chunk:
                        break
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            after = os.fstat(src.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # no intake copy is left behind, whatever went wrong
        raise
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or size != after.st_size:
        tmp.unlink(missing_ok=True)
        return None
    os.utime(tmp, ns=(after.st_atime_ns, after.st_mtime_ns))  # the archive keeps the file's times as uploaded
    received_at, source = arrival_time(after)
    return Captured(tmp, digest.hexdigest(), size, received_at, source,
                    datetime.fromtimestamp(after.st_mtime, tz=timezone.utc), _identity(after))


def _record_duplicate(conn: sa.Connection, landed: LandedFile, duplicate_of: int, sha: str, size: int,
                      received_at: datetime, run_id: str) -> None:
    """The same content landing again: recorded (never applied twice), pointing at the original."""
    conn.execute(
        sa.text("INSERT INTO audit.duplicate_upload (duplicate_of, round_folder, kabkota_folder, file_name,"
                " landing_path, sha256, size_bytes, received_at, run_id)"
                " VALUES (:of, :round, :district, :name, :landing, :sha, :size, :received, :run)"
                " ON CONFLICT (sha256, landing_path, received_at) DO NOTHING"),
        {"of": duplicate_of, "round": landed.round_id[:200] or None,
         "district": (landed.kabkota_code or "")[:200] or None, "name": _text(landed.path.name)[:500],
         "landing": _text(str(landed.path))[:2000], "sha": sha, "size": size, "received": received_at,
         "run": run_id},
    )


UNROUTED_ARCHIVE = "_unrouted"  # archive folder of files that landed outside <round>/<kabkota>/


def register(eng: Engine, landed: LandedFile, run_id: str, archive_dir: Path | None = None,
             kind: str = "district", received_at: datetime | None = None,
             keep_source: bool = False) -> SubmissionRef | None:
    """Record a landed file and move it into the archive. None: content already known.

    The archive copy is made (and fsynced, with its folder) before the landing
    file is removed, so a crash at any point leaves the file in at least one of
    the two places; and the landing file is removed only if it is still the
    file that was archived. A file that cannot be read raises
    :class:`LandingProblem` and is left where it is, with nothing in the
    archive. ``received_at`` overrides the arrival time (a baseline's date,
    given by the operator); ``keep_source`` leaves the file where it is (an
    operator's own file, e.g. ``dtks baseline load FILE``).
    """
    archive_dir = archive_dir or settings().archive_dir
    # The manifest first: if it cannot be read, nothing is copied and both wait in landing.
    try:
        manifest_path, manifest, manifest_identity = _manifest_for(landed.path)
        captured = _capture(landed, archive_dir)
    except FileNotFoundError:
        log.info("a landed file vanished before it was registered: skipped")
        return None
    if captured is None:
        log.info("a landed file changed while being archived (still uploading): left for a later run")
        return None
    sha, size = captured.sha256, captured.size
    if received_at is None:
        received_at = captured.received_at
        arrival = {"arrival_source": captured.arrival_source}
    else:
        arrival = {"arrival_source": "given"}
    arrival["file_mtime"] = captured.file_mtime.isoformat()
    misplaced = kind == "district" and landed.misplaced
    if misplaced:
        archive_folder = archive_dir / UNROUTED_ARCHIVE
    else:
        archive_folder = archive_dir / safe_file_name(landed.round_id or kind) / safe_file_name(
            landed.kabkota_code or kind)
    archive_path = archive_folder / f"{sha[:16]}__{safe_file_name(landed.path.name)}"
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(captured.intake, archive_path)  # archived (content-addressed name) before anything is recorded
    _fsync_dir(archive_path.parent)
    failpoint("register.after_archive_copy")
    with eng.begin() as conn:
        # Two runs registering the same content at once: the second waits, then sees a duplicate.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('dtks-register-' || :s))"), {"s": sha})
        existing = conn.execute(sa.text("SELECT submission_id FROM audit.submission WHERE sha256 = :s"), {"s": sha}).first()
        if existing is not None:
            log.info("file with sha256 %s… already registered as submission %s: duplicate upload recorded",
                     sha[:12], existing[0])
            _record_duplicate(conn, landed, existing[0], sha, size, received_at, run_id)
            sub_id = None
        else:
            from dtks import rounds  # the round a file counts for: by arrival time (dtks.rounds.assign_round)
            assignment = (rounds.assign_round(conn, landed.round_id, received_at)
                          if kind == "district" and not misplaced else None)
            round_known = assignment is not None and assignment.round_id is not None
            district_known = landed.kabkota_code is not None and conn.execute(
                sa.text("SELECT 1 FROM ref.kabkota WHERE code = :k"), {"k": landed.kabkota_code}).first()
            sub_id = conn.execute(
                sa.text(
                    "INSERT INTO audit.submission (kind, round_id, kabkota_code, file_name, landing_path, archive_path,"
                    " sha256, size_bytes, received_at, registered_by_run, manifest)"
                    " VALUES (:kind, :round, :district, :name, :landing, :archive, :sha, :size, :received, :run,"
                    " CAST(:manifest AS jsonb)) RETURNING submission_id"
                ),
                {"kind": kind, "round": assignment.round_id if round_known else None,
                 "district": landed.kabkota_code if district_known else None,
                 "name": _text(landed.path.name)[:500], "landing": _text(str(landed.path))[:2000],
                 "archive": str(archive_path),
                 "sha": sha, "size": size, "received": received_at, "run": run_id,
                 "manifest": json.dumps(manifest) if manifest is not None else None},
            ).scalar_one()
            if assignment is not None:
                rounds.record_assignment(conn, sub_id, assignment)
            _event(conn, sub_id, "received", run_id, {"size_bytes": size, "sha256": sha, **arrival,
                                                      **(assignment.detail() if assignment else {})})
            _event(conn, sub_id, "archived", run_id, {"archive_path": str(archive_path)})
            if misplaced:
                _reject(conn, sub_id, SubmissionRejected("file_misplaced", found=misplaced_location(landed)), run_id)
            elif kind == "district":
                if not round_known:
                    _reject(conn, sub_id, SubmissionRejected(assignment.reject_code,
                                                             round_id=safe_file_name(landed.round_id)), run_id)
                elif not district_known:
                    _reject(conn, sub_id, SubmissionRejected(
                        "district_unknown", district=safe_file_name(landed.kabkota_code or "")), run_id)
    failpoint("register.after_commit")
    # Leave landing only once the archive holds the file (or it was known already), and
    # only the very file archived: a re-upload under the same name meanwhile stays.
    if not keep_source:
        _unlink_if_same(landed.path, captured.identity)
    if manifest_path is not None:
        if sub_id is not None:
            _archive_copy(manifest_path, archive_path.with_name(archive_path.name + _MANIFEST_SUFFIX))
        elif manifest is not None:  # a duplicate's manifest is kept too, by its own content hash
            with _open_regular(manifest_path) as f:
                tag = hashlib.sha256(f.read(_MANIFEST_MAX_BYTES + 1)).hexdigest()[:16]
            _archive_copy(manifest_path, archive_path.with_name(f"{archive_path.name}.{tag}{_MANIFEST_SUFFIX}"))
        if not keep_source:
            _unlink_if_same(manifest_path, manifest_identity)
    if sub_id is None:
        return None
    return SubmissionRef(sub_id, landed.kabkota_code if not misplaced else None,
                         assignment.round_id if round_known else (landed.round_id or None),
                         _text(landed.path.name))


def misplaced_location(landed: LandedFile) -> str:
    """Where a misplaced file was found, as a district officer reads it (folder names only)."""
    if not landed.found_in:
        return "<landing>/ (folder utama / the landing root)"
    return "<landing>/" + "/".join(safe_file_name(part, 40) for part in landed.found_in.split("/")) + "/"


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
    # Which NIK/KK the rejected file carried: lineage lists every attempt (registry.attempts_of).
    conn.execute(sa.text(
        "INSERT INTO quarantine.rejected_file_row (submission_id, file_row, nik, no_kk)"
        " SELECT submission_id, file_row, nullif(btrim(nik), ''), nullif(btrim(no_kk), '')"
        " FROM staging.submission_row WHERE submission_id = :sid AND (nik IS NOT NULL OR no_kk IS NOT NULL)"
        " ON CONFLICT DO NOTHING"), {"sid": submission_id})
    conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
    _event(conn, submission_id, "rejected", run_id, {"reason": why.code, "message_id": why.message_id,
                                                     "message_en": why.message_en})
    log.info("submission %s rejected: %s", submission_id, why.code)


def _status(conn: sa.Connection, submission_id: int, lock: bool = False) -> str:
    return conn.execute(
        sa.text("SELECT status FROM audit.submission WHERE submission_id = :sid" + (" FOR UPDATE" if lock else "")),
        {"sid": submission_id},
    ).scalar_one()


# ----------------------------------------------------------------- stage
def _csv_chunks(records, submission_id: int):
    buf = io.StringIO()
    writer = csv.writer(buf)
    n = 0
    for file_row, source_line, values in records:
        writer.writerow((submission_id, file_row, source_line, *values))
        n += 1
        if n % _COPY_CHUNK_ROWS == 0:
            yield buf, n
            buf = io.StringIO()
            writer = csv.writer(buf)
    yield buf, n


def _copy_plain_file(conn: sa.Connection, submission_id: int, path: Path, plan: BulkCopyPlan) -> int | None:
    """COPY a plain CSV into staging without Python touching its rows; rows staged, or None.

    The file goes as it is into a temporary table of its own columns, then
    one INSERT maps the columns, trims values (``staging.strip_text``: what
    the parser's ``str.strip`` does; an empty value is NULL, as the parser's
    rows arrive through COPY too), drops blank lines and numbers rows and
    source lines as the parser does. None: COPY refused the file (a row with
    too few or too many fields, a mixed line end, a byte the encoding cannot
    hold …); everything is undone and the parser reads it and names the reason.
    """
    raw = [f"c{i}" for i in range(plan.columns)]
    # (a value starting and ending with a visible ASCII character needs no trimming: most of them)
    values = ["NULL" if (p := plan.positions.get(c)) is None else
              f"CASE WHEN ascii(c{p}) BETWEEN 33 AND 126 AND ascii(right(c{p}, 1)) BETWEEN 33 AND 126 THEN c{p}"
              f" ELSE nullif(staging.strip_text(c{p}), '') END" for c in STAGED_COLUMNS]
    # the parser skips lines without any value (most lines fail this at their first column)
    blank = "(" + " AND ".join(f"coalesce(staging.strip_text({c}), '') = ''" for c in raw) + ")"
    attempt = conn.begin_nested()
    try:
        conn.execute(sa.text(f"CREATE TEMP TABLE file_row_as_sent (line_no integer GENERATED ALWAYS AS IDENTITY,"
                             f" {', '.join(c + ' text' for c in raw)}) ON COMMIT DROP"))
        delimiter = plan.delimiter.replace("\t", "\\t")
        with conn.connection.cursor() as cur, path.open("rb") as f:
            f.seek(plan.data_offset)
            cur.copy_expert(f"COPY pg_temp.file_row_as_sent ({', '.join(raw)}) FROM STDIN WITH (FORMAT csv,"
                            f" DELIMITER E'{delimiter}', ENCODING '{plan.copy_encoding}')", f, size=_HASH_CHUNK)
        blanks = conn.execute(sa.text(f"SELECT count(*) FROM pg_temp.file_row_as_sent WHERE {blank}")).scalar_one()
        # numbered like the parser: data rows from 1 without blank lines; source_line counts every physical line
        file_row = "line_no" if blanks == 0 else "row_number() OVER (ORDER BY line_no)"
        rows = conn.execute(sa.text(
            f"INSERT INTO staging.submission_row (submission_id, file_row, source_line, {', '.join(STAGED_COLUMNS)})"
            f" SELECT :sid, {file_row}, :header_lines + line_no, {', '.join(values)}"
            f" FROM pg_temp.file_row_as_sent" + (f" WHERE NOT {blank}" if blanks else "")),
            {"sid": submission_id, "header_lines": plan.header_lines}).rowcount
        conn.execute(sa.text("DROP TABLE pg_temp.file_row_as_sent"))
    except (psycopg2.Error, sa.exc.DBAPIError) as exc:
        # Whatever the database refused (a malformed row, too many columns for a table, a row
        # too big for a page …), the parser reads the file and names the reason. If the
        # connection itself is gone, the rollback raises and the task is retried.
        attempt.rollback()
        code = getattr(getattr(exc, "orig", exc), "pgcode", None)
        log.info("submission %s: the bulk path refused the file (%s); read by the parser instead",
                 submission_id, code)
        return None
    attempt.commit()
    return rows


def stage(eng: Engine, submission_id: int, run_id: str) -> dict:
    """Parse the archived file and COPY its rows into staging (streamed, chunked).

    Whatever the file holds, the outcome is 'staged' or 'rejected' with a
    reason (recorded under the critical suite): the parser turns every defect
    of the content into a reason, and the size and row limits
    (``DTKS_MAX_FILE_BYTES``, ``DTKS_MAX_ROWS``) are checked before and while
    reading. Only faults of the machine (database, disk) fail the task, to be
    retried.
    """
    lim = limits()
    with eng.begin() as conn:
        status = _status(conn, submission_id, lock=True)
        if status != "received":
            return {"submission_id": submission_id, "status": status, "skipped": True}
        path, expected_sha, size = conn.execute(
            sa.text("SELECT archive_path, sha256, size_bytes FROM audit.submission WHERE submission_id = :sid"),
            {"sid": submission_id},
        ).one()
        conn.execute(sa.text("DELETE FROM staging.submission_row WHERE submission_id = :sid"), {"sid": submission_id})
        columns = ", ".join(("submission_id", "file_row", "source_line", *STAGED_COLUMNS))
        rows_in = 0
        try:
            if size > lim.max_file_bytes:
                raise SubmissionRejected("file_too_large", size=size, limit=lim.max_file_bytes)
            if sha256_of(Path(path))[0] != expected_sha:
                # The archive no longer holds what was received: never stage it, say so.
                log.error("archived file of submission %s changed since registration (sha256 mismatch)", submission_id)
                raise SubmissionRejected("archive_integrity")
            plan = bulk_copy_plan(Path(path), lim)
            copied = _copy_plain_file(conn, submission_id, Path(path), plan) if plan else None
            if copied is not None:
                rows_in, read_as = copied, {"format": "csv", "encoding": plan.encoding, "path": "bulk"}
            else:
                parsed = open_submission(Path(path), lim)
                with conn.connection.cursor() as cur:
                    for buf, rows_in in _csv_chunks(parsed.records(), submission_id):
                        buf.seek(0)
                        cur.copy_expert(f"COPY staging.submission_row ({columns}) FROM STDIN WITH (FORMAT csv)", buf)
                read_as = {"format": parsed.format, "encoding": parsed.encoding, "path": "parser"}
            if rows_in == 0:
                raise SubmissionRejected("file_empty")
            if rows_in > lim.max_rows:
                raise SubmissionRejected("file_too_many_rows", limit=lim.max_rows)
        except SubmissionRejected as why:
            record_parse_rejection(conn, submission_id, why.code, run_id)
            _reject(conn, submission_id, why, run_id)
            return {"submission_id": submission_id, "status": "rejected", "reason": why.code}
        conn.execute(
            sa.text("UPDATE audit.submission SET status = 'staged', rows_in = :n WHERE submission_id = :sid"),
            {"sid": submission_id, "n": rows_in},
        )
        _event(conn, submission_id, "staged", run_id, {"rows": rows_in, **read_as})
        failpoint("stage.before_commit")
    return {"submission_id": submission_id, "status": "staged", "rows_in": rows_in}


# ----------------------------------------------------------------- validate
def validate(eng: Engine, submission_ids: list[int], run_id: str) -> dict[int, dict]:
    """The critical suite over the staged submissions, then the row suite over those that pass.

    One GX run per suite for the whole batch. A submission failing a critical
    rule is rejected whole (every failed rule recorded); the others get their
    rows' errors quarantined and warnings flagged, with the suite's name and
    version stored with every result.
    """
    row_spec = load_suite_spec(ROW_SUITE_FILE)
    file_spec = load_suite_spec(FILE_SUITE_FILE)
    outcome: dict[int, dict] = {}
    with eng.connect() as conn:
        staged = [int(sid) for sid in conn.execute(
            sa.text("SELECT submission_id FROM audit.submission WHERE submission_id = ANY(:ids) AND status = 'staged'"
                    " ORDER BY submission_id"), {"ids": [int(s) for s in submission_ids]}).scalars()]
    if not staged:
        return outcome
    with eng.begin() as conn:
        record_suite_definition(conn, file_spec)
        record_suite_definition(conn, row_spec)
        # the words the checks read as codes: the declared file as it is now
        mapping_version = value_mapping.sync(conn)
    with eng.connect() as conn:
        # Fresh statistics for the rows just staged (autovacuum may not have seen them yet):
        # with stale ones the planner chose plans minutes slower for a national batch.
        conn.execute(sa.text("ANALYZE staging.submission_row"))
        conn.commit()
    critical = run_file_suite(eng, staged, file_spec)
    ready: list[int] = []
    for sid in staged:
        with eng.begin() as conn:
            if _status(conn, sid, lock=True) != "staged":
                continue
            failed = critical.get(sid, [])
            record_file_checks(conn, sid, file_spec, failed, run_id)
            if failed:
                _reject(conn, sid, failed[0], run_id)
                outcome[sid] = {"status": "rejected", "reason": failed[0].code}
                continue
        ready.append(sid)
    position = 0
    for batch_ids in _validation_batches(eng, ready):
        batch = run_row_suite(eng, batch_ids, run_id, row_spec)
        failpoint("validate.after_gx")
        for sid in batch_ids:
            position += 1
            if position == 2:
                failpoint("validate.between_submissions")
            with eng.begin() as conn:
                if _status(conn, sid, lock=True) != "staged":
                    continue
                counts = record_validation(conn, sid, batch, run_id)
                conn.execute(
                    sa.text("UPDATE audit.submission SET status = 'validated', rows_quarantined = :q,"
                            " rows_warned = :w, suite_name = :suite, suite_version = :version"
                            " WHERE submission_id = :sid"),
                    {"sid": sid, "q": counts["rows_quarantined"], "w": counts["rows_warned"],
                     "suite": row_spec.name, "version": row_spec.version},
                )
                _event(conn, sid, "validated", run_id, {"suite": row_spec.name, "version": row_spec.version,
                                                        "critical_suite": file_spec.name,
                                                        "critical_version": file_spec.version,
                                                        "value_mapping": mapping_version, **counts})
                outcome[sid] = {"status": "validated", **counts}
    return outcome


def validation_batch_rows() -> int:
    """Staged rows checked together in one run of the row suite (DTKS_VALIDATION_BATCH_ROWS)."""
    value = os.environ.get("DTKS_VALIDATION_BATCH_ROWS", "").strip()
    return max(1, int(value)) if value else _VALIDATION_BATCH_ROWS


def _validation_batches(eng: Engine, submission_ids: list[int]) -> list[list[int]]:
    """Whole submissions, in order, grouped up to the batch size (a larger file is a batch of its own).

    Every rule looks within one file or at the registry, so how files are
    grouped never changes a result; bounded batches keep the check table, its
    sorts and GX's lists of failing rows the same size whatever the round's.
    """
    limit = validation_batch_rows()
    with eng.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT submission_id, coalesce(rows_in, 0) FROM audit.submission"
                                         " WHERE submission_id = ANY(:ids)"), {"ids": submission_ids}).all())
    batches: list[list[int]] = []
    size = 0
    for sid in submission_ids:
        if not batches or size + rows.get(sid, 0) > limit:
            batches.append([])
            size = 0
        batches[-1].append(sid)
        size += rows.get(sid, 0)
    return batches


# ----------------------------------------------------------------- merge
def merge(eng: Engine, submission_id: int, run_id: str) -> dict:
    """Merge one validated submission in one transaction (all or nothing).

    Files of one district are merged one at a time (a session advisory lock
    per district) and in arrival order: an earlier validated file of the same
    district is merged first, so concurrent or out-of-order tasks leave the
    same history as processing the files one after another.
    """
    with eng.connect() as conn:
        district = conn.execute(
            sa.text("SELECT coalesce(kabkota_code, 'none') FROM audit.submission WHERE submission_id = :sid"),
            {"sid": submission_id},
        ).scalar_one()
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext('dtks-merge-' || :d))"), {"d": district})
        conn.commit()
        try:
            earlier = conn.execute(sa.text(
                "SELECT e.submission_id FROM audit.submission e, audit.submission s"
                " WHERE s.submission_id = :sid AND e.status = 'validated' AND e.kind = s.kind"
                " AND e.kabkota_code IS NOT DISTINCT FROM s.kabkota_code"
                " AND (e.received_at, e.submission_id) < (s.received_at, s.submission_id)"
                " ORDER BY e.received_at, e.submission_id"), {"sid": submission_id}).scalars().all()
            conn.commit()
            for sid in earlier:
                _merge_one(conn, sid, run_id)
            return _merge_one(conn, submission_id, run_id)
        finally:
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('dtks-merge-' || :d))"), {"d": district})
            conn.commit()


def _merge_one(conn: sa.Connection, submission_id: int, run_id: str) -> dict:
    with conn.begin():
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
        from dtks import rounds  # resubmission policy: the district's latest accepted file of the round stands
        superseded = rounds.supersede_earlier(conn, submission_id, run_id)
        failpoint("merge.before_commit")
    failpoint("merge.after_commit")
    log.info("submission %s merged: %s", submission_id, events)
    return {"submission_id": submission_id, "status": "merged", "rows_accepted": accepted, "events": events,
            **({"superseded": superseded} if superseded else {})}


# ----------------------------------------------------------------- baseline
def load_baseline(eng: Engine, path: Path, run_id: str, received_at: datetime) -> dict:
    """Import the existing registry once, through the same stage and merge path.

    The baseline is the registry as it stood before the first round: it is
    recorded as a submission of kind 'baseline' (archived, hashed) and merged
    without district checks; re-loading the same file is a no-op. The
    operator's file is read, never changed or removed: the archive holds the copy.
    """
    ref = register(eng, LandedFile(path, "", None), run_id, kind="baseline", received_at=received_at,
                   keep_source=True)
    if ref is None:
        return {"status": "already loaded"}
    staged = stage(eng, ref.submission_id, run_id)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE audit.submission SET status = 'validated', rows_quarantined = 0, rows_warned = 0"
                             " WHERE submission_id = :sid AND status = 'staged'"), {"sid": ref.submission_id})
    merged = merge(eng, ref.submission_id, run_id)
    with eng.connect() as conn:
        # a bulk load: the next merges plan with statistics of the registry as it now is
        conn.execute(sa.text("ANALYZE registry.individual, registry.household, registry.individual_version,"
                             " registry.household_version"))
        conn.commit()
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
    problems: dict[str, LandingProblem] = {}
    for landed in discover(landing, settle):
        # One file that cannot be read must not stop the others (nor every later run).
        try:
            register(eng, landed, run_id, conf.archive_dir)
        except LandingProblem as why:
            log.warning("a landed file could not be taken in (%s); it stays in landing: see `dtks landing`", why.code)
            problems[_text(str(landed.path))] = why
    record_landing_problems(eng, problems, run_id)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT submission_id, kabkota_code, round_id, file_name FROM audit.submission"
            " WHERE kind = 'district' AND status IN ('received', 'staged', 'validated')"
            " ORDER BY received_at, submission_id")).all()
    return [SubmissionRef(r.submission_id, r.kabkota_code, r.round_id, r.file_name).to_dict() for r in rows]


def record_landing_problems(eng: Engine, problems: dict[str, LandingProblem], run_id: str) -> None:
    """Keep this run's unreadable landed files in ``audit.landing_problem``; resolve the ones gone.

    When there are new ones and ``DTKS_ALERT_EMAIL`` is set, the operators get
    one e-mail with the count (no file names: they may hold names or NIKs).
    """
    with eng.begin() as conn:
        known = set(conn.execute(sa.text(
            "SELECT landing_path FROM audit.landing_problem WHERE resolved_at IS NULL")).scalars())
        for path, why in problems.items():
            conn.execute(sa.text(
                "INSERT INTO audit.landing_problem (landing_path, problem, detail, last_run_id)"
                " VALUES (:path, :problem, :detail, :run) ON CONFLICT (landing_path) DO UPDATE SET"
                " problem = excluded.problem, detail = excluded.detail, last_seen_at = now(),"
                " last_run_id = excluded.last_run_id, resolved_at = NULL"),
                {"path": path[:2000], "problem": why.code, "detail": why.detail, "run": run_id})
        conn.execute(sa.text("UPDATE audit.landing_problem SET resolved_at = now()"
                             " WHERE resolved_at IS NULL AND NOT (landing_path = ANY(:paths))"),
                     {"paths": [p[:2000] for p in problems]})
    new = [p for p in problems if p[:2000] not in known]
    if new:
        from dtks import notify
        recipients = notify.alert_recipients()
        if recipients:
            try:
                notify.send_alert(f"[DTKS] {len(new)} landed file(s) could not be read",
                                  f"<p>{len(new)} new file(s) in the landing folder could not be read and wait"
                                  " there. Run <code>dtks landing</code> on the pipeline host to see which and why."
                                  "</p>", recipients)
            except Exception as exc:  # alerting must never change the run's outcome
                log.warning("could not send the landing alert (%s)", type(exc).__name__)


def district_label(submission: dict) -> str:
    """How a mapped task is named in the Airflow UI: district code and submission id."""
    return f"{submission.get('kabkota_code') or 'tanpa-kode'} #{submission['submission_id']}"


def summarise(eng: Engine, submission_ids: list[int]) -> dict:
    """What a run did to its submissions, by final status (for the asset event and logs)."""
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT CASE WHEN merged_at IS NOT NULL THEN 'merged' ELSE status END AS status, count(*) AS n,"
            " coalesce(sum(rows_accepted), 0) AS accepted"
            " FROM audit.submission WHERE submission_id = ANY(:ids) GROUP BY 1"),
            {"ids": [int(i) for i in submission_ids]}).all()
    by_status = {r.status: r.n for r in rows}
    # (a file merged and then superseded by a later one in the same run counts as merged)
    return {
        "submissions_merged": by_status.get("merged", 0),
        "submissions_rejected": by_status.get("rejected", 0),
        "submissions_unfinished": sum(by_status.get(s, 0) for s in ("received", "staged", "validated")),
        "rows_accepted": int(sum(r.accepted for r in rows if r.status == "merged")),
    }
