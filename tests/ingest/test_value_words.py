"""Files that write relationship, presence status, flags and sex in words, through the real pipeline.

Each case is a district file landed in the landing folder; the pipeline runs
once over all of them (register → stage → validate → merge → feedback,
``tests/ingest/helpers.run_pipeline``), and the registry must hold the codes
the words stand for (include/mapping/value_aliases.json). A plain CSV is
COPYed by PostgreSQL and mapped in SQL, a quoted one is read by the parser,
an XLSX by openpyxl: the three paths must agree.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from dtks.schema import CANONICAL_COLUMNS
from tests.ingest import helpers as h

pytestmark = pytest.mark.postgres

# Two families per file. Family 1: head, wife, son, daughter; family 2: head and wife.
# (row values as a district writes them, then the codes the registry must hold)
WORDED = [
    # hubungan_keluarga, status_keberadaan, jenis_kelamin, pkh, bpnt, pbi
    ("Kepala Keluarga", "DITEMUKAN", "LAKI-LAKI", "YA", "Tidak", "Ya"),
    ("ISTRI", "Ditemukan", "Perempuan", "YA", "Tidak", "T"),
    ("Anak Kandung", "di temukan", "laki laki", "YA", "Tidak", "TIDAK"),
    ("anak", "MENINGGAL", "P", "YA", "Tidak", "y"),
    ("Kep. Keluarga", "Ditemukan", "L", "1", "0", "0"),
    ("suami/istri", "Pindah", "WANITA", "1", "0", "1"),
]
CODES = [
    ("1", "1", "L", True, False, True),
    ("2", "1", "P", True, False, False),
    ("3", "1", "L", True, False, False),
    ("3", "3", "P", True, False, True),
    ("1", "1", "L", True, False, False),
    ("2", "2", "P", True, False, True),
]
COLUMNS = ("hubungan_keluarga", "status_keberadaan", "jenis_kelamin", "pkh", "bpnt", "pbi")
TYPO = "KEPALA KELUARGGA"  # no declared spelling


def _people(villages):
    return h.family(villages[0], 1, 1, 4) + h.family(villages[0], 2, 11, 2)


def _worded_rows(people, words=WORDED) -> list[dict]:
    rows = []
    for person, values in zip(people, words):
        row = person.row()
        row.update(dict(zip(COLUMNS, values)))
        rows.append(row)
    return rows


CASES = {
    # name: (district, file name, how the file is written)
    "csv_bulk": ("3578", "kata_kata.csv"),
    "csv_parser": ("3501", "kata_kata_quoted.csv"),
    "xlsx": ("3171", "kata_kata.xlsx"),
    "undeclared": ("3502", "salah_ketik.csv"),
}


def _file(name: str, people) -> bytes:
    if name == "csv_bulk":  # no quote anywhere: PostgreSQL COPYs it straight from the archive
        return h.csv_bytes(_worded_rows(people), delimiter=";")
    if name == "csv_parser":  # quoted: read by the Python parser
        return h.csv_bytes(_worded_rows(people), quoting=csv.QUOTE_ALL)
    if name == "xlsx":
        rows = []
        for row in _worded_rows(people):
            if row["pkh"] == "YA":
                row["pkh"] = True  # an Excel TRUE cell
            if row["hubungan_keluarga"] == "Kep. Keluarga":
                row["hubungan_keluarga"] = 1  # a number cell among the words
            rows.append([row[c] for c in CANONICAL_COLUMNS])
        return h.xlsx_bytes(rows, list(CANONICAL_COLUMNS), title_rows=[["DATA PEMUTAKHIRAN DTKS"], []])
    if name == "undeclared":
        rows = _worded_rows(people)
        rows[0]["hubungan_keluarga"] = TYPO  # the head of family 1, misspelt
        return h.csv_bytes(rows, delimiter=";")
    raise ValueError(name)


@pytest.fixture(scope="module")
def run(module_wh, module_dirs):
    h.create_round(module_wh)
    people = {}
    for name, (district, file_name) in CASES.items():
        people[name] = _people(h.villages(module_wh, district, 1))
        h.land_bytes(module_dirs["landing"], district, file_name, _file(name, people[name]))
    h.run_pipeline(module_wh, module_dirs)
    found = h.outcomes(module_wh)
    with module_wh.connect() as conn:
        paths = dict(
            conn.execute(
                sa.text(
                    "SELECT s.file_name, e.detail->>'path' FROM audit.submission_event e"
                    " JOIN audit.submission s USING (submission_id) WHERE e.event = 'staged'"
                )
            ).all()
        )
    return {name: (found[file_name], people[name], paths.get(file_name)) for name, (_, file_name) in CASES.items()}


@pytest.mark.parametrize("name, path", [("csv_bulk", "bulk"), ("csv_parser", "parser"), ("xlsx", "parser")])
def test_words_are_merged_as_codes(run, module_wh, name, path):
    outcome, people, staged_by = run[name]
    assert staged_by == path
    assert outcome.status == "merged", (outcome.reject_reason, outcome.reject_detail)
    assert outcome.issues == {}
    assert outcome.rows_in == outcome.rows_accepted == len(people) == len(CODES)
    for person, expected in zip(people, CODES):
        stored = h.registry(module_wh, person.nik)
        assert stored is not None, person
        assert tuple(stored[c] for c in COLUMNS) == expected
        assert stored["active"] == (expected[1] == "1")  # MENINGGAL and PINDAH deactivate


def test_the_three_paths_give_the_same_registry_values(run, module_wh):
    def values(name):
        return [tuple(h.registry(module_wh, p.nik)[c] for c in COLUMNS) for p in run[name][1]]

    assert values("csv_bulk") == values("csv_parser") == values("xlsx") == CODES


def test_an_undeclared_word_is_one_row_error_naming_it(run, module_wh, module_dirs):
    outcome, people, staged_by = run["undeclared"]
    assert staged_by == "bulk"
    assert outcome.status == "merged"
    # one wrong value, one report: no kk_head_count for the family whose head is unreadable
    assert outcome.issues == {1: {"relationship_code_unknown"}}
    assert outcome.values[(1, "relationship_code_unknown")] == TYPO
    assert outcome.rows_accepted == len(people) - 1
    assert h.registry(module_wh, people[0].nik) is None
    assert h.registry(module_wh, people[1].nik)["hubungan_keluarga"] == "2"
    feedback = next(module_dirs["outbox"].rglob(f"feedback_{outcome.submission_id}.csv"))
    lines = list(csv.reader(io.StringIO(feedback.read_text(encoding="utf-8-sig"))))
    problems = [line for line in lines if "relationship_code_unknown" in line]
    assert len(problems) == 1 and TYPO in problems[0]
    # bilingual, and no name or NIK of the person in the message
    message = " ".join(problems[0][problems[0].index("relationship_code_unknown") + 1 :])
    assert "KEPALA KELUARGA" in message and "head" in message
    assert people[0].nama not in message and people[0].nik not in message
    assert not any("kk_head_count" in line for line in lines)


def test_the_validated_event_records_the_mapping_version(run, module_wh):
    from dtks.value_mapping import load_mapping

    with module_wh.connect() as conn:
        versions = set(
            conn.execute(
                sa.text("SELECT detail->>'value_mapping' FROM audit.submission_event WHERE event = 'validated'")
            ).scalars()
        )
    assert versions == {load_mapping().version}
