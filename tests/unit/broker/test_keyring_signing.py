"""Ed25519 signing and verification of records against the public keyring."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broker.errors import (
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    UnknownSigningKey,
)
from broker.keyring import Keyring, PublicKeyring, Signer
from contracts.envelope import HEADER_KEYID, HEADER_SIG, Record, decode, with_signature
from contracts.errors import DecodeError
from contracts.signing import signing_input
from tests.support.keyrings import DAY2, made_keyring, unsigned


@pytest.fixture
def keyring_dir(tmp_path: Path) -> Path:
    made_keyring(tmp_path / "keyring")
    return tmp_path / "keyring"


def _with_header(record: Record, name: str, value: bytes) -> Record:
    return Record(
        record.key, record.value, tuple((n, value if n == name else v) for n, v in record.headers)
    )


def test_signed_record_verifies_and_decodes(keyring_dir: Path) -> None:
    signer = Keyring(keyring_dir).signer("usda-fns")
    signed = signer.sign(unsigned())
    assert signed.header(HEADER_KEYID) == b"usda-fns-sig-20261125-1"
    signature = signed.header(HEADER_SIG)
    assert signature is not None
    assert len(signature) == 88 and signature.endswith(b"=")  # standard base64, padded
    PublicKeyring.load(keyring_dir).verify(signed)
    decoded = decode(signed.key, signed.value, signed.headers)
    assert decoded.key_id == "usda-fns-sig-20261125-1"


def test_every_single_byte_change_of_the_signing_input_fails(keyring_dir: Path) -> None:
    signed = Keyring(keyring_dir).signer("usda-fns").sign(unsigned())
    public = PublicKeyring.load(keyring_dir)
    data = signing_input(signed)
    signature = base64.b64decode(signed.header(HEADER_SIG) or b"")
    key_id = "usda-fns-sig-20261125-1"
    public.verify_bytes(key_id, data, signature, agency="usda-fns")  # the original verifies
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            changed = bytearray(data)
            changed[position] ^= flip
            with pytest.raises(SignatureInvalid):
                public.verify_bytes(key_id, bytes(changed), signature, agency="usda-fns")
    for position in range(len(signature)):
        changed = bytearray(signature)
        changed[position] ^= 0x01
        with pytest.raises(SignatureInvalid):
            public.verify_bytes(key_id, data, bytes(changed), agency="usda-fns")


def test_every_byte_change_of_key_value_or_signed_header_is_rejected(keyring_dir: Path) -> None:
    signed = Keyring(keyring_dir).signer("usda-fns").sign(unsigned())
    public = PublicKeyring.load(keyring_dir)
    variants: list[Record] = []
    for i in range(len(signed.key)):
        key = bytearray(signed.key)
        key[i] ^= 0x01
        variants.append(replace(signed, key=bytes(key)))
    for i in range(len(signed.value)):
        value = bytearray(signed.value)
        value[i] ^= 0x01
        variants.append(replace(signed, value=bytes(value)))
    for name, header_value in signed.headers:
        if name == HEADER_SIG:
            continue
        for i in range(len(header_value)):
            changed = bytearray(header_value)
            changed[i] ^= 0x01
            variants.append(_with_header(signed, name, bytes(changed)))
    assert len(variants) > 600
    for variant in variants:
        # A changed key id names an unknown key, a changed ce_source another agency: both
        # are SignatureInvalid subclasses.
        with pytest.raises(SignatureInvalid):
            public.verify(variant)


def test_missing_signature_headers_are_reported(keyring_dir: Path) -> None:
    with pytest.raises(SignatureMissing) as caught:
        PublicKeyring.load(keyring_dir).verify(unsigned())
    assert caught.value.reason == "missing-signature"


def test_unknown_key_id_is_reported(keyring_dir: Path) -> None:
    signed = Keyring(keyring_dir).signer("usda-fns").sign(unsigned())
    forged = Signer("usda-fns", "usda-fns-sig-20990101-9", Ed25519PrivateKey.generate())
    with pytest.raises(UnknownSigningKey) as caught:
        PublicKeyring.load(keyring_dir).verify(forged.sign(unsigned()))
    assert caught.value.reason == "unknown-key-id"
    assert "usda-fns-sig-20990101-9" in str(caught.value)
    malformed = _with_header(signed, HEADER_KEYID, b"Not A Key Id \xff")
    with pytest.raises(UnknownSigningKey):
        PublicKeyring.load(keyring_dir).verify(malformed)


def test_a_valid_signature_by_another_agency_is_rejected(keyring_dir: Path) -> None:
    # SSA's real key signs a record that claims to come from USDA FNS.
    stored = json.loads((keyring_dir / "agencies/ssa/signing/ssa-sig-20261125-1.json").read_text())
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(stored["private_key"]))
    theirs = Signer("usda-fns", "ssa-sig-20261125-1", private)
    with pytest.raises(SigningKeyAgencyMismatch) as caught:
        PublicKeyring.load(keyring_dir).verify(theirs.sign(unsigned("usda-fns")))
    assert caught.value.reason == "key-agency-mismatch"


def test_signer_refuses_another_agencys_record(keyring_dir: Path) -> None:
    with pytest.raises(SigningKeyAgencyMismatch):
        Keyring(keyring_dir).signer("ssa").sign(unsigned("usda-fns"))


def test_malformed_signature_encoding_is_a_bad_signature(keyring_dir: Path) -> None:
    signed = Keyring(keyring_dir).signer("usda-fns").sign(unsigned())
    for bad in (b"not base64!", base64.b64encode(b"short")):
        with pytest.raises(SignatureInvalid) as caught:
            PublicKeyring.load(keyring_dir).verify(_with_header(signed, HEADER_SIG, bad))
        assert caught.value.reason == "bad-signature"


def test_duplicated_signed_header_has_no_signing_input(keyring_dir: Path) -> None:
    signed = Keyring(keyring_dir).signer("usda-fns").sign(unsigned())
    doubled = Record(signed.key, signed.value, (*signed.headers, ("ce_id", b"x")))
    with pytest.raises(DecodeError):
        PublicKeyring.load(keyring_dir).verify(doubled)


def test_old_signatures_verify_after_rotation_and_new_ones_use_the_new_key(
    keyring_dir: Path,
) -> None:
    keyring = Keyring(keyring_dir)
    old = keyring.signer("usda-fns").sign(unsigned(n=1))
    # A consumer that loaded the public keyring before the rotation...
    consumer = PublicKeyring.load(keyring_dir)
    new_key_id = keyring.rotate_signing("usda-fns", now=DAY2)
    assert new_key_id == "usda-fns-sig-20261202-2"
    new = keyring.signer("usda-fns").sign(unsigned(n=2))
    assert new.header(HEADER_KEYID) == new_key_id.encode()
    # ... still verifies old records and picks up the new key from the changed file.
    consumer.verify(old)
    consumer.verify(new)
    fresh = PublicKeyring.load(keyring_dir)
    fresh.verify(old)
    fresh.verify(new)
    current = {k.key_id: k.current for k in fresh.entries() if k.agency == "usda-fns"}
    assert current == {"usda-fns-sig-20261125-1": False, new_key_id: True}


def test_signer_repr_hides_the_private_key(keyring_dir: Path) -> None:
    signer = Keyring(keyring_dir).signer("ssa")
    private = (keyring_dir / "agencies/ssa/signing/ssa-sig-20261125-1.json").read_text()
    secret = private.split('"private_key": "')[1].split('"')[0]
    assert secret not in repr(signer)
    assert secret not in str(signer)
    assert "redacted" in repr(signer)


def test_sign_equals_the_documented_composition(keyring_dir: Path) -> None:
    """Signer.sign builds the keyed record once; the result is still exactly
    with_signature(record, key id, Ed25519(signing_input(record, key_id)))."""

    signer = Keyring(keyring_dir).signer("usda-fns")
    record = unsigned()
    signed = signer.sign(record)
    expected_input = signing_input(record, key_id=signer.key_id)
    assert signing_input(signed) == expected_input
    signature = base64.b64decode(signed.header(HEADER_SIG) or b"")
    assert signed == with_signature(record, signer.key_id, signature)
    # Re-signing a record keyed by another key id is refused, as signing_input refuses it.
    other = _with_header(signed, HEADER_KEYID, b"usda-fns-sig-20261126-9")
    with pytest.raises(ValueError, match="different key id"):
        signer.sign(other)
    assert signer.sign(signed) == signed  # same key id: the old signature is replaced
