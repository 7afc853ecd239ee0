"""Files built to exhaust the database or the parser (issue 13 items 2, 5, 11).

Each file goes through the real register → stage → validate → merge path on
the real PostgreSQL; the outcome is a reason for the district (or rows
accepted), never a stage task failing on every run.
"""

from __future__ import annotations

import io
import random
import string
import zipfile

import pytest

from dtks.schema import CANONICAL_COLUMNS
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres


def _people(eng, district: str, serial: int = 1):
    return h.family(h.villages(eng, district, 1)[0], serial, serial * 10, 2)


def _wide_csv(eng, district: str, extra_columns: int, value_chars: int, seed: int = 1) -> bytes:
    """The canonical columns, then ``extra_columns`` more, every extra cell a random value."""
    rng = random.Random(seed)
    header = list(CANONICAL_COLUMNS) + [f"kolom_tambahan_{i}" for i in range(extra_columns)]
    lines = [",".join(header)]
    for person in _people(eng, district):
        row = person.row()
        extra = ("".join(rng.choices(string.ascii_letters, k=value_chars)) for _ in range(extra_columns))
        lines.append(",".join([row[c] for c in CANONICAL_COLUMNS] + list(extra)))
    return ("\r\n".join(lines) + "\r\n").encode()


def _outcome(eng, dirs, name: str) -> h.Outcome:
    h.run_pipeline(eng, dirs)
    return h.outcomes(eng)[name]


# ----------------------------------------------------------------- item 2
@pytest.mark.parametrize("columns,chars", [(2000, 3), (1200, 10)], ids=["2000_columns", "1200_columns"])
def test_implausibly_wide_csv_is_rejected_whole_with_a_reason(wh, dirs, columns, chars):
    h.create_round(wh)
    h.land_bytes(dirs["landing"], "3501", "lebar.csv", _wide_csv(wh, "3501", columns - len(CANONICAL_COLUMNS), chars))
    outcome = _outcome(wh, dirs, "lebar.csv")
    assert (outcome.status, outcome.reject_reason) == ("rejected", "file_too_many_columns")
    assert f"Berkas memiliki {columns} kolom (batas 500)" in outcome.reject_detail
    assert f"The file has {columns} columns (the limit is 500)" in outcome.reject_detail
    feedback_csv = next(dirs["outbox"].rglob(f"feedback_{outcome.submission_id}.csv"))
    assert "file_too_many_columns" in feedback_csv.read_text(encoding="utf-8-sig")


def test_a_row_too_big_for_the_bulk_path_is_read_by_the_parser(wh, dirs):
    """500 columns of 16 characters: at the column limit, but one row is over PostgreSQL's 8 KB page
    ("row is too big", not a DataError): the parser reads the file instead and its rows are accepted."""
    h.create_round(wh)
    h.land_bytes(dirs["landing"], "3501", "lebar_sah.csv", _wide_csv(wh, "3501", 500 - len(CANONICAL_COLUMNS), 16))
    outcome = _outcome(wh, dirs, "lebar_sah.csv")
    assert (outcome.status, outcome.rows_accepted) == ("merged", 2)
    import sqlalchemy as sa

    with wh.connect() as conn:
        read_as = conn.execute(sa.text("SELECT detail FROM audit.submission_event WHERE event = 'staged'")).scalar_one()
    assert read_as["path"] == "parser"


# ----------------------------------------------------------------- items 5 and 11
def _xlsx(eng, district: str = "3501") -> bytes:
    people = _people(eng, district)
    return h.xlsx_bytes([[p.row()[c] for c in CANONICAL_COLUMNS] for p in people], list(CANONICAL_COLUMNS))


def _rewrite(xlsx: bytes, change) -> bytes:
    """The workbook with its parts passed through ``change(name, data) -> (name, data) | None``."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            changed = change(info.filename, src.read(info.filename))
            if changed is not None:
                dst.writestr(*changed)
    return out.getvalue()


def _big_shared_strings(eng) -> bytes:
    """20 MB of distinct shared strings (as in the issue's reproduction), compressing about 2:1."""
    rng = random.Random(5)

    filler = b"".join(
        b"<si><t>%s</t></si>" % "".join(rng.choices(string.ascii_letters, k=60)).encode() for _ in range(300_000)
    )
    part = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="300000" uniqueCount="300000">' + filler + b"</sst>"
    )

    def change(name, data):  # openpyxl wrote inline strings: add the part, its relationship and type
        if name == "xl/_rels/workbook.xml.rels":
            rel = (
                b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
            )
            return name, data.replace(b"</Relationships>", rel)
        if name == "[Content_Types].xml":
            override = (
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
            )
            return name, data.replace(b"</Types>", override)
        return name, data

    workbook = _rewrite(_xlsx(eng), change)
    out = io.BytesIO(workbook)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", part)
    assert len(part) > 20_000_000 and len(out.getvalue()) < len(part) // 1.5
    return out.getvalue()


_DTD = b'<!DOCTYPE worksheet [<!ENTITY nik "3578010101800021">]>'
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def _dtd_after_long_comment(eng) -> bytes:
    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return name, _DECLARATION + b"<!--" + b"x" * 70_000 + b"-->" + _DTD + data
        return name, data

    return _rewrite(_xlsx(eng), change)


def _dtd_in_a_part_named_dat(eng) -> bytes:
    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return "xl/worksheets/sheet1.dat", _DECLARATION + _DTD + data
        if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
            return name, data.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.dat")
        return name, data

    return _rewrite(_xlsx(eng), change)


def _utf16_part(eng) -> bytes:
    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return name, ('<?xml version="1.0" encoding="UTF-16"?>' + data.decode("utf-8")).encode("utf-16")
        return name, data

    return _rewrite(_xlsx(eng), change)


@pytest.mark.parametrize(
    "build,problem",
    [
        (_big_shared_strings, "sharedStrings.xml"),
        (_dtd_after_long_comment, "DTD/ENTITY (sheet1.xml)"),
        (_dtd_in_a_part_named_dat, "DTD/ENTITY (sheet1.dat)"),
        (_utf16_part, "XML not in UTF-8 (sheet1.xml)"),
    ],
    ids=["shared_strings_20MB", "dtd_after_70KB_comment", "dtd_in_sheet1_dat", "utf16_part"],
)
def test_unsafe_xlsx_parts_are_refused(wh, dirs, build, problem):
    h.create_round(wh)
    h.land_bytes(dirs["landing"], "3501", "berbahaya.xlsx", build(wh))
    outcome = _outcome(wh, dirs, "berbahaya.xlsx")
    assert (outcome.status, outcome.reject_reason) == ("rejected", "file_archive_unsafe")
    assert problem in outcome.reject_detail


def test_openpyxl_itself_parses_through_defusedxml(wh, tmp_path):
    """The second line of defence: openpyxl, given a DTD our checks did not see, refuses it."""
    import defusedxml
    import openpyxl

    path = tmp_path / "dtd.xlsx"
    path.write_bytes(_dtd_after_long_comment(wh))
    with pytest.raises(Exception) as refused:  # openpyxl wraps what its parser raised
        workbook = openpyxl.load_workbook(path, read_only=True)
        list(workbook.worksheets[0].iter_rows(values_only=True))
    chain, exc = [], refused.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, defusedxml.DefusedXmlException) for e in chain), chain
