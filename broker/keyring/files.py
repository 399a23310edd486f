"""The keyring's on-disk formats: file names, modes and the JSON models of each file.

Layout of a keyring directory (mode 0700; every file 0600, written atomically)::

    <dir>/signing/<agency>/<key id>.json            private signing key of an agency
    <dir>/linkage/<life experience>/<key id>.json   linkage key (32 random bytes)
    <dir>/record-id/<agency>/<key id>.json          record-id secret (32 random bytes)
    <dir>/public-keyring.json                       the one file consumers read

The public keyring file (``version`` 1) maps each agency to its public keys::

    {"version": 1, "agencies": {"ssa": [{"key_id": "ssa-sig-20261125-1",
      "public_key": "<standard base64 of the raw 32-byte Ed25519 key>",
      "created_at": "2026-11-25T10:00:00Z", "current": true}]}}

Kept apart from the code that reads and writes them so a new file kind (or a new version
of one) is one model here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, StringConstraints

from broker.errors import KeyringError
from contracts.catalog import AGENCY_ID_PATTERN, LIFE_EXPERIENCE_ID_PATTERN
from contracts.privacy import KEY_ID_PATTERN

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "LINKAGE_DIR",
    "PUBLIC_KEYRING_FILE",
    "RECORD_ID_DIR",
    "SIGNING_DIR",
    "LinkageKeyFile",
    "PublicKeyEntry",
    "PublicKeyringFile",
    "RecordIdKeyFile",
    "SigningKeyFile",
    "decode_key_bytes",
]

PUBLIC_KEYRING_FILE: Final = "public-keyring.json"
SIGNING_DIR: Final = "signing"
LINKAGE_DIR: Final = "linkage"
RECORD_ID_DIR: Final = "record-id"
DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


class PublicKeyEntry(BaseModel):
    """One public key in the public keyring file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    public_key: str
    created_at: AwareDatetime
    current: bool


class PublicKeyringFile(BaseModel):
    """The public keyring file: every agency's public keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    agencies: dict[
        Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)], list[PublicKeyEntry]
    ]


class SigningKeyFile(BaseModel):
    """One private signing key file of an agency."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["signing"] = "signing"
    agency: Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    sequence: int
    created_at: AwareDatetime
    private_key: SecretStr  # standard base64 of the raw 32-byte Ed25519 private key


class LinkageKeyFile(BaseModel):
    """One linkage key file of a life experience."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["linkage"] = "linkage"
    life_experience: Annotated[str, StringConstraints(pattern=LIFE_EXPERIENCE_ID_PATTERN)]
    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    sequence: int
    created_at: AwareDatetime
    secret: SecretStr  # standard base64 of 32 random bytes


class RecordIdKeyFile(BaseModel):
    """One record-id secret file of an agency (its events' ids are keyed hashes under it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["record-id"] = "record-id"
    agency: Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    sequence: int
    created_at: AwareDatetime
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
