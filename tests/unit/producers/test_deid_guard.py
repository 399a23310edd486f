"""PII guard on the serialized record: own values in many spellings, generic shapes, no noise."""

from __future__ import annotations

import json

import pytest

from contracts.envelope import Record, encode_unsigned
from producers import PiiGuard, PiiLeak, RawRecord, deidentify, guard_record
from tests.support.raw_records import feedback, keys, raw

RECORD = raw()
EVENT = deidentify(RECORD, keys())
CLEAN = encode_unsigned(EVENT)


def _with_value_suffix(record: Record, suffix: bytes) -> Record:
    # Put the text inside the JSON value, as a leak through a string field would.
    return Record(record.key, record.value[:-1] + b',"x":"' + suffix + b'"}', record.headers)


def test_a_clean_record_passes() -> None:
    guard_record(CLEAN, RECORD, EVENT)


@pytest.mark.parametrize(
    ("leak", "field"),
    [
        ("Zoë", "first_name"),
        ("ZOE", "first_name"),
        ("Zoe", "first_name"),
        ("Zo\\u00eb", "first_name"),  # JSON-escaped
        ("MARIE", "middle_name"),
        ("Quintanilla", "last_name"),
        ("QUINTANILLA-ORTEGA", "last_name"),
        ("QUINTANILLAORTEGA", "last_name"),
        ("QuintanillaOrtega", "last_name"),
        ("219099999", "ssn"),
        ("ssn=219-09-9999", "ssn"),
        ("219 09 9999", "ssn"),
        ("1990-07-14", "date_of_birth"),
        ("07/14/1990", "date_of_birth"),
        ("7/14/1990", "date_of_birth"),
        ("19900714", "date_of_birth"),
        ("07141990", "date_of_birth"),
        ("14.07.1990", "date_of_birth"),
        ("July 14, 1990", "date_of_birth"),
        ("4821 Larkspur Crescent", "street_address"),
        ("LARKSPUR CRESCENT", "street_address"),
        ("Tallahassee", "city"),
        ("TALLAHASSEE", "city"),
        ("zip 32301", "zip"),
        ("8505550172", "phone"),
        ("(850) 555-0172", "phone"),
        ("850.555.0172", "phone"),
        ("+18505550172", "phone"),
        ("555-0172", "phone"),
        ("zoe.quintanilla90@example.org", "email"),
        ("ZOE.QUINTANILLA90@EXAMPLE.ORG", "email"),
        ("WIC-88213947", "account_number"),
        ("88213947", "account_number"),
    ],
)
def test_own_values_in_the_value_are_refused_naming_the_field(leak: str, field: str) -> None:
    with pytest.raises(PiiLeak) as caught:
        guard_record(_with_value_suffix(CLEAN, leak.encode()), RECORD, EVENT)
    assert caught.value.field == field
    assert caught.value.location == "value"
    assert not caught.value.pattern


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("123-45-6789", "ssn"),
        ("123 45 6789", "ssn"),
        ("someone@else.example", "email"),
        ("(301) 555-1212", "phone"),
        ("301-555-1212", "phone"),
        ("301.555.1212", "phone"),
    ],
)
def test_generic_shapes_are_refused_even_when_not_the_records_own(text: str, kind: str) -> None:
    with pytest.raises(PiiLeak) as caught:
        guard_record(_with_value_suffix(CLEAN, text.encode()), RECORD, EVENT)
    assert caught.value.field == kind
    assert caught.value.pattern


def test_leaks_in_headers_and_key_are_found_and_located() -> None:
    headers = (*CLEAN.headers, ("ce_source", b"urn:cx:agency:Quintanilla"))
    with pytest.raises(PiiLeak) as caught:
        guard_record(Record(CLEAN.key, CLEAN.value, headers), RECORD, EVENT)
    assert caught.value.field == "last_name"
    assert caught.value.location == "header ce_source"

    with pytest.raises(PiiLeak) as caught:
        guard_record(Record(b"219099999", CLEAN.value, CLEAN.headers), RECORD, EVENT)
    assert caught.value.field == "ssn"
    assert caught.value.location == "key"

    with pytest.raises(PiiLeak) as caught:
        guard_record(Record(CLEAN.key, CLEAN.value, (("x-Zoe", b"1"),)), RECORD, EVENT)
    assert caught.value.location == "header name"


@pytest.mark.parametrize("leak", ["Zoë", "219-09-9999", "zoe.quintanilla90@example.org"])
def test_pii_leak_message_and_repr_hold_no_raw_value(leak: str) -> None:
    with pytest.raises(PiiLeak) as caught:
        guard_record(_with_value_suffix(CLEAN, leak.encode()), RECORD, EVENT)
    shown = f"{caught.value} {caught.value!r} {caught.value.args}"
    for value in ("Zo", "Quintanilla", "219", "9999", "example", "1990"):
        assert value not in shown


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        # The contract's vocabulary is lower case: people named Child, Key or Web publish.
        ({"last_name": "Child"}, "having-a-child"),
        ({"first_name": "Key"}, "linkage_key_id"),
        ({"city": "Mobile"}, "mobile"),
        # Whole words only: Ann is not disclosed by "Annual".
        ({"first_name": "Ann"}, "Annual Review"),
        # Two-letter names are not searched: "AL" is also a state code.
        ({"first_name": "Al", "state": "AL"}, "AL"),
        # A ZIP inside a longer number or a hex string is not a ZIP.
        ({"zip": "20001"}, "4f20001a 1200015 20001.0 1.20001"),
        # Placeholders are ours, even when they spell a name.
        ({"last_name": "Name"}, "[NAME]"),
    ],
)
def test_no_false_alarm_for_vocabulary_substrings_and_placeholders(
    overrides: dict[str, str], text: str
) -> None:
    record = raw(**overrides)
    event = deidentify(record, keys())
    guard_record(_with_value_suffix(encode_unsigned(event), text.encode()), record, event)


def test_letters_inside_opaque_tokens_are_not_a_name() -> None:
    # A keyed hash can spell anything; "-Marie_" inside a token discloses nothing.
    token = b"x9-Marie_" + b"A" * 34
    value = b'{"journey_token":"' + token + b'"}'
    guard = PiiGuard(RECORD)
    guard.check(value, (), key=token, opaque=(token,))
    with pytest.raises(PiiLeak) as caught:
        guard.check(value, (), key=token)
    assert caught.value.field == "middle_name"


def test_guard_repr_hides_needles() -> None:
    shown = repr(PiiGuard(RECORD)) + str(PiiGuard(RECORD))
    assert "Zo" not in shown
    assert "219" not in shown


def test_feedback_record_end_to_end_passes_the_guard() -> None:
    record: RawRecord = feedback()
    event = deidentify(record, keys())
    encoded = encode_unsigned(event)
    guard_record(encoded, record, event)
    comment = json.loads(encoded.value)["comment"]
    assert "[SSN]" in comment
    assert "[NAME]" in comment


def test_event_on_the_birth_date_is_refused_because_it_discloses_it() -> None:
    record = raw(date_of_birth="2026-04-03")  # the event's own date (T0)
    event = deidentify(record, keys())
    with pytest.raises(PiiLeak) as caught:
        guard_record(encode_unsigned(event), record, event)
    assert caught.value.field == "date_of_birth"
