"""Closed ids and coarse quasi-identifiers: what the publisher makes of the caller's values."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest

from broker.keyring import Keyring, RecordIdKey
from contracts.envelope import HEADER_ID, decode, encode_unsigned
from contracts.events import ServiceInteraction
from producers import RawRecord, deidentify, guard_record
from producers.deid import age_band_at, opaque_values
from producers.deid.ids import canonical_content, wire_event_id
from producers.ingest import parse_row, read_csv
from producers.publisher import EventPreparer
from tests.support.keyrings import keyring_for
from tests.support.raw_records import CREATED, keys, raw

CALLER_ID = "0b9a6b3e-6f0c-4c1e-9d7a-3f2d7e1c5a10"


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("ids") / "keyring", ["usda-fns"], ["having-a-child"])


def key(secret: bytes = b"k" * 32) -> RecordIdKey:
    return RecordIdKey("usda-fns-rid-20260101-1", "usda-fns", secret, CREATED)


def test_the_callers_id_never_travels_in_any_spelling(keyring: Keyring) -> None:
    preparer = EventPreparer("usda-fns", keyring)
    spellings = (CALLER_ID, CALLER_ID.upper(), "{" + CALLER_ID + "}", CALLER_ID.replace("-", ""))
    records = [preparer.prepare(raw(event_id=s)).record for s in spellings]
    # Every spelling of one UUID is one caller id: one wire id.
    assert len({r.header(HEADER_ID) for r in records}) == 1
    record = records[0]
    wire = record.header(HEADER_ID)
    assert wire is not None and UUID(wire.decode()).version == 8
    hex_digits = CALLER_ID.replace("-", "")
    for part in (record.key, record.value, *(v for _, v in record.headers)):
        flat = part.decode("ascii", "replace").lower().replace("-", "")
        assert hex_digits not in flat
        assert hex_digits[:12] not in flat and hex_digits[-12:] not in flat


def test_a_caller_id_that_is_an_identifier_is_accepted_but_never_published(
    keyring: Keyring,
) -> None:
    record = EventPreparer("usda-fns", keyring).prepare(raw(event_id="CASE 555-44-3333")).record
    everything = b"".join((record.key, record.value, *(v for _, v in record.headers)))
    flat = everything.replace(b"-", b"").replace(b" ", b"")
    assert b"555443333" not in flat and b"CASE" not in everything


def test_the_same_record_gets_the_same_id_with_or_without_a_caller_id() -> None:
    with_id = (raw(event_id=CALLER_ID), raw(event_id=CALLER_ID.upper()))
    without = (raw(), raw())
    assert wire_event_id(with_id[0], key()) == wire_event_id(with_id[1], key())
    assert wire_event_id(without[0], key()) == wire_event_id(without[1], key())
    # Another secret, another id: nobody without the secret can test a guess.
    assert wire_event_id(without[0], key()) != wire_event_id(without[0], key(b"x" * 32))
    # Any changed fact is another event.
    assert wire_event_id(raw(attempt=2), key()) != wire_event_id(without[0], key())
    assert wire_event_id(raw(ssn="078-05-1120"), key()) != wire_event_id(without[0], key())


def test_canonical_content_ignores_spelling_that_validation_normalizes() -> None:
    a = raw(occurred_at="2026-04-03T10:30:00-04:00", ssn="219 09 9999", zip="32301-1234")
    b = raw(occurred_at="2026-04-03T14:30:00Z", ssn="219-09-9999", zip="32301")
    assert canonical_content(a) == canonical_content(b)
    assert "event_id" not in json.loads(canonical_content(raw(event_id=CALLER_ID)))


def test_a_csv_row_read_twice_gets_one_id_with_or_without_an_event_id_column(
    tmp_path: Path, keyring: Keyring
) -> None:
    fields = {
        "first_name": "Zoë",
        "last_name": "Quintanilla-Ortega",
        "ssn": "219-09-9999",
        "date_of_birth": "1990-07-14",
        "zip": "32301",
        "agency": "usda-fns",
        "life_experience": "having-a-child",
        "kind": "service-interaction",
        "occurred_at": "2026-04-03T14:30:00Z",
        "service_id": "usda-fns.wic",
        "stage": "apply",
        "channel": "web",
        "started_at": "2026-04-03T14:10:00Z",
        "ended_at": "2026-04-03T14:30:00Z",
        "outcome": "completed",
        "wait_seconds": "95.5",
        "attempt": "1",
    }
    preparer = EventPreparer("usda-fns", keyring)

    def ids(columns: dict[str, str]) -> set[bytes | None]:
        text = ",".join(columns) + "\n" + ",".join(columns.values()) + "\n"
        found: set[bytes | None] = set()
        for _ in range(2):
            (row,) = read_csv(io.StringIO(text))
            parsed = parse_row(row)
            assert isinstance(parsed, RawRecord)
            found.add(preparer.prepare(parsed).record.header(HEADER_ID))
        return found

    without = ids(fields)
    with_id = ids({**fields, "event_id": CALLER_ID})
    assert len(without) == 1 and len(with_id) == 1
    assert without != with_id


def test_without_the_record_id_secret_the_id_is_random_never_the_callers() -> None:
    first = deidentify(raw(event_id=CALLER_ID), keys())
    again = deidentify(raw(event_id=CALLER_ID), keys())
    assert str(first.event_id) != CALLER_ID and first.event_id != again.event_id


def test_times_are_truncated_to_the_hour_and_waits_to_the_minute(keyring: Keyring) -> None:
    record = (
        EventPreparer("usda-fns", keyring)
        .prepare(
            raw(
                occurred_at="2026-04-03T14:59:59.999999+00:00",
                started_at="2026-04-03T13:07:31Z",
                ended_at="2026-04-03T14:59:59Z",
                wait_seconds=95.5,
            )
        )
        .record
    )
    event = decode(record.key, record.value, record.headers).event
    assert isinstance(event, ServiceInteraction)
    assert event.occurred_at == datetime(2026, 4, 3, 14, tzinfo=UTC)
    assert event.started_at == datetime(2026, 4, 3, 13, tzinfo=UTC)
    assert event.ended_at == datetime(2026, 4, 3, 14, tzinfo=UTC)
    assert event.wait_seconds == 120.0
    assert record.header("ce_time") == b"2026-04-03T14:00:00Z"


def test_a_journey_across_a_birthday_keeps_its_age_band() -> None:
    # Born 14 July 1991: 34 on 13 July 2026 and 35 on 15 July, but one band all year.
    born = date(1991, 7, 14)
    bands = {age_band_at(born, date(2026, month, day)) for month, day in ((1, 1), (7, 13), (7, 15))}
    assert len(bands) == 1
    before = deidentify(raw(date_of_birth="1991-07-14", occurred_at="2026-07-13T12:00:00Z"), keys())
    after = deidentify(raw(date_of_birth="1991-07-14", occurred_at="2026-07-15T12:00:00Z"), keys())
    assert before.age_band == after.age_band
    # Only a New Year can change it: that tells the birth year, which Safe Harbor allows.
    assert age_band_at(born, date(2025, 12, 31)) != age_band_at(born, date(2026, 1, 1))


def test_a_derived_id_that_happens_to_hold_an_own_value_is_not_a_leak() -> None:
    # The id is fixed per record now: were it searched, a record whose id holds its own
    # ZIP digits would be refused on every run. It is a keyed hash, opaque to the guard.
    record = raw(zip="20001")
    event = deidentify(record, keys())
    unlucky = event.model_copy(update={"event_id": UUID("20001000-0000-8000-8000-000000000000")})
    guard_record(encode_unsigned(unlucky), record, unlucky)
    assert str(unlucky.event_id).encode() in opaque_values(unlucky)
