"""``link`` (one pass over the rules) gives what ``choose_rule`` + ``journey_token`` give."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.privacy import TokenRule
from producers.deid import RawRecord, choose_rule, journey_token, link
from producers.errors import TokenInputMissing
from tests.support.people import raw_records
from tests.support.raw_records import keys, raw

KEY = keys()["having-a-child"]
PREFERENCES = [
    (TokenRule.SSN_DOB, TokenRule.NAME_DOB_ZIP3),
    (TokenRule.NAME_DOB_ZIP3, TokenRule.SSN_DOB),
    (TokenRule.SSN_DOB,),
    (TokenRule.NAME_DOB_ZIP3,),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=raw_records(), preference=st.sampled_from(PREFERENCES))
def test_link_equals_choose_rule_then_journey_token(
    case: tuple[RawRecord, object], preference: tuple[TokenRule, ...]
) -> None:
    record, _ = case
    try:
        rule = choose_rule(record, preference)
    except TokenInputMissing:
        with pytest.raises(TokenInputMissing):
            link(record, KEY, preference)
        return
    linked = link(record, KEY, preference)
    assert linked.token_rule is rule
    assert linked.journey_token == journey_token(record, rule, KEY)
    assert linked.linkage_key_id == KEY.key_id


def test_a_record_without_ssn_links_by_name_and_the_same_name_twice_gives_one_token() -> None:
    record = raw(ssn=None)
    first = link(record, KEY)
    assert first.token_rule is TokenRule.NAME_DOB_ZIP3
    assert link(record, KEY) == first  # the second time from the normalized-name cache
    with pytest.raises(TokenInputMissing):
        link(record, KEY, (TokenRule.SSN_DOB,))
