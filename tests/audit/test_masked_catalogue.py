"""Everything an auditor login can read, found from the catalogue, holds no NIK, KK or name.

The objects are not listed here: the test asks PostgreSQL, as an auditor login,
for every view and table it may SELECT and every function named ``*_masked`` it
may EXECUTE, so a view or function added by a later migration is checked
without anyone remembering to add it. Every ``*_masked`` view must return rows
in this scenario (a check over no rows proves nothing), and every ``*_masked``
function is called with realistic arguments (a NIK and a KK number from a case
file); an argument this test cannot fill fails it, naming the function, until a
value is added to ``_argument_values``.

A leak is any 16-digit number (outside a long hex digest such as a sha256),
any identifier the scenario sent, or any full name it sent.
"""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import metrics
from tests import scenario
from tests.builders import JAKPUS, JAKPUS_KEC, JAKPUS_VILLAGE, WIB, land, person

pytestmark = pytest.mark.postgres

# Jakarta Pusat's file: c1 confirmed, and c2 sent twice under one NIK (both rows refused, kept as sent in quarantine).
_c2 = person(JAKPUS_KEC, JAKPUS_VILLAGE, 1, 2, "INDAH PERMATASARI", "P", date(1992, 1, 1), "2", "2026-08-09")
JAKPUS_FILE = [scenario.c1.but(tanggal_verifikasi="2026-08-09"), _c2, _c2.but(nama="INDAH PERMATA")]
PEOPLE = [*scenario.BASELINE, scenario.a5, *JAKPUS_FILE]
IDENTIFIERS = sorted({p.nik for p in PEOPLE} | {p.no_kk for p in PEOPLE})
NAMES = sorted({p.nama for p in PEOPLE if p.nama} | {"SITI"})  # SITI: every fixture's mother's name
# What an auditor holding a case file looks up: a person who changed, and a household.
# ... and a person whose rows were all refused (lineage lists such attempts too).
CASE_FILE = {"nik": scenario.a2.nik, "kk": scenario.a1.no_kk, "refused_nik": _c2.nik}
KNOWN_VIEWS = {
    "registry.record_lineage_masked",
    "registry.individual_masked",
    "registry.individual_version_masked",
    "registry.individual_event_masked",
    "registry.household_masked",
    "registry.household_version_masked",
    "quarantine.row_issue_masked",
    "quarantine.rejected_row_masked",
    "audit.submission_masked",
    "audit.submission_event_masked",
    "audit.duplicate_upload_masked",
}
KNOWN_FUNCTIONS = {"registry.lineage_masked", "registry.attempts_masked"}

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{32,}")
_SIXTEEN_DIGITS = re.compile(r"(?<![0-9.])[0-9]{16}(?![0-9])")


def leaks(text: str, names: bool = True) -> list[str]:
    """What in ``text`` is personal: 16-digit numbers, the scenario's identifiers, its full names."""
    found = [f"16-digit value {m.group()[:4]}…" for m in _SIXTEEN_DIGITS.finditer(_HEX_DIGEST.sub("", text))]
    found += [f"identifier {i[:4]}…" for i in IDENTIFIERS if i in text]
    if names:
        found += [f"name {n[:1]}…" for n in NAMES if re.search(rf"\b{re.escape(n)}\b", text, re.IGNORECASE)]
    return found


@pytest.fixture
def auditor(wh, dirs, tmp_path, warehouse_url, process_landed):
    """The scenario round plus Jakarta Pusat's file, merged and measured; an auditor LOGIN role."""
    scenario.prepare(wh, tmp_path)
    scenario.land_round(dirs["landing"])
    land(
        dirs["landing"],
        scenario.ROUND,
        JAKPUS,
        "dtks_3171_2026-08.csv",
        JAKPUS_FILE,
        datetime(2026, 8, 11, 9, 0, tzinfo=WIB),
    )
    # The same content again, named after the person it corrects: recorded as a duplicate upload.
    land(
        dirs["landing"],
        scenario.ROUND,
        JAKPUS,
        f"perbaikan NIK {_c2.nik} {_c2.nama}.csv",
        JAKPUS_FILE,
        datetime(2026, 8, 11, 9, 30, tzinfo=WIB),
    )
    process_landed("run-1")
    metrics.compute_round_metrics(wh, scenario.ROUND)
    with wh.connect() as conn:
        refused = conn.execute(
            sa.text("SELECT count(*) FROM quarantine.row_issue WHERE reason_code = 'nik_duplicate_in_file'")
        ).scalar()
    assert refused == 2  # identifiers as sent are in quarantine: the masked views must hide them
    user, password = f"dtks_audit_test_{secrets.token_hex(4)}", secrets.token_hex(16)
    with wh.begin() as conn:
        # as the auditor page's login (deploy/warehouse_roles.py): masked reads and recorded lineage lookups
        conn.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE dtks_auditor, dtks_lineage"))
    eng = sa.create_engine(make_url(warehouse_url).set(username=user, password=password))
    yield eng
    eng.dispose()
    with wh.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {user}"))
        conn.execute(sa.text(f"DROP ROLE {user}"))


