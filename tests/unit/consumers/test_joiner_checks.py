"""Record checks (signature, contract, topic) and the co-partition rule, without Kafka."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from broker.errors import KeyringError
from broker.keyring import Keyring, PublicKeyring
from broker.settings import Settings
from consumers.errors import CoPartitionError, MissingTopics
from consumers.joiner.copartition import check_copartitioned
from consumers.joiner.keys import keyring_verifier
from consumers.joiner.validate import (
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    JOINER_REASONS,
    Rejection,
    TimeBounds,
    check_record,
    deadletter_headers,
    kafka_time,
)
from contracts.envelope import (
    HEADER_DATASCHEMA,
    HEADER_KEYID,
    HEADER_SIG,
    HEADER_TYPE,
    Decoded,
    Record,
    decode,
    encode_unsigned,
)
from contracts.errors import MalformedJson
from contracts.registry import load_registry
from tests.support.journeys import T0, make_event, make_workload
from tests.support.keyrings import keyring_for


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(
        tmp_path_factory.mktemp("keyring") / "ring", ["ssa", "irs", "usda-fns"], ["having-a-child"]
    )


@pytest.fixture(scope="module")
def public(keyring: Keyring) -> PublicKeyring:
    return keyring.public_keyring()


def ssa_record() -> Record:
    event = make_event(
        "interaction",
        agency="ssa",
        service_id="ssa.enumeration-at-birth",
        life_experience="having-a-child",
        journey_token=make_workload(1, 1)[0].journey_token,
        at=T0,
        event_id=UUID(int=99, version=4),
    )
    return encode_unsigned(event)


def check(record: Record, public: PublicKeyring, agency: str | None = "ssa") -> Decoded | Rejection:
    return check_record(
        agency, record.key, record.value, list(record.headers), public, load_registry()
    )


def replaced(record: Record, **values: bytes) -> Record:
    return Record(record.key, record.value, tuple((n, values.get(n, v)) for n, v in record.headers))


def test_a_signed_valid_record_decodes(keyring: Keyring, public: PublicKeyring) -> None:
    outcome = check(keyring.signer("ssa").sign(ssa_record()), public)
    assert isinstance(outcome, Decoded)
    assert outcome.event.agency == "ssa"


def reason(outcome: Decoded | Rejection) -> str:
    assert isinstance(outcome, Rejection)
    assert outcome.detail
    return outcome.reason


def test_each_kind_of_bad_record_gets_its_reason(keyring: Keyring, public: PublicKeyring) -> None:
    signer = keyring.signer("ssa")
    good = signer.sign(ssa_record())
    unsigned = ssa_record()
    assert reason(check(Record(good.key, good.value + b" ", good.headers), public)) == (
        "bad-signature"
    )
    assert reason(check(replaced(good, **{HEADER_KEYID: b"nobody-1"}), public)) == (
        "unknown-key-id"
    )
    assert reason(check(unsigned, public)) == "missing-signature"
    assert reason(check(replaced(good, **{HEADER_SIG: b"%%%"}), public)) == (
        "bad-signature-encoding"
    )
    malformed = signer.sign(Record(unsigned.key, b"[1, 2", unsigned.headers))
    assert reason(check(malformed, public)) == "malformed-json"
    wrong = signer.sign(
        replaced(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.feedback.v1",
                HEADER_DATASCHEMA: b"urn:cx:contract:feedback:1.1.0",
            },
        )
    )
    assert reason(check(wrong, public)) == "contract-violation"
    major = signer.sign(
        replaced(
            unsigned,
            **{
                HEADER_TYPE: b"gov.cx.service-interaction.v7",
                HEADER_DATASCHEMA: b"urn:cx:contract:service-interaction:7.0.0",
            },
        )
    )
    assert reason(check(major, public)) == "unknown-major-version"
    # A valid ssa record on the irs topic: the irs keys do not vouch for it.
    assert reason(check(good, public, agency="irs")) == "key-agency-mismatch"
    assert reason(check(good, public, agency=None)) == "unknown-agency-topic"


def test_deadletter_headers_keep_the_original_and_add_coordinates() -> None:
    original = [("ce_id", b"x"), ("trace", b"t")]
    headers = deadletter_headers(
        original, Rejection("bad-signature", "text"), "cx.events.ssa", 2, 41
    )
    assert headers[:2] == original
    found = dict(headers)
    assert found[DLQ_REASON] == b"bad-signature"
    assert (found[DLQ_TOPIC], found[DLQ_PARTITION], found[DLQ_OFFSET]) == (
        b"cx.events.ssa",
        b"2",
        b"41",
    )


def test_copartition_check_names_every_topic_and_count() -> None:
    assert check_copartitioned({"a": 3, "b": 3, "log": 3}, "log") == 3
    with pytest.raises(CoPartitionError, match=r"a=3, b=2, log=3"):
        check_copartitioned({"a": 3, "b": 2, "log": 3}, "log")
    with pytest.raises(MissingTopics, match=r"b.*cxbroker init"):
        check_copartitioned({"a": 3, "b": None, "log": 3}, "log")


def test_a_missing_public_keyring_is_a_clear_error(tmp_path: Path) -> None:
    """The verifier loads from the configured keyring dir (a missing one is a clear error)."""

    with pytest.raises(KeyringError, match="no public keyring"):
        keyring_verifier(Settings(keyring_dir=tmp_path / "none", state_dir=tmp_path))


def _resigned(keyring: Keyring, value: bytes) -> Record:
    base = ssa_record()
    return keyring.signer("ssa").sign(Record(base.key, value, base.headers))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda v: v.replace(b'"attempt":1', b'"attempt":' + b"9" * 5000), id="digits"),
        pytest.param(
            lambda v: v[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep"
        ),
        pytest.param(lambda v: v[:-1] + b',"x":"\xff"}', id="utf8"),
    ],
)
def test_unparseable_json_is_malformed_not_a_crash(
    keyring: Keyring, public: PublicKeyring, mutate: Callable[[bytes], bytes]
) -> None:
    value = mutate(ssa_record().value)
    assert value != ssa_record().value
    signed = _resigned(keyring, value)
    with pytest.raises(MalformedJson):
        decode(signed.key, signed.value, signed.headers, registry=load_registry())
    assert reason(check(signed, public)) == "malformed-json"


class _ExplodingVerifier:
    """A verifier that fails in a way nobody anticipated (a bug, not a bad signature)."""

    def verify_bytes(
        self, key_id: str, data: bytes, signature: bytes, *, agency: str, at: object = None
    ) -> None:
        raise ZeroDivisionError("secret-looking text 123-45-6789")


def test_an_unexpected_exception_dead_letters_the_record(keyring: Keyring) -> None:
    record = keyring.signer("ssa").sign(ssa_record())
    outcome = check_record(
        "ssa", record.key, record.value, list(record.headers), _ExplodingVerifier(), load_registry()
    )
    assert isinstance(outcome, Rejection)
    assert outcome.reason == "unprocessable"
    assert outcome.reason in JOINER_REASONS
    assert "ZeroDivisionError" in outcome.detail
    assert "6789" not in outcome.detail  # the exception's text is never copied


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(hours=23), True),
        (timedelta(days=1, seconds=1), False),
        (-timedelta(days=3650), True),
        (-timedelta(days=3650, seconds=1), False),
    ],
)
def test_occurred_at_must_lie_near_the_record_timestamp(
    keyring: Keyring, public: PublicKeyring, offset: timedelta, accepted: bool
) -> None:
    record = keyring.signer("ssa").sign(ssa_record())
    # The event is ``offset`` away from the record's Kafka timestamp.
    record_time = T0 - offset
    outcome = check_record(
        "ssa",
        record.key,
        record.value,
        list(record.headers),
        public,
        load_registry(),
        record_time=record_time,
    )
    if accepted:
        assert isinstance(outcome, Decoded), outcome
    else:
        assert reason(outcome) == "time-out-of-range"
        assert "time-out-of-range" in JOINER_REASONS


def test_time_bounds_are_configurable(keyring: Keyring, public: PublicKeyring) -> None:
    record = keyring.signer("ssa").sign(ssa_record())
    tight = TimeBounds(max_ahead=timedelta(0), max_behind=timedelta(hours=1))
    outcomes = [
        check_record(
            "ssa",
            record.key,
            record.value,
            list(record.headers),
            public,
            load_registry(),
            record_time=T0 + shift,
            bounds=tight,
        )
        for shift in (timedelta(0), -timedelta(seconds=1), timedelta(hours=2))
    ]
    assert isinstance(outcomes[0], Decoded)
    assert [reason(o) for o in outcomes[1:]] == ["time-out-of-range"] * 2
    with pytest.raises(ValueError, match="negative"):
        TimeBounds(max_ahead=-timedelta(seconds=1))


def test_kafka_time_converts_and_clamps() -> None:
    assert kafka_time(None) is None
    assert kafka_time(-1) is None
    assert kafka_time(int(T0.timestamp() * 1000)) == T0
    assert kafka_time(2**63 - 1) == datetime(9999, 12, 31, tzinfo=UTC)


def test_a_revoked_key_rejects_records_from_its_revocation_on(tmp_path: Path) -> None:
    ring = keyring_for(tmp_path / "ring", ["ssa"], ["having-a-child"])
    public = ring.public_keyring()  # loaded before the revocation: reloads by itself
    record = ring.signer("ssa").sign(ssa_record())
    revoked_at = T0 + timedelta(days=1)
    ring.revoke(ring.signer("ssa").key_id, at=revoked_at)

    def at(when: datetime) -> Decoded | Rejection:
        return check_record(
            "ssa",
            record.key,
            record.value,
            list(record.headers),
            public,
            load_registry(),
            record_time=when,
        )

    assert isinstance(at(revoked_at - timedelta(seconds=1)), Decoded)
    rejected = at(revoked_at)
    assert isinstance(rejected, Rejection) and rejected.reason == "key-revoked"
    assert isinstance(at(T0), Decoded)  # what the key signed before stays valid on replay
