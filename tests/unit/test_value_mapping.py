"""The declared value mapping (include/mapping/value_aliases.json): spellings, codes, and what it refuses."""

from __future__ import annotations

import copy
import json

import pytest

from dtks import schema
from dtks.validation import load_suite_spec
from dtks.value_mapping import MAPPING_FILE, load_mapping, mapping_from_raw, value_key

# The family card's SHDK words (Dukcapil F-1.01) and the DTKS/SIKS-NG code each one is (dtks/schema.py).
FAMILY_CARD_WORDS = {
    "KEPALA KELUARGA": "1",
    "SUAMI": "2",
    "ISTRI": "2",
    "ANAK": "3",
    "MENANTU": "4",
    "CUCU": "5",
    "ORANG TUA": "6",
    "MERTUA": "6",
    "PEMBANTU": "7",
    "FAMILI LAIN": "8",
    "LAINNYA": "9",
}
PRESENCE_WORDS = {"DITEMUKAN": "1", "PINDAH": "2", "MENINGGAL": "3", "TIDAK DITEMUKAN": "4", "GANDA": "5"}


def test_value_key_ignores_case_spaces_and_punctuation():
    assert value_key("Kep. Keluarga") == "KEPKELUARGA"
    assert value_key("  kepala\u00a0keluarga\t") == "KEPALAKELUARGA"
    assert value_key("Laki-Laki") == value_key("LAKI LAKI") == value_key("laki_laki") == "LAKILAKI"
    assert value_key("Orang Tua/Mertua") == "ORANGTUAMERTUA"
    assert value_key("'1") == value_key("(1)") == "1"
    assert value_key("1.0") == "10"  # a number keeps its digits: never read as 1
    assert value_key("ß") == "" and value_key("Ístri") == "STRI"  # ASCII only, as in SQL
    assert value_key(None) == value_key("") == value_key(" - ") == ""


@pytest.mark.parametrize("word, code", sorted(FAMILY_CARD_WORDS.items()))
def test_family_card_words_are_relationship_codes(word, code):
    mapping = load_mapping()
    assert mapping.code("hubungan_keluarga", word) == code
    assert mapping.code("hubungan_keluarga", word.lower()) == code
    assert mapping.code("hubungan_keluarga", word.title().replace(" ", "  ")) == code


@pytest.mark.parametrize(
    "spelling, code",
    [
        ("KK", "1"),
        ("Kep. Keluarga", "1"),
        ("kep keluarga", "1"),
        ("KEPALA KEL.", "1"),
        ("Kepala Rumah Tangga", "1"),
        ("Isteri", "2"),
        ("Suami/Istri", "2"),
        ("Anak Kandung", "3"),
        ("anak tiri", "3"),
        ("Anak-Angkat", "3"),
        ("Orang Tua / Mertua", "6"),
        ("ORTU", "6"),
        ("Pembantu Rumah Tangga", "7"),
        ("Family Lain", "8"),
        ("Lain-lain", "9"),
        ("1", "1"),
        ("9", "9"),
    ],
)
def test_common_relationship_spellings(spelling, code):
    assert load_mapping().code("hubungan_keluarga", spelling) == code


@pytest.mark.parametrize("word, code", sorted(PRESENCE_WORDS.items()))
def test_presence_words_are_status_codes(word, code):
    mapping = load_mapping()
    assert mapping.code("status_keberadaan", word) == code
    assert mapping.code("status_keberadaan", word.lower()) == code


@pytest.mark.parametrize(
    "spelling, code",
    [
        ("Di temukan", "1"),
        ("Pindah Alamat", "2"),
        ("Meninggal Dunia", "3"),
        ("Tdk. Ditemukan", "4"),
        ("tidak di-temukan", "4"),
        ("Data Ganda", "5"),
        ("3", "3"),
    ],
)
def test_common_status_spellings(spelling, code):
    assert load_mapping().code("status_keberadaan", spelling) == code


