"""The public keyring: every agency's public signing keys, and verification of records.

Consumers hold only this file (``public-keyring.json``, format in
:mod:`broker.keyring.files`). Rotation adds keys and never removes one, so an old public
key keeps verifying the records it signed. A consumer that sees an unknown key id re-reads
the file once if it changed (a rotation while the consumer runs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError as PydanticValidationError

from broker.errors import (
    KeyringError,
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    UnknownSigningKey,
)
from broker.keyring.files import PUBLIC_KEYRING_FILE, PublicKeyringFile, decode_key_bytes
from broker.keyring.ids import SOURCE_PREFIX, shown_key_id
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE, Record
from contracts.signing import signing_input

__all__ = ["PublicKey", "PublicKeyring", "public_key_fingerprint"]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One agency public key as listed in the public keyring."""

    agency: str
    key_id: str
    public_key: bytes  # raw 32 bytes
    created_at: datetime
    current: bool


def public_key_fingerprint(public_key: bytes) -> str:
    """A short, stable fingerprint of a raw public key for display (first 16 hex of SHA-256)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


class PublicKeyring:
    """The agencies' public signing keys; verifies record signatures.

    Loaded public key objects are cached per key id, so verifying costs one Ed25519
    verification. With ``path`` set, an unknown key id makes it re-read the file once if
    the file changed (a rotation while a consumer runs).
    """

    __slots__ = ("_cache", "_keys", "_path", "_stamp")

    def __init__(self, keys: Iterable[PublicKey], *, path: Path | None = None) -> None:
        self._keys: dict[str, PublicKey] = {}
        self._cache: dict[str, Ed25519PublicKey] = {}
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._set(keys)

    def _set(self, keys: Iterable[PublicKey]) -> None:
        fresh: dict[str, PublicKey] = {}
        for key in keys:
            if key.key_id in fresh:
                raise KeyringError(f"key id {key.key_id} is listed twice in the public keyring")
            fresh[key.key_id] = key
        self._keys = fresh
        self._cache = {}

    def __repr__(self) -> str:
        return f"PublicKeyring(<{len(self._keys)} keys>)"

    # ----- loading and saving

    @classmethod
    def load(cls, path: Path) -> PublicKeyring:
        """Read a public keyring file (or ``<dir>/public-keyring.json`` of a keyring dir)."""
        file = path / PUBLIC_KEYRING_FILE if path.is_dir() else path
        keyring = cls((), path=file)
        keyring._reload()
        return keyring

    def _reload(self) -> None:
        assert self._path is not None
        try:
            stamp = _file_stamp(self._path)
            self._set(_parse_public_keyring(self._path.read_bytes()))
        except FileNotFoundError:
            raise KeyringError(
                f"no public keyring at {self._path}; run `cxbroker keys init` or "
                "`cxbroker keys export-public`"
            ) from None
        self._stamp = stamp

    def to_json(self) -> bytes:
        """The public keyring file's content."""
        agencies: dict[str, list[dict[str, Any]]] = {}
        # Stable sort: within an agency, keys stay in creation order.
        for key in sorted(self._keys.values(), key=lambda k: k.agency):
            agencies.setdefault(key.agency, []).append(
                {
                    "key_id": key.key_id,
                    "public_key": base64.b64encode(key.public_key).decode("ascii"),
                    "created_at": key.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "current": key.current,
                }
            )
        return (json.dumps({"version": 1, "agencies": agencies}, indent=2) + "\n").encode()

    # ----- queries

    def entries(self) -> tuple[PublicKey, ...]:
        """Every public key, by agency, oldest first within an agency."""
        return tuple(sorted(self._keys.values(), key=lambda k: k.agency))

    def key(self, key_id: str) -> PublicKey | None:
        """The public key with this id, or None."""
        return self._keys.get(key_id)

    def _lookup(self, key_id: str) -> tuple[PublicKey, Ed25519PublicKey] | None:
        entry = self._keys.get(key_id)
        if entry is None and self._path is not None and self._changed():
            self._reload()
            entry = self._keys.get(key_id)
        if entry is None:
            return None
        loaded = self._cache.get(key_id)
        if loaded is None:
            loaded = self._cache[key_id] = Ed25519PublicKey.from_public_bytes(entry.public_key)
        return entry, loaded

    def _changed(self) -> bool:
        assert self._path is not None
        try:
            return _file_stamp(self._path) != self._stamp
        except FileNotFoundError:
            return False

    # ----- verification

    def verify_bytes(self, key_id: str, data: bytes, signature: bytes, *, agency: str) -> None:
        """Verify an Ed25519 ``signature`` of ``data`` by ``agency``'s key ``key_id``."""
        found = self._lookup(key_id)
        if found is None:
            raise UnknownSigningKey(
                f"signing key {shown_key_id(key_id.encode('ascii', 'replace'))} is not in the "
                "public keyring; refresh it with `cxbroker keys export-public`"
            )
        entry, public_key = found
        if entry.agency != agency:
            raise SigningKeyAgencyMismatch(
                f"signing key {entry.key_id} belongs to agency {entry.agency}, "
                "not to the record's source"
            )
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            raise SignatureInvalid(
                f"the signature does not verify with key {entry.key_id}: "
                "the record was changed after signing or signed with another key"
            ) from None

    def verify(self, record: Record) -> None:
        """Check the signature of a received record; raises a :class:`SignatureInvalid`.

        Missing signed headers surface as :class:`contracts.errors.MissingHeader` /
        :class:`~contracts.errors.DuplicateHeader` from the signing input.
        """
        raw_key_id = record.header(HEADER_KEYID)
        raw_signature = record.header(HEADER_SIG)
        if raw_key_id is None or raw_signature is None:
            raise SignatureMissing("the record has no ce_cxkeyid or no ce_cxsig header")
        key_id = shown_key_id(raw_key_id)
        if key_id.startswith("<"):
            raise UnknownSigningKey("ce_cxkeyid is not a key id")
        source = record.header(HEADER_SOURCE) or b""
        if not source.startswith(SOURCE_PREFIX):
            raise SignatureInvalid("ce_source does not name an agency")
        agency = source[len(SOURCE_PREFIX) :].decode("ascii", "replace")
        try:
            signature = base64.b64decode(raw_signature, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureInvalid("ce_cxsig is not standard base64") from None
        if len(signature) != 64:
            raise SignatureInvalid("ce_cxsig does not hold a 64-byte Ed25519 signature")
        self.verify_bytes(key_id, signing_input(record), signature, agency=agency)


def _file_stamp(path: Path) -> tuple[int, int, int]:
    """Identity of a file version: the keyring is replaced by rename, so the inode changes
    even when the clock's granularity hides the new modification time."""
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size


def _parse_public_keyring(data: bytes) -> list[PublicKey]:
    try:
        parsed = PublicKeyringFile.model_validate_json(data)
    except PydanticValidationError as exc:
        raise KeyringError(
            f"the public keyring file is malformed ({exc.error_count()} problems)"
        ) from None
    return [
        PublicKey(
            agency=agency,
            key_id=entry.key_id,
            public_key=decode_key_bytes(entry.public_key, 32, f"public key {entry.key_id}"),
            created_at=entry.created_at,
            current=entry.current,
        )
        for agency, entries in parsed.agencies.items()
        for entry in entries
    ]
