"""Views and functions are defined once, in include/sql/objects, and re-applied by every migrate.

The migrations change tables and data; the object files hold the current
definition of every view and function. These tests hold the warehouse to the
files: nothing lives only in a migration, a fresh warehouse has exactly the
files' definitions, a changed file is applied without a migration, and an
object file cannot silently drop what it does not re-create.
"""

import re
import shutil

import pytest
import sqlalchemy as sa

from dtks import warehouse

pytestmark = pytest.mark.postgres

OURS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
CREATED = re.compile(r"^CREATE OR REPLACE (VIEW|FUNCTION) ([a-z_]+\.[a-z_]+)", re.M)


def _declared() -> dict[str, str]:
    """name -> 'VIEW'/'FUNCTION' for everything the object files create."""
    found: dict[str, str] = {}
    for path in warehouse.object_files():
        for kind, name in CREATED.findall(path.read_text(encoding="utf-8")):
            found[name] = kind
    return found


def _statements(kind: str) -> dict[str, str]:
    """name -> the body of each CREATE OR REPLACE VIEW (the query) or FUNCTION (between $$)."""
    out: dict[str, str] = {}
    for path in warehouse.object_files():
        text = path.read_text(encoding="utf-8")
        if kind == "VIEW":
            for m in re.finditer(r"^CREATE OR REPLACE VIEW ([a-z_]+\.[a-z_]+) AS\n(.*?);$", text, re.M | re.S):
                out[m.group(1)] = m.group(2)
        else:
            for m in re.finditer(
                r"^CREATE OR REPLACE FUNCTION ([a-z_]+\.[a-z_]+)\(.*?\$\$(.*?)\$\$;$", text, re.M | re.S
            ):
                out[m.group(1)] = m.group(2)
    return out


def _definitions(conn) -> list[tuple]:
    return conn.execute(
        sa.text(f"""
        SELECT c.oid::regclass::text, pg_get_viewdef(c.oid), c.relacl::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND {OURS}
        UNION ALL
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {OURS}
        ORDER BY 1""")
    ).all()


def test_object_files_are_numbered_in_order():
    names = [p.name for p in warehouse.object_files()]
    assert names == sorted(names) and names[-1] == "900_grants.sql"
    assert "040_staging_normalised_row.sql" in names


def test_every_view_and_function_lives_in_an_object_file(wh):
    with wh.connect() as conn:
        in_db = dict(
            conn.execute(
                sa.text(f"""
            SELECT n.nspname || '.' || c.relname, 'VIEW' FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND {OURS}
            UNION
            SELECT n.nspname || '.' || p.proname, 'FUNCTION' FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {OURS}""")
            ).all()
        )
    assert in_db == _declared()
    # each object is created in one file only
    created = [name for p in warehouse.object_files() for _, name in CREATED.findall(p.read_text())]
    assert sorted(created) == sorted(set(created))


def test_fresh_warehouse_has_exactly_the_files_definitions(wh):
    views, functions = _statements("VIEW"), _statements("FUNCTION")
    assert "staging.submission_row_normalised" in views and "staging.parse_plausible_date" in functions
    with wh.connect() as conn, conn.begin() as tx:
        for name, body in functions.items():
            sources = (
                conn.execute(
                    sa.text(
                        "SELECT prosrc FROM pg_proc WHERE oid = ANY (SELECT p.oid FROM pg_proc p JOIN pg_namespace n"
                        " ON n.oid = p.pronamespace WHERE n.nspname || '.' || p.proname = :n)"
                    ),
                    {"n": name},
                )
                .scalars()
                .all()
            )
            assert body in sources, name
        for i, (name, query) in enumerate(views.items()):
            # the file's query as a scratch view, deparsed the same way as the warehouse's
            conn.execute(sa.text(f"CREATE TEMP VIEW file_view_{i} AS {query}".replace(":", r"\:")))
            file_def, db_def = conn.execute(
                sa.text(f"SELECT pg_get_viewdef('file_view_{i}'::regclass), pg_get_viewdef(CAST(:n AS regclass))"),
                {"n": name},
            ).one()
            assert db_def == file_def, name
        tx.rollback()


def _up_to_date(wh) -> list[tuple]:
    """Migrate once, then the definitions and grants: roles made since the session's warehouse was
    migrated (the deploy tests create dtks_pipeline, a cluster-wide role) get their grants first."""
    warehouse.migrate(wh)
    with wh.connect() as conn:
        return _definitions(conn)


