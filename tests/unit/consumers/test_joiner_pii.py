"""The joiner's PII check: a signed, valid event whose free text still holds an identifier
in some spelling is dead-lettered as ``pii-detected``, and the dead letter omits it."""

from __future__ import annotations

from uuid import UUID

import pytest

from broker.keyring import Keyring, PublicKeyring
from consumers.joiner.validate import (
    DLQ_REASON,
    PII_DETECTED,
    Rejection,
    check_record,
    deadletter_record,
)
from contracts.envelope import Decoded, Record, encode_unsigned
from contracts.registry import load_registry
from tests.support.journeys import T0, make_event, make_workload
from tests.support.keyrings import keyring_for

# Spellings the contract's own ScrubbedText check (ASCII patterns) lets through.
LEAKS = [
    "my ssn is \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19",  # fullwidth
    "ssn ١٢٣٤٥٦٧٨٩ thanks",
    "call 2\u200b0\u200b2 5\u00ad5\u00ad5 0\u200d1\u200d4\u200d3",
    "write jane dot doe at example dot com",
    "write jane [at] example [dot] com",
    "born 02APR1988",
    "born April the 2nd 1988",
    "生日 1988年4月2日",
    "zip 2 0 5 0 0",
    "four five six seven eight nine",
    "MTIzLTQ1LTY3ODk=",
    "see hxxp://example[.]com/?name=jane",
    "I live at 4821 Larkspur Crescent",
    "plate 7ABC123",
]


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("pii") / "ring", ["ssa"], ["having-a-child"])


def signed_feedback(keyring: Keyring, comment: str) -> Record:
    event = make_event(
        "feedback",
        agency="ssa",
        service_id="ssa.enumeration-at-birth",
        life_experience="having-a-child",
        journey_token=make_workload(1, 1)[0].journey_token,
        at=T0,
        event_id=UUID(int=7, version=4),
        comment=comment,
    )
    return keyring.signer("ssa").sign(encode_unsigned(event))


def check(record: Record, public: PublicKeyring) -> Decoded | Rejection:
    return check_record(
        "ssa", record.key, record.value, list(record.headers), public, load_registry()
    )


@pytest.mark.parametrize("comment", LEAKS)
def test_an_identifier_in_any_spelling_is_dead_lettered(keyring: Keyring, comment: str) -> None:
    outcome = check(signed_feedback(keyring, comment), keyring.public_keyring())
    assert isinstance(outcome, Rejection)
    assert outcome.reason == PII_DETECTED
    assert "comment" in outcome.detail
    for word in comment.split():
        if any(ch.isdigit() for ch in word) or len(word) > 4:
            assert word not in outcome.detail


@pytest.mark.parametrize(
    "comment",
    ["The clerk was helpful and the form was clear.", "[NAME] said to wait [NUMBER] days", ""],
)
def test_clean_scrubbed_comments_are_accepted(keyring: Keyring, comment: str) -> None:
    outcome = check(signed_feedback(keyring, comment), keyring.public_keyring())
    assert isinstance(outcome, Decoded)


def test_the_dead_letter_of_pii_holds_neither_value_nor_original_headers(
    keyring: Keyring,
) -> None:
    record = signed_feedback(keyring, LEAKS[0])
    outcome = check(record, keyring.public_keyring())
    assert isinstance(outcome, Rejection)
    value, headers = deadletter_record(
        record.value, list(record.headers), outcome, "cx.agency.ssa", 0, 5
    )
    assert value is None
    names = [name for name, _ in headers]
    assert all(name.startswith("cx_dlq_") for name in names)
    assert (DLQ_REASON, PII_DETECTED.encode()) in headers