@pytest.mark.parametrize("column", ["pkh", "bpnt", "pbi"])
@pytest.mark.parametrize(
    "spelling, code",
    [
        ("YA", "1"),
        ("Ya", "1"),
        ("y", "1"),
        ("1", "1"),
        ("True", "1"),  # True: an Excel TRUE cell as read
        ("TIDAK", "0"),
        ("Tidak", "0"),
        ("T", "0"),
        ("tdk.", "0"),
        ("0", "0"),
        ("False", "0"),
    ],
)
def test_programme_flag_spellings(column, spelling, code):
    assert load_mapping().code(column, spelling) == code


@pytest.mark.parametrize(
    "spelling, code",
    [
        ("L", "L"),
        ("l", "L"),
        ("1", "L"),
        ("Laki-laki", "L"),
        ("LAKI LAKI", "L"),
        ("Pria", "L"),
        ("P", "P"),
        ("p", "P"),
        ("2", "P"),
        ("Perempuan", "P"),
        ("Wanita", "P"),
    ],
)
def test_sex_spellings(spelling, code):
    assert load_mapping().code("jenis_kelamin", spelling) == code


@pytest.mark.parametrize(
    "column, value",
    [
        ("hubungan_keluarga", "SEPUPU"),
        ("hubungan_keluarga", "10"),
        ("hubungan_keluarga", "11"),
        ("hubungan_keluarga", "0"),
        ("hubungan_keluarga", ""),
        ("hubungan_keluarga", "-"),
        ("hubungan_keluarga", "1.0"),
        ("status_keberadaan", "HILANG"),
        ("status_keberadaan", "6"),
        ("status_keberadaan", "TIDAK"),
        ("pkh", "2"),
        ("pkh", "MUNGKIN"),
        ("pkh", "-"),
        ("jenis_kelamin", "X"),
        ("jenis_kelamin", "3"),
        # a word of one field is not a word of another
        ("hubungan_keluarga", "YA"),
        ("pkh", "ANAK"),
        ("status_keberadaan", "KEPALA KELUARGA"),
    ],
)
def test_undeclared_values_are_not_guessed(column, value):
    assert load_mapping().code(column, value) is None


def test_mapping_codes_are_the_codes_the_checks_accept():
    """The mapping, the suite's value sets and dtks.schema name the same codes for each field."""
    mapping = load_mapping()
    suite = {
        e["kwargs"]["column"]: set(e["kwargs"]["value_set"])
        for e in load_suite_spec().raw["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    expected = {
        "hubungan_keluarga": set(schema.RELATIONSHIP_CODES),
        "status_keberadaan": set(schema.STATUS_CODES),
        "jenis_kelamin": set(schema.SEX_CODES),
        "pkh": set(schema.FLAG_CODES),
        "bpnt": set(schema.FLAG_CODES),
        "pbi": set(schema.FLAG_CODES),
    }
    assert {c: set(labels) for c, labels in mapping.labels.items()} == expected
    assert {c: suite[c] for c in expected} == expected


def _raw() -> dict:
    return copy.deepcopy(json.loads(MAPPING_FILE.read_text(encoding="utf-8")))


def test_a_spelling_meaning_two_codes_is_refused():
    raw = _raw()
    raw["fields"]["hubungan_keluarga"]["codes"]["3"]["spellings"].append("Kepala-Keluarga")
    with pytest.raises(ValueError, match="'Kepala-Keluarga' would mean both '1'"):
        mapping_from_raw(raw)


def test_a_column_that_is_not_staged_is_refused():
    raw = _raw()
    raw["fields"]["programme_flag"]["columns"].append("pkh_lama")
    with pytest.raises(ValueError, match="pkh_lama"):
        mapping_from_raw(raw)


def test_a_spelling_without_letters_or_digits_is_refused():
    raw = _raw()
    raw["fields"]["programme_flag"]["codes"]["0"]["spellings"].append("-")
    with pytest.raises(ValueError, match="no letter or digit"):
        mapping_from_raw(raw)


def test_the_declared_file_is_versioned_and_fingerprinted():
    mapping = load_mapping()
    assert mapping.version == _raw()["version"]
    edited = _raw()
    edited["fields"]["status_keberadaan"]["codes"]["3"]["spellings"].append("ALMARHUM")
    assert mapping_from_raw(edited).sha256 != mapping.sha256
    assert mapping_from_raw(_raw()).sha256 == mapping.sha256
