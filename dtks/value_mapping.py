"""The declared value mapping: district words for coded values, and its copy in the warehouse.

Districts write coded columns in words as often as in codes: the family
card's relationship wording (``KEPALA KELUARGA``, ``ISTRI``, ``ANAK`` …),
presence status (``DITEMUKAN``, ``MENINGGAL`` …), programme flags
(``YA``/``TIDAK``) and sex (``LAKI-LAKI``). The words each code may be
written as are declared, versioned, in ``include/mapping/value_aliases.json``
— the one place they are listed. Matching ignores case, spaces and
punctuation (:func:`value_key`).

The staging normalisation (``staging.submission_row_normalised``, written once
per staged row into ``staging.normalised_row``) maps values in the database,
for files staged by COPY and by the parser alike, through ``ref.value_alias``:
:func:`sync` fills that table from the JSON (at migration, and before every
validation; a new version re-reads the rows staged so far), and keeps the exact JSON of
every version in ``ref.value_mapping`` for auditors. A version edited
without a new version number is refused, like the expectation suites.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dtks.config import PROJECT_ROOT
from dtks.schema import STAGED_COLUMNS

MAPPING_FILE = PROJECT_ROOT / "include" / "mapping" / "value_aliases.json"

# ASCII only, in both directions: PostgreSQL's upper() follows the database's locale
# (and Python's turns 'ß' into 'SS'); staging.value_key does exactly this.
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NOT_KEY = re.compile(r"[^A-Z0-9]+")
_LOCK_KEY = 71_530_012  # serialises concurrent syncs (a migration and a validation starting together)


def value_key(value: str | None) -> str:
    """What a value is matched by: its ASCII letters (upper case) and digits, nothing else.

    The same function as SQL ``staging.value_key`` (migration 012).
    """
    return _NOT_KEY.sub("", (value or "").translate(_ASCII_UPPER))


@dataclass(frozen=True)
class Alias:
    column: str
    key: str
    code: str
    spelling: str  # the first declared spelling with this key


def written_forms(spelling: str) -> list[str]:
    """The ways a spelling is usually typed (as declared, upper, lower, title and sentence case) and its key.

    The staging view finds a value typed in one of these forms with a plain
    lookup; only other ways of writing it need their key computed. Every form
    has the spelling's key, so the lookup cannot find anything the key would not.
    """
    key = value_key(spelling)
    forms = {spelling, spelling.upper(), spelling.lower(), spelling.title(), spelling.capitalize(), key}
    return sorted(f for f in forms if value_key(f) == key)


@dataclass(frozen=True)
class ValueMapping:
    version: str
    sha256: str
    raw: dict[str, Any]  # the mapping file as declared (JSON)
    aliases: tuple[Alias, ...]
    labels: dict[str, dict[str, str]]  # column -> code -> label
    _by_key: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    _spellings: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False, compare=False)

    def code(self, column: str, value: str | None) -> str | None:
        """The code a value sent in ``column`` stands for; None: not a declared spelling."""
        return self._by_key.get((column, value_key(value)))

    def lookup_rows(self) -> list[tuple[str, str, str, str, str]]:
        """Rows of ref.value_alias: (column, form as written, code, key, declared spelling)."""
        rows: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
        for column in sorted({a.column for a in self.aliases}):
            for alias in (a for a in self.aliases if a.column == column):
                for spelling in self._spellings[(column, alias.key)]:
                    for form in written_forms(spelling):
                        rows.setdefault((column, form), (column, form, alias.code, alias.key, spelling))
        return list(rows.values())


def mapping_from_raw(raw: dict[str, Any], origin: str = "value mapping") -> ValueMapping:
    """Check a declared mapping and expand it per staged column.

    Refused: a column that is not staged, a spelling with nothing to match
    (no letter or digit), and a spelling that matches two codes of a field.
    """
    aliases: dict[tuple[str, str], Alias] = {}
    spellings: dict[tuple[str, str], list[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    for field_name, spec in raw["fields"].items():
        columns = spec["columns"]
        unknown = [c for c in columns if c not in STAGED_COLUMNS]
        if unknown:
            raise ValueError(f"{origin}: field {field_name} names columns that are not staged: {unknown}")
        for code, entry in spec["codes"].items():
            for spelling in [code, *entry["spellings"]]:
                key = value_key(spelling)
                if not key:
                    raise ValueError(f"{origin}: {field_name}: spelling {spelling!r} has no letter or digit")
                for column in columns:
                    found = aliases.setdefault((column, key), Alias(column, key, code, spelling))
                    if found.code != code:
                        raise ValueError(
                            f"{origin}: {field_name}: {spelling!r} would mean both {found.code!r}"
                            f" ({found.spelling!r}) and {code!r}"
                        )
                    spellings.setdefault((column, key), []).append(spelling)
                    labels.setdefault(column, {})[code] = entry["label"]
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return ValueMapping(
        raw["version"],
        hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        raw,
        tuple(aliases.values()),
        labels,
        {k: a.code for k, a in aliases.items()},
        spellings,
    )


@lru_cache(maxsize=4)
def load_mapping(path: Path = MAPPING_FILE) -> ValueMapping:
    return mapping_from_raw(json.loads(path.read_text(encoding="utf-8")), path.name)


def sync(conn: sa.Connection, mapping: ValueMapping | None = None) -> str:
    """Make ``ref.value_alias`` hold ``mapping`` (the declared file by default); return its version.

    Nothing is written when the table already holds it. Every version that
    was ever loaded stays in ``ref.value_mapping`` with its exact JSON.
    """
    mapping = mapping or load_mapping()
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    current = conn.execute(sa.text("SELECT m.version, m.sha256 FROM ref.value_mapping m WHERE m.current")).first()
    if current is not None and tuple(current) == (mapping.version, mapping.sha256):
        return mapping.version
    recorded = conn.execute(
        sa.text("SELECT sha256 FROM ref.value_mapping WHERE version = :v"), {"v": mapping.version}
    ).scalar()
    if recorded is not None and recorded != mapping.sha256:
        raise RuntimeError(
            f"value mapping {mapping.version} differs from the mapping loaded before under the same "
            'version: bump "version" in include/mapping/value_aliases.json'
        )
    conn.execute(sa.text("UPDATE ref.value_mapping SET current = false WHERE current"))
    conn.execute(
        sa.text(
            "INSERT INTO ref.value_mapping (version, sha256, definition, current) VALUES (:v, :h, CAST(:d AS jsonb), true)"
            " ON CONFLICT (version) DO UPDATE SET current = true, current_since = now()"
        ),
        {"v": mapping.version, "h": mapping.sha256, "d": json.dumps(mapping.raw, ensure_ascii=False)},
    )
    rows = mapping.lookup_rows()
    conn.execute(sa.text("DELETE FROM ref.value_alias"))
    conn.execute(
        sa.text(
            "INSERT INTO ref.value_alias (column_name, written, code, key, spelling, mapping_version)"
            " SELECT c, w, code, k, s, :v FROM unnest(CAST(:cols AS text[]), CAST(:written AS text[]),"
            " CAST(:codes AS text[]), CAST(:keys AS text[]), CAST(:spellings AS text[])) AS a(c, w, code, k, s)"
        ),
        {
            "v": mapping.version,
            **{name: [r[i] for r in rows] for i, name in enumerate(("cols", "written", "codes", "keys", "spellings"))},
        },
    )
    # the planner's estimates for the lookups in staging.submission_row_normalised
    conn.execute(sa.text("ANALYZE ref.value_alias"))
    # rows staged under the previous mapping are read again: checks and merge see the current words
    conn.execute(sa.text("SELECT staging.renormalise_staged_rows()"))
    return mapping.version


__all__ = [
    "MAPPING_FILE",
    "Alias",
    "ValueMapping",
    "load_mapping",
    "mapping_from_raw",
    "sync",
    "value_key",
    "written_forms",
]
