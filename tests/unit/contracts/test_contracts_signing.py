"""The signing input, checked against the test vector published in contracts/SIGNING.md."""

from __future__ import annotations

import base64
import re
import struct
from datetime import UTC, datetime
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts import (
    SIGNED_HEADERS,
    Record,
    encode_unsigned,
    journey_token_from_digest,
    signing_input,
    with_key_id,
    with_signature,
)
from contracts.errors import DuplicateHeader, MissingHeader
from contracts.events import ApplicationStatusV1_0
from tests.support.contract_samples import Samples
from tests.support.paths import REPO

SIGNING_MD = REPO / "contracts" / "SIGNING.md"
KEY_ID = "usda-fns-sign-2026-04"


def _vectors() -> dict[str, str]:
    text = SIGNING_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- vector:([a-z-]+) -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    return dict(blocks)


def _vector_event() -> ApplicationStatusV1_0:
    # SIGNING.md's vector is a released application-status 1.0.0 record (still readable).
    return ApplicationStatusV1_0(
        event_id=UUID("0b9a6b3e-6f0c-4c1e-9d7a-3f2d7e1c5a10"),
        agency="usda-fns",
        life_experience="having-a-child",
        journey_token=journey_token_from_digest(bytes(range(32))),
        token_rule="ssn-dob",
        linkage_key_id="usda-fns-link-2026",
        occurred_at=datetime(2026, 4, 3, 14, 30, tzinfo=UTC),
        service_id="usda-fns.wic",
        application_token=journey_token_from_digest(bytes(range(32, 64))),
        status="approved",
    )


def test_signing_md_vector_matches_the_implementation() -> None:
    vectors = _vectors()
    assert set(vectors) >= {"private-key", "public-key", "key", "value", "headers"}
    unsigned = encode_unsigned(_vector_event())
    expected_input = bytes.fromhex("".join(vectors["signing-input"].split()))
    assert signing_input(with_key_id(unsigned, KEY_ID)) == expected_input
    assert signing_input(unsigned, key_id=KEY_ID) == expected_input

    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vectors["private-key"]))
    signature = private.sign(expected_input)
    assert signature.hex() == vectors["signature"]
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vectors["public-key"]))
    public.verify(signature, expected_input)  # raises if wrong

    record = with_signature(unsigned, KEY_ID, signature)
    assert record.key.decode() == vectors["key"]
    assert record.value.decode() == vectors["value"]
    listed = [line.split(": ", 1) for line in vectors["headers"].splitlines()]
    assert [(name, value.encode()) for name, value in listed] == list(record.headers)
    assert base64.b64decode(record.header("ce_cxsig") or b"") == signature
    # Verifying a signed record uses the same bytes: ce_cxsig is not signed.
    assert signing_input(record) == expected_input


def test_signing_input_layout_is_tag_then_length_prefixed_fields(samples: Samples) -> None:
    record = with_key_id(encode_unsigned(samples.status()), KEY_ID)
    data = signing_input(record)
    assert data.startswith(b"CX-SIG-V1\n")
    offset = len(b"CX-SIG-V1\n")
    fields: list[bytes] = []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        fields.append(data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    assert offset == len(data)
    names = [f.decode() for f in fields[0 : 2 * len(SIGNED_HEADERS) : 2]]
    assert names == list(SIGNED_HEADERS)
    assert fields[-2:] == [record.key, record.value]


def test_signing_input_ignores_header_order_and_unsigned_headers(samples: Samples) -> None:
    record = with_key_id(encode_unsigned(samples.status()), KEY_ID)
    shuffled = Record(record.key, record.value, (("traceparent", b"x"), *reversed(record.headers)))
    assert signing_input(shuffled) == signing_input(record)


def test_any_signed_byte_changes_the_input(samples: Samples) -> None:
    record = with_key_id(encode_unsigned(samples.status()), KEY_ID)
    base = signing_input(record)
    assert signing_input(Record(record.key, record.value + b" ", record.headers)) != base
    assert signing_input(with_key_id(record, "other-key")) != base
    for name in SIGNED_HEADERS:
        headers = tuple((n, v + b"x" if n == name else v) for n, v in record.headers)
        assert signing_input(Record(record.key, record.value, headers)) != base


def test_missing_or_duplicated_signed_header_has_no_signing_input(samples: Samples) -> None:
    unsigned = encode_unsigned(samples.status())
    with pytest.raises(MissingHeader):
        signing_input(unsigned)  # no ce_cxkeyid yet
    keyed = with_key_id(unsigned, KEY_ID)
    with pytest.raises(DuplicateHeader):
        signing_input(Record(keyed.key, keyed.value, (*keyed.headers, ("ce_id", b"x"))))
    with pytest.raises(ValueError):
        signing_input(keyed, key_id="another-key")
