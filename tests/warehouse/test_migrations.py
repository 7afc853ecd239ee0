"""Migrations apply in order, once, and refuse edited history."""

import pytest
import sqlalchemy as sa

from dtks import warehouse

pytestmark = pytest.mark.postgres


def test_migrations_apply_twice_cleanly(wh):
    # The template was migrated already: a second run applies nothing and changes nothing.
    before = _schema_fingerprint(wh)
    assert warehouse.migrate(wh) == []
    assert warehouse.migrate(wh) == []
    assert _schema_fingerprint(wh) == before
    with wh.connect() as conn:
        applied = conn.execute(sa.text("SELECT name FROM public.schema_migration ORDER BY version")).scalars().all()
    assert applied == [p.name for p in warehouse.migration_files()]


def test_changed_migration_is_refused(wh, monkeypatch, tmp_path):
    first = warehouse.migration_files()[0]
    edited = tmp_path / first.name
    edited.write_text(first.read_text() + "\n-- edited afterwards\n")
    monkeypatch.setattr(warehouse, "migration_files", lambda: [edited])
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        warehouse.migrate(wh)


def test_reference_codes_loaded(wh):
    with wh.connect() as conn:
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM ref.province), (SELECT count(*) FROM ref.kabkota),"
                " (SELECT count(*) FROM ref.kecamatan), (SELECT count(*) FROM ref.village),"
                " (SELECT count(*) FROM ref.kabkota WHERE province_code IN ('31','35','52','53','73'))"
            )
        ).one()
    assert tuple(counts) == (38, 514, 7285, 83762, 100)


def test_reference_reload_is_idempotent(wh):
    from dtks import reference

    reference.load_reference(wh)
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ref.village WHERE retired_in IS NOT NULL")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM ref.village")).scalar() == 83762


def _schema_fingerprint(eng):
    with eng.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT string_agg(table_schema || '.' || table_name || '.' || column_name || ':' || data_type, ',' "
                "ORDER BY table_schema, table_name, ordinal_position) FROM information_schema.columns "
                "WHERE table_schema IN ('ref','audit','staging','registry','quarantine','metrics')"
            )
        ).scalar()
