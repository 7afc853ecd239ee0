"""NIK / KK structure, by hand-checked examples (DOMAIN.md, "Identifiers and codes")."""

from datetime import date

import pytest

from dtks.identifiers import (
    build_kk,
    build_nik,
    looks_excel_corrupted,
    mask_identifier,
    nik_birth_part,
    nik_problems,
    split_nik,
)

KNOWN = {"3578", "3171", "3501"}


def test_build_nik_women_have_forty_added_to_the_day():
    assert build_nik("357801", date(1982, 5, 6), female=True, serial=2) == "3578014605820002"
    assert build_nik("357801", date(1980, 3, 4), female=False, serial=1) == "3578010403800001"


def test_split_nik():
    parts = split_nik("3578014605820002")
    assert (parts.kabkota, parts.kecamatan, parts.birth_day, parts.birth_month, parts.serial) == (
        "3578",
        "357801",
        46,
        5,
        "0002",
    )
    assert parts.female and parts.real_birth_day == 6
    assert split_nik("357801460582000") is None


@pytest.mark.parametrize(
    "nik, problems",
    [
        ("3578010403800001", []),
        ("3578014605820002", []),
        ("", ["nik_missing"]),
        ("3.57801E+15", ["nik_excel_corrupted"]),
        ("3578010403800001.0", ["nik_excel_corrupted"]),
        ("578010403800001", ["nik_not_16_digits"]),  # lost leading zero / digit
        ("9999010403800001", ["nik_region_unknown"]),
        ("3578013203800001", ["nik_birth_day_invalid"]),  # day 32
        ("3578017203800001", ["nik_birth_day_invalid"]),  # day 72 (women: 41-71)
        ("3578010413800001", ["nik_birth_month_invalid"]),  # month 13
        ("3578010403800000", ["nik_serial_zero"]),
    ],
)
def test_nik_problems(nik, problems):
    assert nik_problems(nik, KNOWN) == problems


def test_excel_detection_does_not_flag_plain_numbers():
    assert looks_excel_corrupted("3.17101E+15")
    assert looks_excel_corrupted("3171011201900001.0")
    assert not looks_excel_corrupted("3171011201900001")


def test_birth_part_and_kk():
    assert nik_birth_part(date(2000, 12, 31), female=True) == "711200"
    assert build_kk("317101", date(2015, 1, 2), 7) == "3171010201150007"
    with pytest.raises(ValueError):
        build_nik("3171", date(2000, 1, 1), False, 1)
    with pytest.raises(ValueError):
        build_nik("317101", date(2000, 1, 1), False, 0)


def test_masking_keeps_region_and_last_two_digits():
    assert mask_identifier("3171011201900001") == "3171**********01"
    assert mask_identifier(None) == ""
