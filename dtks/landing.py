"""The landing folder as an operator sees it: what waits, what cannot be routed, what cannot be read.

``dtks landing`` prints this. Files are listed by their path relative to the
landing folder, so the operator can move them; nothing here reads a file's
content or changes anything.

* waiting: files the next ingest run will take, with where they will go
  (or why they will be refused: misplaced, unknown round, unknown district);
* not read: files the pipeline found but could not read (permissions, a
  link swapped in; ``audit.landing_problem``) and that are still there;
* skipped: what discovery never reads (links, FIFOs, partial uploads, hidden
  files), so a missing upload can be explained;
* not routed: files already archived and refused because they were not in
  ``<round>/<kabkota>/`` or named a round or district that does not exist,
  with their archive copy and feedback file (to re-land them in the right folder).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks import feedback, landed_files
from dtks.identifiers import mask_file_name
from dtks.warehouse import read_sql

EXPECTED_LAYOUT = "<landing>/<round>/<kab/kota code>/<file>, e.g. 2026-08/3504/data.csv"
UNROUTED_REASONS = ("file_misplaced", "round_unknown", "district_unknown")


@dataclass
class LandingReport:
    landing_dir: Path
    waiting: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unrouted: list[dict[str, Any]] = field(default_factory=list)


def _relative(path: Path | str, root: Path) -> str:
    try:
        return landed_files.printable_name(str(Path(path).relative_to(root)))
    except ValueError:
        return landed_files.printable_name(str(path))


def _skipped(landing: Path) -> list[dict[str, Any]]:
    """Entries discovery never reads, with why."""
    found = []
    for dirpath, dirnames, filenames in os.walk(landing, followlinks=False):
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            path = Path(dirpath) / name
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                why = "symbolic link: never followed / tautan simbolik: tidak dibaca"
            elif not stat.S_ISREG(mode):
                why = "not a regular file (FIFO, device …) / bukan berkas biasa"
            elif name.lower().endswith(landed_files.PARTIAL_SUFFIXES):
                why = "partial upload: waits until renamed / unggahan belum selesai"
            elif name.startswith(".") or any(p.startswith(".") for p in Path(dirpath).relative_to(landing).parts):
                why = "hidden file or folder / berkas tersembunyi"
            else:
                continue
            found.append({"path": _relative(path, landing), "why": why})
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return sorted(found, key=lambda f: f["path"])


def landing_report(eng: Engine, landing_dir: Path, outbox_dir: Path, since_days: int = 30) -> LandingReport:
    landing = Path(landing_dir)
    if not landing.is_dir():
        raise LookupError(f"landing folder {landing} does not exist or is not a folder")
    report = LandingReport(landing)
    with eng.connect() as conn:
        rounds: dict[str, str] = dict(conn.execute(sa.text("SELECT round_id, status FROM audit.round_calendar")).all())
        districts = set(conn.execute(sa.text("SELECT code FROM ref.kabkota")).scalars())
        problems = (
            conn.execute(
                sa.text(
                    "SELECT landing_path, problem, detail, first_seen_at, last_seen_at FROM audit.landing_problem"
                    " WHERE resolved_at IS NULL ORDER BY landing_path"
                )
            )
            .mappings()
            .all()
        )
        unrouted = (
            conn.execute(
                sa.text(read_sql("landing/unrouted_submissions.sql")),
                {"reasons": list(UNROUTED_REASONS), "since": datetime.now(UTC) - timedelta(days=since_days)},
            )
            .mappings()
            .all()
        )
    problem_paths = {p["landing_path"] for p in problems}
    for landed in landed_files.discover(landing):
        if landed_files.printable_name(str(landed.path)) in problem_paths:
            continue  # listed under "not read"
        if landed.misplaced:
            goes = (
                f"misplaced, found in {landed_files.misplaced_location(landed)}: will be refused;"
                f" move it to {EXPECTED_LAYOUT}"
            )
        elif landed.round_id not in rounds:
            goes = f"round '{landed.round_id}' does not exist (see `dtks round list`): will be refused"
        elif landed.kabkota_code not in districts:
            goes = f"'{landed.kabkota_code}' is not a kab/kota code: will be refused"
        else:
            goes = f"round {landed.round_id} ({rounds[landed.round_id]}), district {landed.kabkota_code}"
        report.waiting.append(
            {"path": _relative(landed.path, landing), "size_bytes": landed.path.stat().st_size, "goes_to": goes}
        )
    for p in problems:
        if os.path.lexists(p["landing_path"]):
            report.unreadable.append(
                {
                    "path": _relative(p["landing_path"], landing),
                    "problem": p["problem"],
                    "detail": p["detail"],
                    "first_seen_at": p["first_seen_at"],
                    "last_seen_at": p["last_seen_at"],
                }
            )
    report.skipped = _skipped(landing)
    for s in unrouted:
        paths = feedback.feedback_paths(outbox_dir, s["round_id"], s["kabkota_code"], s["submission_id"])
        report.unrouted.append(
            {
                "submission_id": s["submission_id"],
                "found": _relative(s["landing_path"], landing),
                "reason": s["reject_reason"],
                "why": s["message_en"] or s["reject_detail"] or "",
                "archive_path": s["archive_path"],
                "feedback": str(paths["csv"]),
                "received_at": s["received_at"],
            }
        )
    return report


def _shown(path: str, show_names: bool) -> str:
    """A landing-relative path as printed: folder names as they are, the file's name masked unless asked."""
    if show_names:
        return path
    folder, _, name = path.rpartition("/")
    return (folder + "/" if folder else "") + mask_file_name(name)


def _archive_shown(path: str) -> str:
    """An archive path with the landed name masked but its content-hash prefix kept, so `ls PREFIX*` finds it."""
    folder, _, name = path.rpartition("/")
    prefix, sep, landed_name = name.partition("__")
    if not sep:
        return _shown(path, False)
    return f"{folder}/{prefix}__{mask_file_name(landed_name)}"


def format_landing(report: LandingReport, show_names: bool = False) -> str:
    """The report as text. File names are masked (districts name files after people) unless ``show_names``."""
    lines = [f"landing folder {report.landing_dir}", f"expected layout: {EXPECTED_LAYOUT}"]
    if not show_names:
        lines.append("file names masked (they may hold NIKs or names): --show-names prints them as they are")
    lines.append("")
    lines.append(f"waiting for the next ingest run: {len(report.waiting)}")
    lines += [f"  {_shown(w['path'], show_names)}  ({w['size_bytes']} bytes) → {w['goes_to']}" for w in report.waiting]
    lines.append(f"could not be read (they stay in landing until fixed): {len(report.unreadable)}")
    lines += [
        f"  {_shown(u['path'], show_names)}  {u['problem']} ({u['detail']}), since {u['first_seen_at']:%Y-%m-%d %H:%M} UTC"
        for u in report.unreadable
    ]
    lines.append(f"skipped (never read): {len(report.skipped)}")
    lines += [f"  {_shown(s['path'], show_names)}  {s['why']}" for s in report.skipped]
    lines.append(f"archived but not routed (re-land in the right folder to process): {len(report.unrouted)}")
    lines += [
        f"  #{u['submission_id']} {_shown(u['found'], show_names)}  {u['reason']}: {u['why']}\n"
        f"      archive copy: {u['archive_path'] if show_names else _archive_shown(u['archive_path'])}\n"
        f"      feedback: {u['feedback']}"
        for u in report.unrouted
    ]
    return "\n".join(lines)
