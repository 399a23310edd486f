"""The CloudEvents Kafka binary-mode wire format: encode, decode, upcast, reject."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from contracts import (
    DECODE_REASONS,
    CxEvent,
    DecodeError,
    Feedback,
    Record,
    decode,
    encode_unsigned,
    with_signature,
)
from contracts.envelope import RECORD_HEADERS, format_time
from contracts.errors import UnknownMajorVersion
from contracts.events import FeedbackV1_0
from tests.support.contract_samples import TOKEN, Samples
from tests.support.paths import REPO

SIG = bytes(range(64))
KEY_ID = "usda-fns-sign-2026-04"
PII_SENTINELS = ("078-05-1120", "jane.doe@example.com")


def signed(event: CxEvent) -> Record:
    return with_signature(encode_unsigned(event), KEY_ID, SIG)


def test_record_has_exact_header_set_key_and_compact_json(samples: Samples) -> None:
    event = samples.interaction()
    record = signed(event)
    assert tuple(name for name, _ in record.headers) == RECORD_HEADERS
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["ce_source"] == b"urn:cx:agency:usda-fns"
    assert headers["ce_type"] == b"gov.cx.service-interaction.v1"
    assert headers["ce_time"] == b"2026-04-03T14:30:00Z"
    assert headers["ce_dataschema"] == b"urn:cx:contract:service-interaction:1.0.0"
    assert headers["ce_cxlifeexp"] == b"having-a-child"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_cxkeyid"] == KEY_ID.encode()
    assert base64.b64decode(headers["ce_cxsig"]) == SIG
    assert record.key == TOKEN.encode("ascii")
    assert b" " not in record.value.split(b'"comment"')[0]  # compact separators
    assert json.loads(record.value)["journey_token"] == TOKEN


def test_unsigned_record_lacks_only_key_id_and_signature(samples: Samples) -> None:
    names = [name for name, _ in encode_unsigned(samples.status()).headers]
    assert set(RECORD_HEADERS) - set(names) == {"ce_cxkeyid", "ce_cxsig"}
    with pytest.raises(ValueError):
        with_signature(encode_unsigned(samples.status()), KEY_ID, b"short")
    with pytest.raises(ValueError):
        with_signature(encode_unsigned(samples.status()), "Bad Key", SIG)


def test_with_signature_replaces_an_earlier_signature(samples: Samples) -> None:
    record = with_signature(signed(samples.status()), "other-key", bytes(64))
    names = [name for name, _ in record.headers]
    assert names.count("ce_cxsig") == 1 and names.count("ce_cxkeyid") == 1
    assert record.header("ce_cxkeyid") == b"other-key"


def test_time_header_is_rfc3339_utc() -> None:
    moment = datetime(2026, 4, 3, 14, 30, 0, 123456, tzinfo=UTC)
    assert format_time(moment) == "2026-04-03T14:30:00.123456Z"
    assert format_time(moment.replace(microsecond=0)) == "2026-04-03T14:30:00Z"


@pytest.mark.parametrize("kind", ["interaction", "status", "feedback"])
def test_round_trip_through_decode(samples: Samples, kind: str) -> None:
    event = getattr(samples, kind)()
    record = signed(event)
    decoded = decode(record.key, record.value, list(record.headers))
    assert decoded.event == event
    assert type(decoded.event) is type(event)
    assert (decoded.key_id, decoded.signature) == (KEY_ID, SIG)
    assert decoded.contract_name == type(event).contract_name
    assert decoded.contract_version == type(event).contract_version
    assert not decoded.upcast
    assert decoded.record == record


@pytest.mark.parametrize("kind", ["interaction", "status", "feedback"])
def test_cloudevents_sdk_reads_every_record(samples: Samples, kind: str) -> None:
    event = getattr(samples, kind)()
    record = signed(event)
    message = ce_kafka.KafkaMessage(
        headers=dict(record.headers), key=record.key, value=record.value
    )
    cloud_event = ce_kafka.from_binary_event(message)
    assert cloud_event.get_specversion() == "1.0"
    assert cloud_event.get_id() == str(event.event_id)
    assert cloud_event.get_source() == f"urn:cx:agency:{event.agency}"
    assert cloud_event.get_type() == f"gov.cx.{type(event).contract_name}.v1"
    assert cloud_event.get_time() == event.occurred_at
    assert cloud_event.get_dataschema() == type(event).contract_urn()
    assert cloud_event.get_datacontenttype() == "application/json"
    assert cloud_event.get_extension("cxlifeexp") == event.life_experience
    assert cloud_event.get_extension("cxkeyid") == KEY_ID
    assert base64.b64decode(cloud_event.get_extension("cxsig")) == SIG
    assert cloud_event.get_extension("partitionkey") == event.journey_token
    data = cloud_event.get_data()
    assert isinstance(data, dict)
    assert type(event).model_validate(data) == event


def test_older_minor_version_is_validated_exactly_and_upcast(samples: Samples) -> None:
    current = samples.feedback(humanity=None)
    old = FeedbackV1_0(**current.model_dump(exclude={"humanity"}))
    record = signed(old)
    assert record.header("ce_dataschema") == b"urn:cx:contract:feedback:1.0.0"
    decoded = decode(record.key, record.value, record.headers)
    assert isinstance(decoded.event, Feedback)
    assert decoded.event == current
    assert decoded.contract_version == "1.0.0" and decoded.upcast
    # A 1.0.0 record must not carry a field 1.0.0 did not have.
    payload = json.loads(record.value)
    payload["humanity"] = 5
    with pytest.raises(DecodeError) as info:
        decode(record.key, json.dumps(payload).encode(), record.headers)
    assert info.value.reason == "contract-violation"


def _replace(record: Record, name: str, value: bytes) -> tuple[tuple[str, bytes], ...]:
    return tuple((n, value if n == name else v) for n, v in record.headers)


def test_unknown_newer_minor_is_read_by_the_newest_known_minor(samples: Samples) -> None:
    record = signed(samples.feedback())
    headers = _replace(record, "ce_dataschema", b"urn:cx:contract:feedback:1.7.0")
    decoded = decode(record.key, record.value, headers)
    assert decoded.contract_version == "1.7.0" and isinstance(decoded.event, Feedback)
    payload = json.loads(record.value)
    payload["new_driver"] = 3
    with pytest.raises(DecodeError) as info:
        decode(record.key, json.dumps(payload).encode(), headers)
    assert info.value.reason == "unknown-version"


def test_unknown_major_version_is_rejected_with_clear_error(samples: Samples) -> None:
    record = signed(samples.feedback())
    headers = _replace(
        Record(record.key, record.value, _replace(record, "ce_type", b"gov.cx.feedback.v2")),
        "ce_dataschema",
        b"urn:cx:contract:feedback:2.0.0",
    )
    with pytest.raises(UnknownMajorVersion, match=r"no major version 2 here \(known: 1\)"):
        decode(record.key, record.value, headers)


Mutation = Callable[[Record, dict[str, Any]], tuple[bytes | None, bytes | None, Any]]


def _with_payload(record: Record, payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


HOSTILE: dict[str, tuple[str, Mutation]] = {
    "not json": ("malformed-json", lambda r, p: (r.key, b"{078-05-1120", r.headers)),
    "not utf-8": ("malformed-json", lambda r, p: (r.key, b"\xff\xfe", r.headers)),
    "no value": ("malformed-json", lambda r, p: (r.key, None, r.headers)),
    "duplicate json key": (
        "malformed-json",
        lambda r, p: (r.key, r.value[:-1] + b',"agency":"ssa"}', r.headers),
    ),
    "nan": (
        "malformed-json",
        lambda r, p: (
            r.key,
            r.value.replace(b'"satisfaction":4', b'"satisfaction":NaN'),
            r.headers,
        ),
    ),
    "missing ce_id": (
        "missing-header",
        lambda r, p: (r.key, r.value, [h for h in r.headers if h[0] != "ce_id"]),
    ),
    "missing signature": (
        "missing-header",
        lambda r, p: (r.key, r.value, [h for h in r.headers if h[0] != "ce_cxsig"]),
    ),
    "duplicate ce_type": (
        "duplicate-header",
        lambda r, p: (r.key, r.value, [*r.headers, ("ce_type", b"gov.cx.feedback.v1")]),
    ),
    "unexpected ce_subject": (
        "unexpected-header",
        lambda r, p: (r.key, r.value, [*r.headers, ("ce_subject", b"078-05-1120")]),
    ),
    "non-ascii header": (
        "bad-header-encoding",
        lambda r, p: (r.key, r.value, _replace(r, "ce_cxlifeexp", "é078-05-1120".encode())),
    ),
    "null header": (
        "bad-header-encoding",
        lambda r, p: (r.key, r.value, _replace(r, "ce_id", None)),  # type: ignore[arg-type]
    ),
    "spec 0.3": (
        "bad-specversion",
        lambda r, p: (r.key, r.value, _replace(r, "ce_specversion", b"0.3")),
    ),
    "text/plain": (
        "bad-content-type",
        lambda r, p: (r.key, r.value, _replace(r, "content-type", b"text/plain")),
    ),
    "bad ce_type": (
        "malformed-header",
        lambda r, p: (r.key, r.value, _replace(r, "ce_type", b"com.x")),
    ),
    "bad dataschema": (
        "malformed-header",
        lambda r, p: (
            r.key,
            r.value,
            _replace(r, "ce_dataschema", b"urn:cx:contract:feedback:1.0"),
        ),
    ),
    "bad ce_time": (
        "malformed-header",
        lambda r, p: (r.key, r.value, _replace(r, "ce_time", b"2026-04-03 14:30")),
    ),
    "bad key id": (
        "malformed-header",
        lambda r, p: (r.key, r.value, _replace(r, "ce_cxkeyid", b"Jane.Doe@example.com")),
    ),
    "unknown contract": (
        "unknown-contract",
        lambda r, p: (
            r.key,
            r.value,
            _replace(
                Record(r.key, r.value, _replace(r, "ce_type", b"gov.cx.tax-return.v1")),
                "ce_dataschema",
                b"urn:cx:contract:tax-return:1.0.0",
            ),
        ),
    ),
    "joined contract on an agency topic": (
        "unknown-contract",
        lambda r, p: (
            r.key,
            r.value,
            _replace(
                Record(r.key, r.value, _replace(r, "ce_type", b"gov.cx.journey-snapshot.v1")),
                "ce_dataschema",
                b"urn:cx:contract:journey-snapshot:1.0.0",
            ),
        ),
    ),
    "major 3": (
        "unknown-major-version",
        lambda r, p: (
            r.key,
            r.value,
            _replace(
                Record(r.key, r.value, _replace(r, "ce_type", b"gov.cx.feedback.v3")),
                "ce_dataschema",
                b"urn:cx:contract:feedback:3.0.0",
            ),
        ),
    ),
    "unknown minor whose payload does not fit": (
        "unknown-version",
        lambda r, p: (
            r.key,
            _with_payload(r, {**p, "ssn": "078-05-1120"}),
            _replace(r, "ce_dataschema", b"urn:cx:contract:feedback:1.9.0"),
        ),
    ),
    "type and dataschema disagree": (
        "header-mismatch",
        lambda r, p: (r.key, r.value, _replace(r, "ce_type", b"gov.cx.application-status.v1")),
    ),
    "driver out of range and pii comment": (
        "contract-violation",
        lambda r, p: (
            r.key,
            _with_payload(r, {**p, "satisfaction": 9, "comment": "ssn 078-05-1120"}),
            r.headers,
        ),
    ),
    "identifier smuggled as extra field": (
        "contract-violation",
        lambda r, p: (
            r.key,
            _with_payload(r, {**p, "jane.doe@example.com": "078-05-1120"}),
            r.headers,
        ),
    ),
    "bad token shape": (
        "contract-violation",
        lambda r, p: (r.key, _with_payload(r, {**p, "journey_token": "078-05-1120"}), r.headers),
    ),
    "bad uuid": (
        "contract-violation",
        lambda r, p: (r.key, _with_payload(r, {**p, "event_id": "078-05-1120"}), r.headers),
    ),
    "payload not an object": (
        "contract-violation",
        lambda r, p: (r.key, b'["078-05-1120"]', r.headers),
    ),
    "other event id": (
        "header-mismatch",
        lambda r, p: (
            r.key,
            r.value,
            _replace(r, "ce_id", b"00000000-0000-4000-8000-000000000000"),
        ),
    ),
    "other source": (
        "header-mismatch",
        lambda r, p: (r.key, r.value, _replace(r, "ce_source", b"urn:cx:agency:ssa")),
    ),
    "other life experience": (
        "header-mismatch",
        lambda r, p: (r.key, r.value, _replace(r, "ce_cxlifeexp", b"approaching-retirement")),
    ),
    "other time": (
        "header-mismatch",
        lambda r, p: (r.key, r.value, _replace(r, "ce_time", b"2026-04-03T14:30:01Z")),
    ),
    "other key": ("key-mismatch", lambda r, p: (b"A" * 43, r.value, r.headers)),
    "no key": ("key-mismatch", lambda r, p: (None, r.value, r.headers)),
    "signature not base64": (
        "bad-signature-encoding",
        lambda r, p: (r.key, r.value, _replace(r, "ce_cxsig", b"not base64!")),
    ),
    "signature too short": (
        "bad-signature-encoding",
        lambda r, p: (r.key, r.value, _replace(r, "ce_cxsig", base64.b64encode(bytes(32)))),
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_records_map_to_stable_reason_codes_without_leaking_values(
    samples: Samples, case: str
) -> None:
    reason, mutate = HOSTILE[case]
    record = signed(samples.feedback())
    payload = json.loads(record.value)
    key, value, headers = mutate(record, payload)
    with pytest.raises(DecodeError) as info:
        decode(key, value, headers)
    assert info.value.reason == reason
    text = str(info.value)
    for secret in (*PII_SENTINELS, TOKEN, str(payload["event_id"]), payload["comment"]):
        assert secret.lower() not in text.lower()


def test_every_reason_code_is_exercised_and_documented() -> None:
    exercised = {reason for reason, _ in HOSTILE.values()}
    assert exercised == DECODE_REASONS
    assert all(code == code.lower() and " " not in code for code in DECODE_REASONS)


def test_other_headers_are_ignored(samples: Samples) -> None:
    record = signed(samples.status())
    headers = [("traceparent", b"00-abc-def-01"), *record.headers]
    assert decode(record.key, record.value, headers).event == samples.status()


def test_every_reason_code_is_documented_in_the_contracts_readme() -> None:

    readme = (REPO / "contracts" / "README.md").read_text()
    for code in DECODE_REASONS:
        assert f"| `{code}` |" in readme, code
