"""Wrapping a linkage key for one named recipient (HPKE-style, CX-LINKAGE-WRAP-V1).

The agency that makes a linkage key sends it to each other agency of the life experience
as a *package* only that agency can open, so packages may travel by any channel (files,
e-mail, a topic): only ciphertext for a named recipient travels.

* ``shared = X25519(ephemeral private, recipient public)`` (a fresh ephemeral per package);
* ``kek = HKDF-SHA256(shared, salt = none, info = "CX-LINKAGE-WRAP-V1" || eph_pub ||
  recipient_pub, 32 bytes)``;
* ``ciphertext = AES-256-GCM(kek, nonce (12 random bytes), linkage key,
  aad = "CX-LINKAGE-WRAP-V1\\n" || canonical(meta))`` where ``meta`` binds the life
  experience, key id, sequence, dates, sender and recipient (URN and encryption key id):
  a package cannot be replayed for another recipient, life experience or key id;
* the whole package body is signed by the sender's Ed25519 signing key
  (``"CX-LINKAGE-PACKAGE-V1\\n" || canonical(body)``); the recipient checks it against the
  governance-signed public keyring, so no one else can slip in a linkage key.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from broker.errors import KeyringRefused
from broker.keyring.signed import signed_bytes

__all__ = ["META_FIELDS", "PACKAGE_TAG", "WRAP_TAG", "open_package", "seal_package"]

WRAP_TAG: Final = b"CX-LINKAGE-WRAP-V1\n"
PACKAGE_TAG: Final = b"CX-LINKAGE-PACKAGE-V1\n"
META_FIELDS: Final = (
    "life_experience",
    "key_id",
    "sequence",
    "created_at",
    "overlap_until",
    "sender",
    "sender_key_id",
    "recipient",
    "recipient_key_id",
)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _kek(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    info = WRAP_TAG.rstrip(b"\n") + ephemeral + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def seal_package(
    secret: bytes,
    meta: dict[str, Any],
    recipient_public: bytes,
    sign: Callable[[bytes], bytes],
) -> dict[str, Any]:
    """The signed package of ``secret`` for the recipient ``meta`` names."""
    assert set(meta) == set(META_FIELDS), "package metadata must bind every field"
    recipient = X25519PublicKey.from_public_bytes(recipient_public)
    ephemeral = X25519PrivateKey.generate()
    eph_pub = _raw(ephemeral.public_key())
    kek = _kek(ephemeral.exchange(recipient), eph_pub, recipient_public)
    nonce = os.urandom(12)
    ciphertext = AESGCM(kek).encrypt(nonce, secret, signed_bytes(WRAP_TAG, meta))
    body = {
        **meta,
        "ephemeral_public": base64.b64encode(eph_pub).decode("ascii"),
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }
    signature = sign(signed_bytes(PACKAGE_TAG, body))
    return {
        "version": 1,
        "kind": "linkage-package",
        "body": body,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def package_body(package: Any) -> dict[str, Any]:
    """The body of a package, checked for shape only (nothing verified yet)."""
    if (
        not isinstance(package, dict)
        or package.get("kind") != "linkage-package"
        or package.get("version") != 1
        or not isinstance(package.get("body"), dict)
        or not isinstance(package.get("signature"), str)
    ):
        raise KeyringRefused("not a linkage package (version 1); refusing it")
    body: dict[str, Any] = package["body"]
    missing = [
        f for f in (*META_FIELDS, "ephemeral_public", "nonce", "ciphertext") if f not in body
    ]
    if missing:
        raise KeyringRefused(f"the linkage package lacks {', '.join(missing)}; refusing it")
    return body


def open_package(
    package: dict[str, Any],
    recipient_key: X25519PrivateKey,
    sender_public: Ed25519PublicKey,
) -> bytes:
    """The linkage key inside ``package``, after the sender's signature held.

    Any change to the package (metadata, ciphertext, signature) or the wrong recipient
    key gives one-line :class:`KeyringRefused`; nothing of the key is returned then.
    """
    body = package_body(package)
    try:
        sender_public.verify(
            base64.b64decode(package["signature"], validate=True),
            signed_bytes(PACKAGE_TAG, body),
        )
        eph_pub = base64.b64decode(body["ephemeral_public"], validate=True)
        nonce = base64.b64decode(body["nonce"], validate=True)
        ciphertext = base64.b64decode(body["ciphertext"], validate=True)
    except (InvalidSignature, binascii.Error, ValueError):
        raise KeyringRefused(
            "the linkage package's signature does not verify with its sender's key; refusing it"
        ) from None
    meta = {field: body[field] for field in META_FIELDS}
    try:
        shared = recipient_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        kek = _kek(shared, eph_pub, _raw(recipient_key.public_key()))
        secret = AESGCM(kek).decrypt(nonce, ciphertext, signed_bytes(WRAP_TAG, meta))
    except (InvalidTag, ValueError):
        raise KeyringRefused(
            "the linkage package does not open with this directory's encryption key; refusing it"
        ) from None
    if len(secret) != 32:
        raise KeyringRefused("the linkage package does not hold a 32-byte key; refusing it")
    return secret