def test_migrate_twice_changes_no_definition_or_grant(wh):
    before = _up_to_date(wh)
    assert warehouse.migrate(wh) == []
    assert warehouse.migrate(wh) == []
    with wh.connect() as conn:
        assert _definitions(conn) == before
        # the grants the auditor and lineage roles rely on are there
        assert conn.execute(
            sa.text(
                "SELECT has_table_privilege('dtks_auditor', 'registry.individual_masked', 'SELECT'),"
                " has_table_privilege('dtks_auditor', 'registry.individual', 'SELECT'),"
                " has_function_privilege('dtks_lineage', 'registry.lineage_request(text, text)', 'EXECUTE'),"
                " has_function_privilege('dtks_auditor', 'registry.lineage_of(text)', 'EXECUTE')"
            )
        ).one() == (True, False, True, False)


@pytest.fixture
def objects_copy(tmp_path, monkeypatch):
    """A copy of include/sql/objects that migrate() reads instead (edit it to change an object)."""
    copy = tmp_path / "objects"
    shutil.copytree(warehouse.OBJECTS_DIR, copy)
    monkeypatch.setattr(warehouse, "OBJECTS_DIR", copy)
    return copy


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_changed_object_file_is_applied_without_a_migration(wh, objects_copy):
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT registry.lineage_hourly_limit()")).scalar() == 30
    _edit(objects_copy / "500_lineage_lookups.sql", "AS $$ SELECT 30 $$", "AS $$ SELECT 12 $$")
    assert warehouse.migrate(wh) == []  # no migration ran
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT registry.lineage_hourly_limit()")).scalar() == 12
        assert conn.execute(
            sa.text("SELECT has_function_privilege('dtks_lineage', 'registry.lineage_hourly_limit()', 'EXECUTE')")
        ).scalar()


def test_a_view_dropped_with_its_dependants_comes_back_with_them_and_their_grants(wh, objects_copy):
    before = _up_to_date(wh)
    # record_lineage changes columns: the file drops it; the cascade takes the masked view
    # (400), the functions returning its rows (310, 500) and their grants, which the later files re-create.
    _edit(
        objects_copy / "310_registry_lineage.sql",
        "CREATE OR REPLACE VIEW registry.record_lineage AS",
        "DROP VIEW registry.record_lineage CASCADE;\nCREATE OR REPLACE VIEW registry.record_lineage AS",
    )
    assert warehouse.migrate(wh) == []
    with wh.connect() as conn:
        assert _definitions(conn) == before


def test_an_object_file_cannot_silently_drop_what_no_file_re_creates(wh, objects_copy):
    with wh.begin() as conn:
        conn.execute(sa.text("CREATE VIEW staging.made_by_hand AS SELECT nik FROM staging.submission_row_normalised"))
    _edit(
        objects_copy / "040_staging_normalised_row.sql",
        "CREATE OR REPLACE VIEW staging.submission_row_normalised AS",
        "DROP VIEW staging.submission_row_normalised CASCADE;\n"
        "CREATE OR REPLACE VIEW staging.submission_row_normalised AS",
    )
    with pytest.raises(RuntimeError, match=r"relation staging\.made_by_hand"):
        warehouse.migrate(wh)
    with wh.connect() as conn:  # rolled back: the hand-made view is still there
        assert conn.execute(sa.text("SELECT to_regclass('staging.made_by_hand') IS NOT NULL")).scalar()


def test_an_object_file_cannot_silently_lose_a_grant(wh, objects_copy):
    # (registry has no default privileges: a re-created view there has only the grants the files give)
    _edit(
        objects_copy / "400_masked_views.sql",
        "CREATE OR REPLACE VIEW registry.household_masked AS",
        "DROP VIEW registry.household_masked;\nCREATE OR REPLACE VIEW registry.household_masked AS",
    )
    _edit(objects_copy / "900_grants.sql", "registry.household_masked, ", "")
    with pytest.raises(RuntimeError, match=r"privilege relation registry\.household_masked dtks_auditor:SELECT"):
        warehouse.migrate(wh)
    with wh.connect() as conn:
        assert conn.execute(
            sa.text("SELECT has_table_privilege('dtks_auditor', 'registry.household_masked', 'SELECT')")
        ).scalar()
