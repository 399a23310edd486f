"""The key files of an organisation's directory: names and JSON models.

Layout of one organisation's key directory (mode 0700; every file 0600, atomic)::

    <dir>/owner.json                         whose directory this is (urn:cx:<kind>:<id>)
    <dir>/signing/<key id>.json              its private signing keys (Ed25519; an agency's,
                                             or a joiner / insights deployment's)
    <dir>/encryption/<key id>.json           its private encryption keys (X25519, agencies)
    <dir>/linkage/<life experience>/<key id>.json   linkage keys (agencies of that LE only)
    <dir>/secrets/<name>                     any other secret of the owner (generic helper);
                                             secrets/record-id.json: an agency's record-id secret
    <dir>/trust-anchor.json                  the pinned governance public key
    <dir>/public-keyring.json                the governance-signed public keyring

A governance directory has ``owner.json`` (kind ``governance``), ``signing/`` (the
governance key) and ``state/keyring-body.json`` (the entries it signs). Kept apart from
the code that reads and writes them so a new file kind is one model here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, StringConstraints

from broker.errors import KeyringError
from broker.keyring.owners import OWNER_URN_PATTERN
from broker.keyring.secretfiles import DIR_MODE, FILE_MODE
from contracts.catalog import LIFE_EXPERIENCE_ID_PATTERN
from contracts.privacy import KEY_ID_PATTERN

__all__ = [
    "DIR_MODE",
    "ENCRYPTION_DIR",
    "FILE_MODE",
    "LINKAGE_DIR",
    "LOCAL_DEMO_FILE",
    "OWNER_FILE",
    "PUBLIC_KEYRING_FILE",
    "RECORD_ID_FILE",
    "SECRETS_DIR",
    "SIGNING_DIR",
    "TRUST_ANCHOR_FILE",
    "LinkageKeyFile",
    "OwnerFile",
    "PrivateKeyFile",
    "decode_key_bytes",
]

OWNER_FILE: Final = "owner.json"
PUBLIC_KEYRING_FILE: Final = "public-keyring.json"
TRUST_ANCHOR_FILE: Final = "trust-anchor.json"
LOCAL_DEMO_FILE: Final = "local-demo.json"
SIGNING_DIR: Final = "signing"
ENCRYPTION_DIR: Final = "encryption"
LINKAGE_DIR: Final = "linkage"
SECRETS_DIR: Final = "secrets"
#: An agency's record-id secret (HMAC key of its event ids), in ``secrets/``.
RECORD_ID_FILE: Final = "record-id.json"

KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
OwnerUrn = Annotated[str, StringConstraints(pattern=OWNER_URN_PATTERN)]


class OwnerFile(BaseModel):
    """``owner.json``: the one organisation whose private keys this directory holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["organisation"] = "organisation"
    owner: OwnerUrn


class PrivateKeyFile(BaseModel):
    """One private key of an owner: Ed25519 for signing, X25519 for encryption."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["signing", "encryption"]
    owner: OwnerUrn
    key_id: KeyId
    sequence: int
    created_at: AwareDatetime
    not_after: AwareDatetime
    private_key: SecretStr  # standard base64 of the raw 32-byte private key


class LinkageKeyFile(BaseModel):
    """One linkage key of a life experience, as an agency of it holds it.

    ``made_by`` is the agency that generated and wrapped it; ``overlap_until`` (on a
    rotated key) is the end of the overlap in which tokens are also made under the
    previous key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["linkage"] = "linkage"
    life_experience: Annotated[str, StringConstraints(pattern=LIFE_EXPERIENCE_ID_PATTERN)]
    key_id: KeyId
    sequence: int
    created_at: AwareDatetime
    holder: OwnerUrn
    made_by: OwnerUrn
    overlap_until: AwareDatetime | None = None
    secret: SecretStr  # standard base64 of 32 random bytes


def decode_key_bytes(text: str, length: int, what: str) -> bytes:
    """The ``length`` bytes that ``text`` (standard base64 of key material) holds."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not standard base64") from None
    if len(data) != length:
        raise KeyringError(f"{what} must hold {length} bytes")
    return data