def _readable_relations(conn) -> list[str]:
    return [
        f"{s}.{n}"
        for s, n in conn.execute(
            sa.text(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " AND n.nspname NOT LIKE 'pg\\_%' AND has_schema_privilege(n.oid, 'USAGE')"
                " AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1, 2"
            )
        ).all()
    ]


def _masked_functions(conn) -> list:
    return conn.execute(
        sa.text(
            "SELECT n.nspname || '.' || p.proname AS name, p.oid::regprocedure::text AS signature,"
            " coalesce(p.proargnames, ARRAY[]::text[]) AS arg_names, p.proargtypes::regtype[]::text[] AS arg_types,"
            " p.proargmodes::text[] AS arg_modes"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname LIKE '%\\_masked' AND p.prokind = 'f' AND has_schema_privilege(n.oid, 'USAGE')"
            " AND has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1, 2"
        )
    ).all()


def _argument_values(name: str, sql_type: str) -> list:
    """Realistic values for one input argument of a masked function, by its name and type."""
    if sql_type in ("text", "character varying", "character") and re.search(r"ident|nik|kk|key", name):
        return [CASE_FILE["nik"], CASE_FILE["kk"], CASE_FILE["refused_nik"]]
    if sql_type in ("text", "character varying") and re.search(r"reason|purpose|case|ref|note|why", name):
        return ["Pemeriksaan BPK atas DTKS 2026 / BPK audit of the 2026 registry, case 17"]
    raise AssertionError(
        f"no realistic value for argument {name!r} ({sql_type}) of a masked function: "
        "add one to _argument_values in tests/audit/test_masked_catalogue.py"
    )


def _lookup_id(eng, identifier: str) -> int:
    """A committed lineage request for ``identifier`` (registry.lineage_request), as the auditor page makes it."""
    with eng.connect() as conn, conn.begin():
        conn.execute(sa.text("SET TRANSACTION READ WRITE"))
        return conn.execute(
            sa.text("SELECT registry.lineage_request(:i, 'catalogue test')"), {"i": identifier}
        ).scalar()


def _calls(fn, eng) -> list[tuple[str, dict]]:
    """SQL calls of one masked function: every combination of realistic values for its input arguments.

    A ``lookup_id`` argument is the committed request for the identifier of the same call.
    """
    modes = fn.arg_modes or ["i"] * len(fn.arg_types)
    names = list(fn.arg_names) or [""] * len(modes)
    input_names = [n for n, m in zip(names, modes) if m in ("i", "b", "v")]
    inputs = [(n or f"argument {k + 1}", t) for k, (n, t) in enumerate(zip(input_names, fn.arg_types))]
    lookup = [k for k, (n, _) in enumerate(inputs) if n == "lookup_id"]
    filled = [(n, t) for n, t in inputs if n != "lookup_id"]
    calls = []
    for values in itertools.product(*(_argument_values(n, t) for n, t in filled)):
        values = list(values)
        for k in lookup:
            values.insert(k, _lookup_id(eng, next(v for v in values if isinstance(v, str) and v.isdigit())))
        args = ", ".join(f"CAST(:p{k} AS {t})" for k, (_, t) in enumerate(inputs))
        calls.append(
            (f"SELECT row_to_json(r)::text FROM {fn.name}({args}) AS r", {f"p{k}": v for k, v in enumerate(values)})
        )
    return calls


def test_no_identifier_or_name_in_anything_the_auditor_can_read(auditor):
    with auditor.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_has_role('dtks_auditor', 'MEMBER')")).scalar()
        functions = _masked_functions(conn)
        relations = _readable_relations(conn)
    assert {f.name for f in functions} >= KNOWN_FUNCTIONS
    assert set(relations) >= KNOWN_VIEWS
    assert "registry.individual" not in relations and "quarantine.row_issue" not in relations

    found: dict[str, list[str]] = {}
    # Functions first: a lookup an auditor makes may itself be recorded somewhere the auditor can read.
    for fn in functions:
        rows = 0
        for sql, params in _calls(fn, auditor):
            with auditor.connect() as conn:
                out = conn.execute(sa.text(sql), params).scalars().all()
            rows += len(out)
            for text in out:
                if hit := leaks(text):
                    found.setdefault(fn.signature, []).extend(hit)
        assert rows > 0, f"{fn.signature} returned nothing for the case file: nothing was checked"
    with auditor.connect() as conn:
        for rel in relations:
            # Reference tables hold place names, some of which are also people's names: identifiers only.
            names = not rel.startswith("ref.")
            # a cheap filter in SQL (the reference tables are large), the precise test on the few candidates
            candidates = (
                conn.execute(
                    sa.text(
                        f"SELECT row_to_json(t)::text FROM {rel} t WHERE t::text ~ '[0-9]{{16}}'"
                        " OR t::text ILIKE ANY(CAST(:like AS text[]))"
                    ),
                    {"like": [f"%{v}%" for v in IDENTIFIERS + (NAMES if names else [])]},
                )
                .scalars()
                .all()
            )
            for text in candidates:
                if hit := leaks(text, names=names):
                    found.setdefault(rel, []).extend(hit)
            if rel.endswith("_masked"):
                n = conn.execute(sa.text(f"SELECT count(*) FROM {rel}")).scalar()
                assert n > 0, f"{rel} has no rows in this scenario: its masking is not checked; add data"
    assert found == {}
