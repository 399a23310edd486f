"""Privacy types: tokens, age bands, ZIP3, scrubbed text, key ids, states."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts import (
    RESTRICTED_ZIP3,
    AgeBand,
    JourneyToken,
    KeyId,
    ScrubbedText,
    TokenRule,
    UsState,
    Zip3,
    age_band,
    journey_token_from_digest,
    zip3_of,
)
from contracts.errors import describe_validation_error
from contracts.privacy import RESTRICTED_ZIP3_FILE, find_pii_kinds


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-4"), (4, "0-4"), (5, "5-9"), (29, "25-29"), (89, "85-89"), (90, "90+"), (117, "90+")],
)
def test_age_band_generalizes_to_five_year_bands_and_90_plus(age: int, band: str) -> None:
    assert age_band(age) == AgeBand(band)


def test_age_band_rejects_negative_age() -> None:
    with pytest.raises(ValueError, match="negative"):
        age_band(-1)


def test_age_bands_cover_0_to_89_then_90_plus() -> None:
    assert [b.value for b in AgeBand][:2] == ["0-4", "5-9"]
    assert AgeBand("85-89") in AgeBand and list(AgeBand)[-1] == AgeBand("90+")
    assert len(AgeBand) == 19


@pytest.mark.parametrize(
    ("zip5", "zip3"),
    [
        ("20001", "200"),
        ("20001-0003", "200"),
        ("20500", "000"),
        ("75301", "000"),
        ("09012", "000"),
        (" 10001 ", "100"),
        ("03601", "000"),
        ("89301", "000"),
    ],
)
def test_zip3_of_generalizes_and_maps_restricted_areas_to_000(zip5: str, zip3: str) -> None:
    assert zip3_of(zip5) == zip3


@pytest.mark.parametrize("bad", ["2050", "205000", "ABCDE", "", "20500-12"])
def test_zip3_of_rejects_non_zip_input_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        zip3_of(bad)
    assert bad.strip() == "" or bad not in str(info.value)


#: Prefixes of 20,000 people or fewer in the 2020 Census (DHC P1, ZCTAs summed by prefix).
CENSUS_2020_RESTRICTED = frozenset(
    [
        "036",
        "059",
        "102",
        "202",
        "203",
        "204",
        "205",
        "369",
        "556",
        "692",
        "753",
        "772",
        "821",
        "823",
        "878",
        "879",
        "884",
        "893",
    ]
)


def test_restricted_zip3_list_is_the_2020_census_list_with_its_source() -> None:
    document = json.loads(
        resources.files("contracts").joinpath("catalog", RESTRICTED_ZIP3_FILE).read_text("utf-8")
    )
    assert frozenset(document["restricted"]) == CENSUS_2020_RESTRICTED
    assert document["threshold"] == 20_000
    assert "2020" in document["vintage"] and "P1" in document["source"]
    assert CENSUS_2020_RESTRICTED <= RESTRICTED_ZIP3
    # Prefixes with no 2020 ZCTA count as population 0: military and unassigned ones.
    assert {"001", "090", "340", "962", "969"} <= RESTRICTED_ZIP3
    # Areas restricted in 2000 but above 20,000 people in 2020 are published again.
    assert not {"063", "790", "830", "831", "890"} & RESTRICTED_ZIP3
    assert "000" not in RESTRICTED_ZIP3


def test_zip3_type_rejects_restricted_area_and_accepts_000() -> None:
    adapter = TypeAdapter(Zip3)
    assert adapter.validate_python("000") == "000"
    assert adapter.validate_python("200") == "200"
    for bad in ("036", "205", "969", "20", "2050", "abc"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_journey_token_is_43_char_base64url_of_a_32_byte_digest() -> None:
    token = journey_token_from_digest(bytes(range(32)))
    assert token == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    adapter = TypeAdapter(JourneyToken)
    assert adapter.validate_python(token) == token
    assert adapter.validate_python("-_" * 21 + "A")
    for bad in (token[:-1], token + "A", token[:-1] + "=", token[:-1] + "+", token[:-1] + "/"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    with pytest.raises(ValueError):
        journey_token_from_digest(b"short")


def test_key_id_pattern() -> None:
    adapter = TypeAdapter(KeyId)
    for good in ("ssa-2026-04", "a", "usda-fns.sign_1", "0" * 64):
        assert adapter.validate_python(good) == good
    for bad in ("", "SSA", "-ssa", "ssa key", "a" * 65, "ssa/1"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_token_rules_and_states() -> None:
    assert TokenRule("ssn-dob") is TokenRule.SSN_DOB
    assert TokenRule("name-dob-zip3") is TokenRule.NAME_DOB_ZIP3
    assert {"DC", "PR", "GU", "VI", "AS", "MP", "CA"} <= {s.value for s in UsState}
    assert len({s.value for s in UsState if s.value not in {"AA", "AE", "AP"}}) == 56
    with pytest.raises(ValueError):
        UsState("XX")


PII_SAMPLES = {
    "ssn with dashes": "my number is 078-05-1120 thanks",
    "ssn bare": "ssn 078051120",
    "email": "write to jane.doe@example.com please",
    "phone": "call (202) 555-0143 after 5",
    "phone dotted": "202.555.0143",
    "phone bare": "2025550143",
    "card": "card 4111111111111111",
}


@pytest.mark.parametrize("text", list(PII_SAMPLES.values()), ids=list(PII_SAMPLES))
def test_scrubbed_text_rejects_obvious_identifiers_without_echoing_them(text: str) -> None:
    adapter = TypeAdapter(ScrubbedText)
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(text)
    message = str(describe_validation_error(info.value, "comment"))
    assert "scrub" in message
    for fragment in ("078", "jane", "555", "4111"):
        assert fragment not in message


def test_scrubbed_text_accepts_ordinary_feedback_and_limits_length() -> None:
    adapter = TypeAdapter(ScrubbedText)
    text = "Waited 45 minutes on 2026-04-03 at 10:15; form 1040 was confusing. [REDACTED]"
    assert adapter.validate_python(text) == text
    assert find_pii_kinds(text) == ()
    with pytest.raises(ValidationError):
        adapter.validate_python("x" * 2001)
