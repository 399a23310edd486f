"""deidentify(): raw record → contract event, with identifiers dropped or generalized."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from broker.errors import LinkageKeyMissing
from broker.keyring import RecordIdKey
from contracts.envelope import encode_unsigned
from contracts.errors import ContractViolation
from contracts.events import ApplicationStatus, Feedback, ServiceInteraction
from contracts.privacy import AgeBand, TokenRule
from producers import DeidentificationError, DeidPolicy, TextPolicy, deidentify, guard_record
from producers.deid import age_at, age_band_at, application_token
from tests.support.raw_records import CREATED, T0, feedback, keys, linkage_key, raw


def test_service_interaction_keeps_facts_and_generalizes_identity() -> None:
    record = raw()
    event = deidentify(record, keys())
    assert isinstance(event, ServiceInteraction)
    assert event.event_id != record.event_id  # never the caller's id (here a random one)
    # the rule the life experience's agencies agreed on in the catalog (no SSN at USDA FNS)
    assert event.token_rule is TokenRule.NAME_DOB_ZIP3
    assert event.linkage_key_id == "lk-having-a-child-20260101-1"
    assert event.age_band is AgeBand.AGE_35_39  # born 1990: 36 in 2026
    assert event.zip3 == "323"
    assert event.state == "FL"
    assert (event.stage, event.channel, event.outcome) == ("apply", "web", "completed")


def test_no_birth_date_or_identifier_survives_in_the_payload() -> None:
    # A fixed key and caller id: a random event id holds "219" or "850" now and then.
    record_key = RecordIdKey("usda-fns-rid-20260101-1", "usda-fns", b"r" * 32, CREATED)
    record = feedback(event_id="6f1c2b7e-4d3a-4e5b-9c8d-7a6b5c4d3e2f")
    event = deidentify(record, keys(), record_key=record_key)
    payload = json.loads(encode_unsigned(event).value)
    assert set(payload) == set(Feedback.model_fields)
    text = json.dumps(payload)
    for value in ("1990", "07-14", "07/14", "0714", "219", "850", "32301", "Zo", "Quint"):
        assert value not in text


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1990, 7, 14), date(2026, 7, 13), 35),
        (date(1990, 7, 14), date(2026, 7, 14), 36),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
    ],
)
def test_age_at_counts_whole_years_at_the_event_date(born: date, on: date, age: int) -> None:
    assert age_at(born, on) == age


def test_ages_over_89_share_one_band() -> None:
    assert age_band_at(date(1930, 1, 1), date(2026, 4, 3)) is AgeBand.AGE_90_PLUS
    assert age_band_at(date(1937, 12, 31), date(2026, 4, 3)) is AgeBand.AGE_85_89
    # 90 in the event's year, though 89 on the event date: the band follows the birth year.
    assert age_band_at(date(1936, 4, 4), date(2026, 4, 3)) is AgeBand.AGE_90_PLUS
    assert deidentify(raw(date_of_birth="1901-01-01"), keys()).age_band is AgeBand.AGE_90_PLUS


def test_birth_after_the_event_is_refused() -> None:
    with pytest.raises(DeidentificationError):
        age_band_at(date(2026, 5, 1), date(2026, 4, 3))
    with pytest.raises(ValidationError) as caught:
        raw(date_of_birth="2026-05-01")
    assert "2026-05-01" not in str(caught.value)


@pytest.mark.parametrize(("zip5", "zip3"), [("03601", "000"), ("20001", "200"), ("82101", "000")])
def test_restricted_zip3_areas_become_000(zip5: str, zip3: str) -> None:
    assert deidentify(raw(zip=zip5), keys()).zip3 == zip3


def test_feedback_comment_is_scrubbed_or_dropped_by_policy() -> None:
    scrubbed = deidentify(feedback(), keys())
    assert isinstance(scrubbed, Feedback)
    assert scrubbed.comment is not None
    assert "[PHONE]" in scrubbed.comment
    assert scrubbed.satisfaction == 2
    dropped = deidentify(feedback(), keys(), DeidPolicy(text=TextPolicy.DROP))
    assert isinstance(dropped, Feedback)
    assert dropped.comment is None


def test_application_status_carries_a_keyed_application_token() -> None:
    record = raw(
        kind="application-status",
        status="approved",
        application_id="APP-2026-000123",
        stage=None,
        channel=None,
        started_at=None,
        ended_at=None,
        outcome=None,
        wait_seconds=None,
        attempt=None,
    )
    event = deidentify(record, keys())
    assert isinstance(event, ApplicationStatus)
    assert event.application_token == application_token(
        "usda-fns", "APP-2026-000123", linkage_key()
    )
    encoded = encode_unsigned(event)
    assert b"000123" not in encoded.value
    guard_record(encoded, record, event)


def test_application_status_without_application_id_is_refused() -> None:
    record = raw(kind="application-status", status="approved")
    with pytest.raises(DeidentificationError, match="application_id"):
        deidentify(record, keys())


def test_missing_contract_fields_are_a_contract_violation_without_values() -> None:
    record = raw(stage=None)
    with pytest.raises(ContractViolation) as caught:
        deidentify(record, keys())
    assert "stage" in str(caught.value)
    assert "Quintanilla" not in str(caught.value)


def test_missing_linkage_key_is_reported() -> None:
    with pytest.raises(LinkageKeyMissing, match="having-a-child"):
        deidentify(raw(), keys("approaching-retirement"))


def test_a_wait_equal_to_the_zip_is_not_a_leak() -> None:
    record = raw(zip="20001", wait_seconds=20001)
    event = deidentify(record, keys())
    guard_record(encode_unsigned(event), record, event)


@pytest.mark.parametrize(
    ("wait", "published"),
    [(95.5, 120.0), (3599.0, 3600.0), (83204.0, 82800.0), (19880402.0, 19872000.0)],
)
def test_a_long_wait_is_coarse_enough_to_carry_no_number(wait: float, published: float) -> None:
    # A caller could put a ZIP (83204) or a birth date (19880402) into wait_seconds: minutes
    # kept its leading digits; hours and days beyond an hour and a day keep none of them.
    record = raw(wait_seconds=wait)
    event = deidentify(record, keys())
    assert event.model_dump()["wait_seconds"] == published
    assert "8320" not in str(published) and "198804" not in str(published)


def test_occurred_at_is_published_in_utc_truncated_to_the_hour() -> None:
    record = raw(occurred_at="2026-04-03T10:30:00-04:00")
    assert deidentify(record, keys()).occurred_at == T0.replace(minute=0)
    assert T0.tzinfo is UTC
    assert datetime(2026, 4, 3, 14, 30, tzinfo=UTC) == T0


def test_raw_record_repr_and_errors_show_no_identifier() -> None:
    record = raw()
    shown = repr(record) + str(record)
    for value in ("Zo", "Quintanilla", "219", "1990", "Larkspur", "Tallahassee", "32301",
                  "850", "example.org", "88213947", "Marie"):  # fmt: skip
        assert value not in shown
    assert "usda-fns" in shown  # service facts stay visible for debugging
    with pytest.raises(ValidationError) as caught:
        raw(ssn="912-34-5678", zip="3230", email="x" * 600)
    text = str(caught.value)
    assert "5678" not in text
    assert "3230" not in text
    assert "xxxx" not in text
