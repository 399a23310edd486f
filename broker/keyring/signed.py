"""The signed public keyring (version 2): owner-typed entries, validity, revocation.

File format (``public-keyring.json``)::

    {"version": 2,
     "body": {"serial": 7, "issued_at": "2026-12-02T09:00:00Z",
              "governance": "urn:cx:governance:cx-council",
              "governance_key_id": "cx-council-gov-20261202-1",
              "entries": [{"owner": "urn:cx:agency:ssa", "use": "signing",
                           "key_id": "ssa-sig-20261202-1", "public_key": "<base64 raw 32>",
                           "not_before": "...", "not_after": "...",
                           "revoked_at": null, "revocation_reason": null}, ...]},
     "signature": "<base64 Ed25519 over signed_bytes(KEYRING_TAG, body)>"}

``signed_bytes(tag, body)`` = ``tag`` || canonical JSON of ``body`` (keys sorted, no
spaces, ASCII). A reader checks the signature with the governance key it pinned (its
*trust anchor*) **before** it looks at any entry, and refuses the whole file otherwise:
a keyring is never partially loaded. ``contracts/SIGNING.md`` specifies it for other
languages.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from broker.errors import KeyringRefused
from broker.keyring.owners import OWNER_URN_PATTERN
from contracts.privacy import KEY_ID_PATTERN

__all__ = [
    "EXPORT_TAG",
    "KEYRING_TAG",
    "KeyEntry",
    "KeyringBody",
    "TrustAnchor",
    "canonical",
    "iso",
    "sign_document",
    "signed_bytes",
    "verified_body",
]

KEYRING_TAG: Final = b"CX-KEYRING-V2\n"
EXPORT_TAG: Final = b"CX-KEY-EXPORT-V1\n"

KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
OwnerUrn = Annotated[str, StringConstraints(pattern=OWNER_URN_PATTERN)]


class KeyEntry(BaseModel):
    """One public key: whose, what for, valid when, revoked or not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: OwnerUrn
    use: Literal["signing", "encryption"]
    key_id: KeyId
    public_key: str  # standard base64 of the raw 32-byte Ed25519 / X25519 public key
    not_before: AwareDatetime
    not_after: AwareDatetime
    revoked_at: AwareDatetime | None = None
    revocation_reason: Literal["compromised", "superseded", "retired"] | None = None


class KeyringBody(BaseModel):
    """What the governance key signs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: int
    issued_at: AwareDatetime
    governance: OwnerUrn
    governance_key_id: KeyId
    entries: list[KeyEntry]


class TrustAnchor(BaseModel):
    """The governance public key a reader pins (obtained out of band, fingerprint checked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["trust-anchor"] = "trust-anchor"
    governance: OwnerUrn
    key_id: KeyId
    public_key: str


def iso(when: datetime) -> str:
    """RFC 3339 UTC with a ``Z``."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(document: Any) -> bytes:
    """Canonical JSON: keys sorted, no whitespace, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signed_bytes(tag: bytes, body: Any) -> bytes:
    """The bytes an Ed25519 signature covers: a domain tag, then the canonical body."""
    return tag + canonical(body)


def sign_document(tag: bytes, body: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """Standard base64 of the signature of ``body`` under ``tag``."""
    return base64.b64encode(key.sign(signed_bytes(tag, body))).decode("ascii")


def _verify(public_key: str, signature: str, data: bytes, what: str) -> None:
    try:
        raw = base64.b64decode(public_key, validate=True)
        sig = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, data)
    except (binascii.Error, ValueError, InvalidSignature):
        raise KeyringRefused(f"{what}: the signature does not verify; refusing it") from None


def verified_body(data: bytes, anchor: TrustAnchor, what: str) -> KeyringBody:
    """The body of a signed keyring file, after its signature held under ``anchor``.

    Raises one-line :class:`KeyringRefused` for anything else: not JSON, not version 2,
    signed by another key, changed after signing, or an entry that does not parse.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringRefused(f"{what} is not JSON; refusing it") from None
    if not isinstance(document, dict) or document.get("version") != 2:
        raise KeyringRefused(f"{what} is not a signed public keyring (version 2); refusing it")
    body, signature = document.get("body"), document.get("signature")
    if not isinstance(body, dict) or not isinstance(signature, str):
        raise KeyringRefused(f"{what} has no body or no signature; refusing it")
    if (
        body.get("governance_key_id") != anchor.key_id
        or body.get("governance") != anchor.governance
    ):
        raise KeyringRefused(
            f"{what} is not signed by the pinned governance key {anchor.key_id}; refusing it"
        )
    _verify(anchor.public_key, signature, signed_bytes(KEYRING_TAG, body), what)
    try:
        return KeyringBody.model_validate(body)
    except PydanticValidationError as exc:
        raise KeyringRefused(
            f"{what} is signed but malformed ({exc.error_count()} problems); refusing it"
        ) from None


def verify_export_signature(public_key: str, signature: str, body: Any, what: str) -> None:
    """Check a key export's proof-of-possession signature (see ``keys export``)."""
    _verify(public_key, signature, signed_bytes(EXPORT_TAG, body), what)
