"""Journey tokens: stable across agencies and formats, distinct across people, keyed, rotatable."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from contracts.privacy import TokenRule
from producers import DeidPolicy, TokenInputMissing, deidentify
from producers.deid import choose_rule, journey_token, link, token_input
from tests.support.raw_records import keys, linkage_key, raw


def _spec_token(secret: bytes, text: str) -> str:
    """The token exactly as TOKENS.md specifies it, computed independently."""
    digest = hmac.new(secret, text.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_token_input_is_the_documented_string() -> None:
    record = raw()
    assert token_input(record, TokenRule.SSN_DOB) == b"ssn-dob|219099999|1990-07-14"
    assert (
        token_input(record, TokenRule.NAME_DOB_ZIP3)
        == b"name-dob-zip3|QUINTANILLAORTEGA|ZOE|1990-07-14|323"
    )


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (TokenRule.SSN_DOB, "ssn-dob|219099999|1990-07-14"),
        (TokenRule.NAME_DOB_ZIP3, "name-dob-zip3|QUINTANILLAORTEGA|ZOE|1990-07-14|323"),
    ],
)
def test_token_is_base64url_hmac_sha256_of_the_input(rule: TokenRule, text: str) -> None:
    key = linkage_key()
    token = journey_token(raw(), rule, key)
    assert token == _spec_token(key.secret, text)
    assert len(token) == 43


def test_same_person_at_two_agencies_gets_the_same_token_under_each_rule() -> None:
    # SSA types the person one way, WIC another; both are the same identity.
    at_ssa = raw(
        agency="ssa",
        service_id="ssa.enumeration-at-birth",
        first_name="ZOE",
        last_name="QUINTANILLA ORTEGA",
        ssn="219099999",
        date_of_birth="19900714",
        zip="32301-4410",
    )
    at_wic = raw(
        first_name=" zoë ",
        last_name="Quintanilla-Ortega",
        ssn="219 09 9999",
        date_of_birth="07/14/1990",
        zip="32399",
    )
    key = linkage_key()
    for rule in TokenRule:
        assert journey_token(at_ssa, rule, key) == journey_token(at_wic, rule, key)


@pytest.mark.parametrize(
    "other",
    [
        {"ssn": "219-09-9998"},
        {"date_of_birth": "1990-07-15"},
    ],
)
def test_different_people_get_different_ssn_tokens(other: dict[str, str]) -> None:
    key = linkage_key()
    assert journey_token(raw(), TokenRule.SSN_DOB, key) != journey_token(
        raw(**other), TokenRule.SSN_DOB, key
    )


@pytest.mark.parametrize(
    "other",
    [
        {"first_name": "Zoey"},
        {"last_name": "Quintanilla"},
        {"date_of_birth": "1991-07-14"},
        {"zip": "33301"},
    ],
)
def test_different_people_get_different_name_tokens(other: dict[str, str]) -> None:
    key = linkage_key()
    assert journey_token(raw(), TokenRule.NAME_DOB_ZIP3, key) != journey_token(
        raw(**other), TokenRule.NAME_DOB_ZIP3, key
    )


def test_rules_give_different_tokens_for_the_same_person() -> None:
    key = linkage_key()
    assert journey_token(raw(), TokenRule.SSN_DOB, key) != journey_token(
        raw(), TokenRule.NAME_DOB_ZIP3, key
    )


def test_different_life_experience_keys_give_unlinkable_tokens() -> None:
    record = raw()
    child = linkage_key("having-a-child")
    shock = linkage_key("facing-a-financial-shock", secret=b"\x07" * 32)
    assert journey_token(record, TokenRule.SSN_DOB, child) != journey_token(
        record, TokenRule.SSN_DOB, shock
    )


def test_rotated_linkage_key_gives_a_new_token_and_records_the_new_key_id() -> None:
    record = raw()
    before = deidentify(record, keys(n=1))
    after = deidentify(record, keys(n=2))
    assert before.journey_token != after.journey_token
    assert before.linkage_key_id == "lk-having-a-child-20260101-1"
    assert after.linkage_key_id == "lk-having-a-child-20260101-2"


def test_ssn_rule_is_chosen_when_there_is_an_ssn_and_name_rule_otherwise() -> None:
    assert choose_rule(raw()) is TokenRule.SSN_DOB
    assert choose_rule(raw(ssn=None)) is TokenRule.NAME_DOB_ZIP3
    assert choose_rule(raw(ssn="")) is TokenRule.NAME_DOB_ZIP3


def test_agency_can_prefer_the_name_rule_even_with_an_ssn() -> None:
    policy = DeidPolicy(token_rules=(TokenRule.NAME_DOB_ZIP3,))
    event = deidentify(raw(), keys(), policy)
    assert event.token_rule is TokenRule.NAME_DOB_ZIP3
    assert event.journey_token == journey_token(raw(), TokenRule.NAME_DOB_ZIP3, linkage_key())


def test_link_records_rule_and_key_id() -> None:
    linkage = link(raw(ssn=None), linkage_key(n=3))
    assert linkage.token_rule is TokenRule.NAME_DOB_ZIP3
    assert linkage.linkage_key_id == "lk-having-a-child-20260101-3"


def test_missing_rule_inputs_name_the_fields_not_the_values() -> None:
    record = raw(ssn=None, first_name="!!")
    with pytest.raises(TokenInputMissing) as caught:
        choose_rule(record)
    assert "ssn-dob" in str(caught.value)
    with pytest.raises(TokenInputMissing) as caught:
        token_input(record, TokenRule.NAME_DOB_ZIP3)
    message = str(caught.value)
    assert "first_name" in message
    assert "Quintanilla" not in message
    assert "1990" not in message
