"""Load Kemendagri region-code editions (idn-area-data CSVs) into ``ref.*``, never going backwards.

An edition is a folder ``include/reference/<edition>/`` with the package's
CSVs, an ``edition.json`` saying when it takes effect (``effective_on``),
and optionally ``successors.csv`` (``code,successor_code``): the retired
village/kecamatan codes and the codes that replaced them (a split district,
a re-coded village). A new edition updates names, adds codes and marks
codes that disappeared as retired (never deletes them, so older records
still resolve). Every load is an append-only row of ``ref.edition_load``;
an edition older than the current one is refused unless forced with a
reason. What a load changes in the registry and the rounds (a split
district) is dtks.recoding's job.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR
from dtks.dbapi import driver_cursor
from dtks.warehouse import read_sql

SOURCE = "npm idn-area-data {version} (Kepmendagri 300.2.2-2138/2025), ODbL"
LEVELS = ("province", "kabkota", "kecamatan", "village")


class EditionRefused(ValueError):
    """A load that would move the warehouse to an older edition, or rewrite history."""


@dataclass(frozen=True)
class ReferenceCounts:
    edition: str
    provinces: int
    kabkota: int
    kecamatan: int
    villages: int


@dataclass
class Edition:
    """One edition as read from its folder: code → (name, parent code) per level, and successors."""

    name: str
    folder: Path
    effective_on: date
    codes: dict[str, dict[str, tuple[str, str | None]]]
    successors: dict[str, tuple[str, int]] = field(default_factory=dict)  # old code → (new code, file row)


@dataclass(frozen=True)
class EditionDiff:
    """What going from one edition to another adds, retires, changes and moves."""

    added: dict[str, list[str]]
    retired: dict[str, list[str]]
    changed: dict[str, list[str]]  # same code, new name or new parent
    moves: dict[str, str]  # retired code → successor code
    splits: dict[str, str]  # new kab/kota → the kab/kota it was split from

    def counts(self, which: str) -> dict[str, int]:
        return {level: len(codes) for level, codes in getattr(self, which).items()}


@dataclass(frozen=True)
class LoadResult:
    load_id: int | None  # None: nothing loaded (dtks init on a loaded warehouse)
    edition: str
    previous_edition: str | None
    counts: ReferenceCounts | None
    diff: EditionDiff | None
    persons_recoded: int = 0
    rounds_extended: tuple[str, ...] = ()


def _undot(code: str) -> str:
    return code.replace(".", "").strip()


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [tuple(r[c] for c in columns) for r in csv.DictReader(f)]


def edition_folder(edition: str | Path, reference_dir: Path = REFERENCE_DIR) -> Path:
    """An edition by name (a folder under ``reference_dir``) or by path (anything with a slash)."""
    folder = Path(edition) if isinstance(edition, Path) or "/" in str(edition) else reference_dir / str(edition)
    if not (folder / "villages.csv").is_file():
        raise FileNotFoundError(
            f"no edition at {folder}: expected provinces.csv, regencies.csv, districts.csv, "
            "villages.csv and edition.json there"
        )
    return folder


def read_edition(edition: str | Path, reference_dir: Path = REFERENCE_DIR) -> Edition:
    folder = edition_folder(edition, reference_dir)
    meta_path = folder / "edition.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        effective_on = date.fromisoformat(meta["effective_on"])
    except FileNotFoundError:
        raise FileNotFoundError(
            f'{meta_path} is missing: an edition says when it takes effect ({{"effective_on": "YYYY-MM-DD"}})'
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{meta_path}: effective_on must be a date YYYY-MM-DD ({exc})") from None
    codes: dict[str, dict[str, tuple[str, str | None]]] = {
        "province": {_undot(c): (n, None) for c, n in _rows(folder / "provinces.csv", ("code", "name"))},
        "kabkota": {
            _undot(c): (n, _undot(p)) for c, p, n in _rows(folder / "regencies.csv", ("code", "province_code", "name"))
        },
        "kecamatan": {
            _undot(c): (n, _undot(k)) for c, k, n in _rows(folder / "districts.csv", ("code", "regency_code", "name"))
        },
        "village": {
            _undot(c): (n, _undot(k)) for c, k, n in _rows(folder / "villages.csv", ("code", "district_code", "name"))
        },
    }
    successors: dict[str, tuple[str, int]] = {}
    if (folder / "successors.csv").is_file():
        for row_no, (old, new) in enumerate(_rows(folder / "successors.csv", ("code", "successor_code")), start=1):
            old, new = _undot(old), _undot(new)
            level = {6: "kecamatan", 10: "village"}.get(len(old))
            if level is None or len(new) != len(old) or new not in codes[level]:
                raise ValueError(
                    f"{folder / 'successors.csv'} row {row_no}: {old} → {new} is not a kecamatan or "
                    "village code replaced by a code of this edition"
                )
            successors[old] = (new, row_no)
    return Edition(folder.name, folder, effective_on, codes, successors)


def _warehouse_codes(conn: sa.Connection) -> dict[str, dict[str, tuple[str, str | None]]]:
    """The warehouse's current (not retired) codes, in the shape of Edition.codes."""
    queries = {
        "province": "SELECT code, name, NULL FROM ref.province WHERE retired_in IS NULL",
        "kabkota": "SELECT code, name, province_code FROM ref.kabkota WHERE retired_in IS NULL",
        "kecamatan": "SELECT code, name, kabkota_code FROM ref.kecamatan WHERE retired_in IS NULL",
        "village": "SELECT code, name, kecamatan_code FROM ref.village WHERE retired_in IS NULL",
    }
    return {
        level: {c.strip(): (n, p.strip() if p else None) for c, n, p in conn.execute(sa.text(q))}
        for level, q in queries.items()
    }


