"""Landed files, read safely: what waits in landing, its copy into the archive, its arrival time.

Landing is written by the districts' upload accounts and nothing there is
trusted. Discovery sees only regular files inside the landing folder; a file
is then opened without following links and must be the very inode discovery
saw; one read copies it into ``<archive>/.intake/`` and hashes it; the
arrival time is the file's ctime; and a landed file is removed only if it is
still the file that was archived. Nothing here touches the database
(``dtks.intake.register`` records what this module captured).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from dtks.config import settings

log = logging.getLogger(__name__)

PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart")
MANIFEST_SUFFIX = ".manifest.json"

FileIdentity = tuple[int, int, int, int]  # device, inode, size, mtime_ns: "the same file" (identity_of)
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    path: Path
    round_id: str  # "": the file was not at <landing>/<round>/<kabkota>/
    kabkota_code: str | None  # None: the file was not inside a district folder
    found_in: str = ""  # the folder it was found in, relative to landing ("" = the landing root)
    identity: tuple[int, int] | None = None  # (device, inode) discovery saw: what registration may read

    @property
    def misplaced(self) -> bool:
        return self.kabkota_code is None


class LandingProblem(Exception):
    """A landed file that cannot be taken in now: it stays in landing, recorded for the operator."""

    def __init__(self, code: str, detail: str) -> None:
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}")


# ----------------------------------------------------------------- discovery
def printable_name(name: str) -> str:
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
            if name.startswith(".") or name.endswith(MANIFEST_SUFFIX) or name.lower().endswith(PARTIAL_SUFFIXES):
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
            round_id = printable_name(parts[0]) if placed else ""
            kabkota = printable_name(parts[1]) if placed else None
            found.append(
                (
                    info.st_mtime,
                    str(path),
                    LandedFile(
                        path, round_id, kabkota, printable_name("/".join(parts[:-1])), (info.st_dev, info.st_ino)
                    ),
                )
            )
    found.sort(key=lambda f: (f[0], f[1]))
    return [f for _, _, f in found]


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def safe_file_name(name: str, limit: int = 120) -> str:
    """A file name that cannot escape a folder or break a terminal."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[-limit:]


MANIFEST_MAX_BYTES = 64 * 1024


def manifest_for(path: Path) -> tuple[Path | None, dict[str, Any] | None, FileIdentity | None]:
    """The manifest beside a data file: a regular file (never a link), small, JSON; and its identity.

    A manifest that exists but cannot be opened (permissions, I/O) raises
    :class:`LandingProblem`: its data file waits in landing with it.
    """
    manifest = path.with_name(path.stem + MANIFEST_SUFFIX)
    try:
        info = manifest.lstat()
    except OSError:
        return None, None, None
    if not stat.S_ISREG(info.st_mode):
        return None, None, None  # a link or device named like a manifest is not read
    identity = identity_of(info)
    if info.st_size > MANIFEST_MAX_BYTES:
        return manifest, {"unreadable_manifest": True}, identity
    try:
        with open_regular(manifest) as f:
            raw = f.read(MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        raise LandingProblem("manifest_unreadable", type(exc).__name__) from exc
    try:
        return manifest, json.loads(raw.decode("utf-8")), identity
    except (ValueError, UnicodeDecodeError, RecursionError):
        return manifest, {"unreadable_manifest": True}, identity


def identity_of(info: os.stat_result) -> FileIdentity:
    """What says "the same file": device, inode, size and modification time."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def open_regular(path: Path) -> BinaryIO:
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


def fsync_dir(folder: Path) -> None:
    """Make a rename or new name in ``folder`` durable (the directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_if_same(path: Path, identity: FileIdentity | None) -> bool:
    """Remove a landed file only if it is still the file that was archived.

    A district may upload a corrected file under the same name while the
    first is being registered: that new file is not the archived one, so it
    stays in landing for the next run instead of being deleted unseen.
    """
    try:
        now = identity_of(path.lstat())
    except FileNotFoundError:
        return False
    if identity is not None and now != identity:
        log.warning("a landed file was replaced while being registered: the new upload stays for the next run")
        return False
    path.unlink(missing_ok=True)
    return True


def archive_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".incoming")
    with open_regular(source) as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


@dataclass(frozen=True)
class Captured:
    intake: Path  # the copy in <archive>/.intake/, fsynced
    sha256: str
    size: int
    received_at: datetime  # the arrival time recorded (see arrival_time)
    arrival_source: str
    file_mtime: datetime  # the modification time as uploaded (kept, never trusted)
    identity: FileIdentity  # (device, inode, size, mtime_ns) of the landed file copied


def arrival_time(info: os.stat_result) -> tuple[datetime, str]:
    """When a landed file arrived: its ctime (the last change of the file in landing).

    Upload tools keep the uploader's modification time (WinSCP, ``sftp -p``,
    ``rsync -t``), so a file's mtime says nothing about when it came; its
    ctime is set by the file system when the upload writes (or renames) it
    and no user can set it back. ``DTKS_ARRIVAL_FROM_MTIME=1`` trusts the
    mtime instead: only for replaying past rounds from generated files (the
    demo, the tests, the benchmark), never in production.
    """
    if settings().arrival_from_mtime:
        return datetime.fromtimestamp(info.st_mtime, tz=UTC), "mtime_replay"
    return datetime.fromtimestamp(info.st_ctime, tz=UTC), "ctime"


def capture(landed: LandedFile, archive_dir: Path) -> Captured | None:
    """Copy a landed file into the archive's intake folder, hashing what is written.

    One read of the file gives both the archived bytes and their sha256, so
    the hash recorded is the hash of the archived copy. The file is opened
    without following links, and must be the very file discovery saw (same
    inode): a link or another file swapped in meanwhile is never read. None
    when the file changed while being copied (still being uploaded): it waits
    for a later run. A file that cannot be read raises :class:`LandingProblem`.
    """
    try:
        src = open_regular(landed.path)
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
                        chunk = src.read(HASH_CHUNK)
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
    return Captured(
        tmp,
        digest.hexdigest(),
        size,
        received_at,
        source,
        datetime.fromtimestamp(after.st_mtime, tz=UTC),
        identity_of(after),
    )


def misplaced_location(landed: LandedFile) -> str:
    """Where a misplaced file was found, as a district officer reads it (folder names only)."""
    if not landed.found_in:
        return "<landing>/ (folder utama / the landing root)"
    return "<landing>/" + "/".join(safe_file_name(part, 40) for part in landed.found_in.split("/")) + "/"
