"""Every simulated record de-identifies, passes the PII guard, and links the way the
life experience's token rule says: one token per person within a life experience."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from broker.keyring import Keyring
from contracts.catalog import load_catalog
from contracts.envelope import encode_unsigned
from contracts.errors import UnknownEntry
from contracts.events import Feedback
from contracts.privacy import TokenRule
from producers import deidentify, guard_record
from producers.deid.deidentify import shares_free_text
from producers.simulator import SSN_LESS_AGENCIES, Delivery, policy_for, token_rule_for


@pytest.fixture(scope="module")
def events(
    deliveries: list[Delivery], keyring: Keyring
) -> list[tuple[Delivery, dict[str, object]]]:
    """Each first delivery with its de-identified payload, after the PII guard passed."""
    keys = keyring.linkage_keys()
    out = []
    for d in deliveries:
        if d.duplicate:
            continue
        raw = d.record
        event = deidentify(raw, keys, policy_for(raw.agency, raw.life_experience))
        record = encode_unsigned(event)
        guard_record(record, raw, event)  # raises PiiLeak naming the field
        out.append((d, json.loads(record.value)))
    return out


def test_every_record_deidentifies_and_passes_the_pii_guard(
    deliveries: list[Delivery], events: list[tuple[Delivery, dict[str, object]]]
) -> None:
    assert len(events) == sum(not d.duplicate for d in deliveries)


def test_life_experiences_with_ssn_less_agencies_link_by_name_the_others_by_ssn() -> None:
    for le in load_catalog().life_experiences:
        expected = (
            TokenRule.NAME_DOB_ZIP3
            if SSN_LESS_AGENCIES.intersection(le.agencies)
            else TokenRule.SSN_DOB
        )
        assert token_rule_for(le.id) is expected
        for agency in le.agencies:
            assert policy_for(agency, le.id).token_rules == (expected,)
    assert token_rule_for("having-a-child") is TokenRule.NAME_DOB_ZIP3
    assert token_rule_for("approaching-retirement") is TokenRule.SSN_DOB


def test_policy_for_an_agency_outside_the_life_experience_is_refused() -> None:
    with pytest.raises(UnknownEntry, match="does not take part"):
        policy_for("fema", "approaching-retirement")
    with pytest.raises(UnknownEntry):
        policy_for("nasa", "having-a-child")


def test_one_token_per_person_and_life_experience_across_agencies(
    events: list[tuple[Delivery, dict[str, object]]],
) -> None:
    tokens: dict[tuple[int, str], set[tuple[object, object]]] = defaultdict(set)
    agencies: dict[tuple[int, str], set[str]] = defaultdict(set)
    for d, payload in events:
        key = (d.person, d.record.life_experience)
        tokens[key].add((payload["token_rule"], payload["journey_token"]))
        agencies[key].add(d.record.agency)
        assert payload["token_rule"] == token_rule_for(d.record.life_experience).value
    assert all(len(found) == 1 for found in tokens.values())
    # Linkage is exercised across agencies with different spellings, not trivially.
    assert sum(len(a) > 1 for a in agencies.values()) > 100
    # Different people never share a token.
    owners: dict[object, int] = {}
    for (person, _), found in tokens.items():
        ((_, token),) = found
        assert owners.setdefault(token, person) == person


def test_a_person_in_two_life_experiences_has_one_token_in_each(
    events: list[tuple[Delivery, dict[str, object]]],
) -> None:
    per_person: dict[int, dict[str, set[object]]] = defaultdict(lambda: defaultdict(set))
    for d, payload in events:
        per_person[d.person][d.record.life_experience].add(payload["journey_token"])
    twice = {p: les for p, les in per_person.items() if len(les) > 1}
    assert twice
    for les in twice.values():
        assert all(len(tokens) == 1 for tokens in les.values())
        # Linkage keys differ per life experience: the tokens do not join across them.
        all_tokens = [t for tokens in les.values() for t in tokens]
        assert len(set(all_tokens)) == len(all_tokens)


def test_embedded_identifiers_are_scrubbed_into_placeholders(
    events: list[tuple[Delivery, dict[str, object]]],
) -> None:
    scrubbed = 0
    for d, payload in events:
        raw = d.record
        if raw.free_text is None:
            continue
        assert set(payload) == set(Feedback.model_fields)
        comment = payload["comment"]
        if not shares_free_text(raw.life_experience):
            assert comment is None  # free text is off unless the catalog turns it on (#16)
            continue
        assert isinstance(comment, str)
        if raw.phone and raw.phone in raw.free_text:
            assert raw.phone not in comment and "[PHONE]" in comment
            scrubbed += 1
        if raw.email and raw.email in raw.free_text:
            assert raw.email not in comment and "[EMAIL]" in comment
            scrubbed += 1
        if raw.last_name in raw.free_text:
            assert raw.last_name not in comment and "[NAME]" in comment
            scrubbed += 1
    # Since #16 only the life experiences whose policy shares comments carry one, so
    # fewer comments are scrubbed than before; every identifier in them still is.
    assert scrubbed >= 1


def test_restricted_zip3_areas_are_published_as_000(
    events: list[tuple[Delivery, dict[str, object]]],
) -> None:
    restricted = [p for d, p in events if d.record.zip.startswith(("692", "878", "893", "823"))]
    assert restricted and all(p["zip3"] == "000" for p in restricted)