def diff_codes(old: dict[str, dict[str, tuple[str, str | None]]], new: Edition) -> EditionDiff:
    added = {lv: sorted(set(new.codes[lv]) - set(old.get(lv, {}))) for lv in LEVELS}
    retired = {lv: sorted(set(old.get(lv, {})) - set(new.codes[lv])) for lv in LEVELS}
    changed = {
        lv: sorted(c for c in set(old.get(lv, {})) & set(new.codes[lv]) if old[lv][c] != new.codes[lv][c])
        for lv in LEVELS
    }
    gone = set(retired["kecamatan"]) | set(retired["village"])
    moves = {o: n for o, (n, _) in new.successors.items() if o in gone}
    splits = {}
    for kab in added["kabkota"]:
        parents = {o[:4] for o, n in moves.items() if n[:4] == kab and o[:4] != kab}
        if len(parents) == 1:
            splits[kab] = parents.pop()
    return EditionDiff(added, retired, changed, moves, splits)


def format_diff(old_name: str, new: Edition, diff: EditionDiff) -> str:
    names = {lv: new.codes[lv] for lv in LEVELS}
    lines = [f"{old_name} → {new.name} (effective {new.effective_on.isoformat()})"]
    for which in ("added", "retired", "changed"):
        counts = diff.counts(which)
        lines.append(f"  {which:8} " + ", ".join(f"{counts[lv]} {lv}" for lv in LEVELS))
    for kab, parent in sorted(diff.splits.items()):
        lines.append(
            f"  split    {kab} {names['kabkota'][kab][0]} from {parent}: "
            f"{sum(1 for n in diff.moves.values() if n[:4] == kab and len(n) == 6)} kecamatan, "
            f"{sum(1 for n in diff.moves.values() if n[:4] == kab and len(n) == 10)} villages move"
        )
    for level in ("kabkota", "kecamatan"):
        for code in diff.added[level]:
            lines.append(f"  + {level:9} {code} {names[level][code][0]}")
    for old, new_code in sorted(diff.moves.items()):
        level = "kecamatan" if len(old) == 6 else "village"
        lines.append(f"  > {level:9} {old} → {new_code} {names[level][new_code][0]}")
    unexplained = [c for lv in ("kecamatan", "village") for c in diff.retired[lv] if c not in diff.moves]
    for code in diff.retired["province"] + diff.retired["kabkota"] + unexplained:
        lines.append(f"  - retired  {code} (no successor: records carrying it will be refused as unknown)")
    return "\n".join(lines)


def current_edition(eng_or_conn: Engine | sa.Connection) -> tuple[str, date] | None:
    """The warehouse's current edition (the latest load) and its effective date; None if none was loaded."""
    sql = sa.text("SELECT edition, effective_on FROM ref.edition_load ORDER BY load_id DESC LIMIT 1")
    if isinstance(eng_or_conn, sa.Connection):
        row = eng_or_conn.execute(sql).first()
    else:
        with eng_or_conn.connect() as conn:
            row = conn.execute(sql).first()
    return (row.edition, row.effective_on) if row else None


def edition_loads(eng: Engine) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM ref.edition_load ORDER BY load_id")).mappings()]


def _copy(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[object]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    buf.seek(0)
    with driver_cursor(conn) as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buf)


def _who(loaded_by: str | None) -> str:
    from dtks.rounds import _who as who

    return who(loaded_by)


def init_reference(eng: Engine, loaded_by: str | None = None) -> LoadResult:
    """`dtks init`: the default edition into an empty warehouse; otherwise leave the current edition alone."""
    current = current_edition(eng)
    if current is not None:
        return LoadResult(None, current[0], current[0], None, None)
    return load_reference(eng, loaded_by=loaded_by)


