"""The value mapping in the warehouse: ref.value_alias filled from the declared file, and the view reading it."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from dtks import value_mapping, warehouse
from dtks.value_mapping import load_mapping, mapping_from_raw, value_key

pytestmark = pytest.mark.postgres

AWKWARD = [
    "Kepala Keluarga",
    " kep. keluarga ",
    "KEP\u00a0KEL",
    "laki-laki",
    "Orang Tua/Mertua",
    "'1",
    "1.0",
    "ß",
    "Ístri",
    "\ufb01",
    "\u0130stri",
    "\uff2b\uff2b",
    "tab\there",
    "a_b-c(d)e",
    "",
    "  ",
    "Ya!",
    "tdk.",
    "ANAK\r\n",
]


def test_sql_value_key_is_the_python_value_key(wh):
    with wh.connect() as conn:
        keys = (
            conn.execute(
                sa.text(
                    "SELECT staging.value_key(v) FROM unnest(CAST(:v AS text[])) WITH ORDINALITY AS t(v, n) ORDER BY n"
                ),
                {"v": AWKWARD},
            )
            .scalars()
            .all()
        )
    assert keys == [value_key(v) for v in AWKWARD]
    assert keys[:3] == ["KEPALAKELUARGA", "KEPKELUARGA", "KEPKEL"]


def _aliases(conn) -> set[tuple[str, str, str]]:
    return {tuple(r) for r in conn.execute(sa.text("SELECT DISTINCT column_name, key, code FROM ref.value_alias"))}


def test_migrating_fills_the_table_from_the_declared_file(wh):
    mapping = load_mapping()
    with wh.connect() as conn:
        assert _aliases(conn) == {(a.column, a.key, a.code) for a in mapping.aliases}
        current = conn.execute(sa.text("SELECT version, sha256, definition FROM ref.value_mapping WHERE current")).one()
    assert (current.version, current.sha256, current.definition) == (mapping.version, mapping.sha256, mapping.raw)
    assert ("hubungan_keluarga", "KEPALAKELUARGA", "1") in {(a.column, a.key, a.code) for a in mapping.aliases}
    with wh.connect() as conn:
        rows = {
            tuple(r)
            for r in conn.execute(sa.text("SELECT column_name, written, code, key, spelling FROM ref.value_alias"))
        }
        written = set(
            conn.execute(
                sa.text("SELECT written FROM ref.value_alias WHERE column_name = 'hubungan_keluarga' AND code = '1'")
            ).scalars()
        )
    assert rows == set(mapping.lookup_rows())
    # the usual ways of typing a spelling, and its key (what the view's second lookup uses)
    assert {
        "KEPALA KELUARGA",
        "Kepala Keluarga",
        "kepala keluarga",
        "Kepala keluarga",
        "KEPALAKELUARGA",
        "Kep. Keluarga",
        "1",
    } <= written
    assert warehouse.migrate(wh) == []  # nothing new: the table stays as it is
    with wh.connect() as conn:
        assert _aliases(conn) == {(a.column, a.key, a.code) for a in mapping.aliases}


def _stage_row(conn, file_row: int, **values) -> None:
    columns = ", ".join(["submission_id", "file_row", *values])
    params = ", ".join([":sid", ":row", *(f":{c}" for c in values)])
    conn.execute(
        sa.text(f"INSERT INTO staging.submission_row ({columns}) VALUES ({params})"),
        {"sid": 999_001, "row": file_row, **values},
    )


def _normalised(conn) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            sa.text(
                "SELECT jenis_kelamin, hubungan_keluarga, status_keberadaan, pkh, bpnt, pbi FROM staging.normalised_row"
                " WHERE submission_id = 999001 ORDER BY file_row"
            )
        )
    ]


def test_the_staging_view_reads_words_as_codes_and_keeps_the_rest_as_sent(wh):
    with wh.begin() as conn:
        _stage_row(conn, 1, jenis_kelamin="L", hubungan_keluarga="1", status_keberadaan="1", pkh="1", bpnt="0", pbi="0")
        _stage_row(
            conn,
            2,
            jenis_kelamin="Perempuan",
            hubungan_keluarga="Istri",
            status_keberadaan="Ditemukan",
            pkh="Ya",
            bpnt="TIDAK",
            pbi="t",
        )
        _stage_row(
            conn,
            3,
            jenis_kelamin="1",
            hubungan_keluarga="ANAK KANDUNG",
            status_keberadaan="MENINGGAL",
            pkh="Y",
            bpnt=None,
            pbi="",
        )
        _stage_row(
            conn,
            4,
            jenis_kelamin="x",
            hubungan_keluarga="Sepupu",
            status_keberadaan="Hilang",
            pkh="2",
            bpnt="mungkin",
            pbi="-",
        )
        _stage_row(conn, 5, jenis_kelamin=None, hubungan_keluarga=None, status_keberadaan=None)
        rows = _normalised(conn)
    assert rows == [
        ("L", "1", "1", "1", "0", "0"),
        ("P", "2", "1", "1", "0", "0"),
        ("L", "3", "3", "1", "0", "0"),
        ("x", "Sepupu", "Hilang", "2", "mungkin", "-"),  # as sent: the checks name them
        ("", "", "", "0", "0", "0"),  # absent flags: not a recipient
    ]


def test_a_new_version_replaces_the_table_and_the_old_one_is_kept(wh):
    raw = copy.deepcopy(load_mapping().raw)
    raw["fields"]["status_keberadaan"]["codes"]["3"]["spellings"].append("ALMARHUM")
    with wh.begin() as conn:
        _stage_row(conn, 1, jenis_kelamin="L", hubungan_keluarga="1", status_keberadaan="Almarhum")
        assert _normalised(conn)[0][2] == "Almarhum"
    # the same version number with other content is refused, like an edited suite
    with wh.begin() as conn, pytest.raises(RuntimeError, match="bump"):
        value_mapping.sync(conn, mapping_from_raw(raw))
    raw["version"] = "99.0.0"
    with wh.begin() as conn:
        assert value_mapping.sync(conn, mapping_from_raw(raw)) == "99.0.0"
        assert _normalised(conn)[0][2] == "3"
        versions = conn.execute(sa.text("SELECT version, current FROM ref.value_mapping ORDER BY version")).all()
        assert set(conn.execute(sa.text("SELECT DISTINCT mapping_version FROM ref.value_alias")).scalars()) == {
            "99.0.0"
        }
    assert [tuple(v) for v in versions] == [(load_mapping().version, False), ("99.0.0", True)]
    # back to the declared file (a rolled-back deploy): current again, history unchanged
    with wh.begin() as conn:
        assert value_mapping.sync(conn) == load_mapping().version
        assert _normalised(conn)[0][2] == "Almarhum"
        assert conn.execute(sa.text("SELECT count(*) FROM ref.value_mapping")).scalar_one() == 2
