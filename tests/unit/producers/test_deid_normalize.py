"""Normalization of identity fields: the canonical forms token rules hash."""

from __future__ import annotations

from datetime import date

import pytest

from producers.deid import name_parts, normalize_name, normalize_ssn, normalize_zip5, parse_date


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("José", "JOSE"),
        ("JOSE", "JOSE"),
        ("  jose ", "JOSE"),
        ("O'Brien", "OBRIEN"),
        ("o\u2019brien", "OBRIEN"),
        ("Núñez-García", "NUNEZGARCIA"),
        ("Nunez Garcia", "NUNEZGARCIA"),
        ("Strauß", "STRAUSS"),
        ("Søren", "SOREN"),
        ("Łukasz", "LUKASZ"),
        ("Smith Jr.", "SMITH"),
        ("King III", "KING"),
        ("Jr", "JR"),  # a suffix alone is the name
        ("Zoe\u0308", "ZOE"),  # decomposed diaeresis
        ("\uff2a\uff4f\uff53\uff45", "JOSE"),  # full-width letters
        ("!!!", ""),
    ],
)
def test_names_normalize_to_upper_case_letters_without_diacritics(
    written: str, canonical: str
) -> None:
    assert normalize_name(written) == canonical


def test_name_parts_split_at_punctuation_and_keep_order() -> None:
    assert name_parts("Mary-Jane O'Brien") == ("MARY", "JANE", "O", "BRIEN")


@pytest.mark.parametrize(
    "written", ["219-09-9999", "219 09 9999", "219.09.9999", "219099999", " 219-09-9999 "]
)
def test_ssn_formats_normalize_to_nine_digits(written: str) -> None:
    assert normalize_ssn(written) == "219099999"


@pytest.mark.parametrize(
    "invalid",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "912-12-3456",  # area 9xx
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "12-345-678",  # 8 digits
        "1234567890",  # 10 digits
        "12a-45-6789",
        "١٢٣٤٥٦٧٨٩",  # non-ASCII digits
    ],
)
def test_invalid_ssns_are_refused_without_echoing_them(invalid: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalize_ssn(invalid)
    assert invalid.strip() not in str(caught.value)


@pytest.mark.parametrize(("written", "zip5"), [("32301", "32301"), ("32301-1234", "32301")])
def test_zip_normalizes_to_five_digits(written: str, zip5: str) -> None:
    assert normalize_zip5(written) == zip5


@pytest.mark.parametrize("invalid", ["3230", "323011", "ABCDE", "32301-12"])
def test_invalid_zips_are_refused(invalid: str) -> None:
    with pytest.raises(ValueError):
        normalize_zip5(invalid)


@pytest.mark.parametrize(
    "written", ["1990-07-14", "07/14/1990", "19900714", "1990/07/14", "07-14-1990"]
)
def test_dates_of_birth_in_agency_formats_parse_to_the_same_date(written: str) -> None:
    assert parse_date(written) == date(1990, 7, 14)


def test_day_first_dates_are_refused_rather_than_swapped() -> None:
    with pytest.raises(ValueError):
        parse_date("14/07/1990")