def load_reference(
    eng: Engine,
    edition: str | Path = DEFAULT_REFERENCE_EDITION,
    reference_dir: Path = REFERENCE_DIR,
    *,
    force_reason: str | None = None,
    loaded_by: str | None = None,
) -> LoadResult:
    """Load an edition; refused (EditionRefused) when older than the current one, unless forced with a reason."""
    from dtks import recoding

    new = read_edition(edition, reference_dir)
    force_reason = (force_reason or "").strip() or None
    villages = [
        # digit 7 of the 10-digit code: 1 kelurahan, 2 desa
        (c, kec, c[:4], n, "kelurahan" if c[6] == "1" else "desa")
        for c, (n, kec) in new.codes["village"].items()
    ]
    counts = ReferenceCounts(new.name, *(len(new.codes[lv]) for lv in LEVELS))
    with eng.begin() as conn:
        # one load at a time: the current edition and the diff are read under this lock
        conn.execute(sa.text("LOCK TABLE ref.edition_load IN SHARE ROW EXCLUSIVE MODE"))
        current = current_edition(conn)
        if current and new.effective_on < current[1] and not force_reason:
            raise EditionRefused(
                f"{new.name} (effective {new.effective_on}) is older than the current edition {current[0]} "
                f"(effective {current[1]}): loading it would retire newer codes. Refused; to load it anyway give "
                "--force with --reason (recorded)"
            )
        diff = diff_codes(_warehouse_codes(conn), new)
        conn.execute(sa.text("CREATE TEMP TABLE load_province (code text, name text) ON COMMIT DROP"))
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE load_kabkota (code text, province_code text, name text, kind text,"
                " split_from text) ON COMMIT DROP"
            )
        )
        conn.execute(
            sa.text("CREATE TEMP TABLE load_kecamatan (code text, kabkota_code text, name text) ON COMMIT DROP")
        )
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE load_village (code text, kecamatan_code text, kabkota_code text,"
                " name text, kind text) ON COMMIT DROP"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE load_successor (code text, successor_code text, file_row integer) ON COMMIT DROP"
            )
        )
        _copy(conn, "load_province", ("code", "name"), ((c, n) for c, (n, _) in new.codes["province"].items()))
        _copy(
            conn,
            "load_kabkota",
            ("code", "province_code", "name", "kind", "split_from"),
            (
                (c, p, n, "kota" if n.startswith("Kota") else "kabupaten", diff.splits.get(c))
                for c, (n, p) in new.codes["kabkota"].items()
            ),
        )
        _copy(
            conn,
            "load_kecamatan",
            ("code", "kabkota_code", "name"),
            ((c, k, n) for c, (n, k) in new.codes["kecamatan"].items()),
        )
        _copy(conn, "load_village", ("code", "kecamatan_code", "kabkota_code", "name", "kind"), villages)
        _copy(
            conn,
            "load_successor",
            ("code", "successor_code", "file_row"),
            ((o, n, row) for o, (n, row) in new.successors.items() if o in diff.moves),
        )
        conn.execute(
            sa.text(read_sql("reference/record_edition.sql")),
            {
                "e": new.name,
                "s": SOURCE.format(version=new.name.rsplit("-", 1)[-1]),
                "p": counts.provinces,
                "k": counts.kabkota,
                "c": counts.kecamatan,
                "v": counts.villages,
                "on": new.effective_on,
            },
        )
        conn.execute(
            sa.text(read_sql("load_reference_edition.sql")), {"edition": new.name, "effective_on": new.effective_on}
        )
        # villages given by name in rows staged so far are looked up in this edition
        conn.execute(sa.text("SELECT staging.renormalise_staged_rows()"))
        recoded = recoding.apply_edition(conn, new, diff) if diff.moves else recoding.Recoded()
        load_id = conn.execute(
            sa.text(read_sql("reference/record_edition_load.sql")),
            {
                "e": new.name,
                "on": new.effective_on,
                "prev": current[0] if current else None,
                "by": _who(loaded_by),
                "why": force_reason if current and new.effective_on < current[1] else None,
                "a": json.dumps(diff.counts("added")),
                "r": json.dumps(diff.counts("retired")),
                "c": json.dumps(diff.counts("changed")),
                "pr": recoded.persons,
                "hr": recoded.households,
                "sid": recoded.submission_id,
                "rounds": list(recoded.rounds_extended),
            },
        ).scalar_one()
    return LoadResult(
        load_id,
        new.name,
        current[0] if current else None,
        counts,
        diff,
        recoded.persons,
        tuple(recoded.rounds_extended),
    )
