"""The public keyring: every owner's public keys, and verification of records.

Readers (the joiner, a data team) hold only public keys: the governance-signed file
``public-keyring.json`` (format in :mod:`broker.keyring.signed`) and the governance key
they pinned, ``trust-anchor.json``. The file is refused whole unless its signature holds
under that anchor. A running reader re-checks the file before each verification: a
rotation or a revocation takes effect without a restart; a
replacement that does not verify, or an older serial (a rollback), is refused and the
last verified keyring stays in force.

Entries are owner-typed (``urn:cx:agency:ssa``, ``urn:cx:joiner:<name>``, ...), with a
use (``signing`` / ``encryption``), a validity period and an optional revocation. A
record is refused with ``key-revoked`` when its time is at or after the key's revocation
and ``key-expired`` when it lies after ``not_after``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from broker.errors import (
    KeyExpired,
    KeyRevoked,
    KeyringError,
    KeyringRefused,
    KeyUseMismatch,
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    UnknownSigningKey,
)
from broker.keyring.files import PUBLIC_KEYRING_FILE, TRUST_ANCHOR_FILE
from broker.keyring.ids import SOURCE_PREFIX, shown_key_id
from broker.keyring.orgdir import resolve_reader_dir
from broker.keyring.owners import Owner
from broker.keyring.signed import KeyEntry, KeyringBody, TrustAnchor, iso, verified_body
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE, Record
from contracts.signing import signing_input

__all__ = [
    "PUBLIC_KEYRING_FILE",
    "TRUST_ANCHOR_FILE",
    "PublicKey",
    "PublicKeyring",
    "load_anchor",
    "public_key_fingerprint",
]

_FAR_FUTURE: Final = datetime(9999, 12, 31, tzinfo=UTC)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One public key as listed in the public keyring."""

    owner: Owner
    key_id: str
    public_key: bytes  # raw 32 bytes
    created_at: datetime  # not_before
    current: bool
    use: str = "signing"
    not_after: datetime = _FAR_FUTURE
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    @property
    def agency(self) -> str:
        """The agency id of an agency's key ('' for other owners)."""
        return self.owner.id if self.owner.kind == "agency" else ""

    def entry(self) -> KeyEntry:
        """This key as an entry of the signed keyring file."""
        return KeyEntry(
            owner=self.owner.urn,
            use=self.use,
            key_id=self.key_id,
            public_key=base64.b64encode(self.public_key).decode("ascii"),
            not_before=self.created_at,
            not_after=self.not_after,
            revoked_at=self.revoked_at,
            revocation_reason=self.revocation_reason,
        )


def public_key_fingerprint(public_key: bytes) -> str:
    """A short, stable fingerprint of a raw public key for display (first 16 hex of SHA-256)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def load_anchor(path: Path) -> TrustAnchor:
    """The pinned governance key of a reader (``trust-anchor.json``)."""
    try:
        return TrustAnchor.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise KeyringRefused(
            f"no trust anchor at {path}; pin the governance key with `cxbroker keys trust`"
        ) from None
    except ValueError:
        raise KeyringRefused(f"the trust anchor {path} is malformed; refusing it") from None


def keys_of(body: KeyringBody) -> list[PublicKey]:
    """The public keys of a verified keyring body, with the current flag derived."""
    keys: list[PublicKey] = []
    for e in body.entries:
        try:
            raw = base64.b64decode(e.public_key, validate=True)
        except (binascii.Error, ValueError):
            raise KeyringRefused(f"public key {e.key_id} is not base64; refusing it") from None
        if len(raw) != 32:
            raise KeyringRefused(f"public key {e.key_id} must hold 32 bytes; refusing it")
        keys.append(
            PublicKey(
                Owner.parse(e.owner),
                e.key_id,
                raw,
                e.not_before,
                False,
                e.use,
                e.not_after,
                e.revoked_at,
                e.revocation_reason,
            )
        )
    return _with_current(keys)


def _with_current(keys: list[PublicKey]) -> list[PublicKey]:
    """Mark, per owner and use, the newest key that is not revoked as current."""
    newest: dict[tuple[Owner, str], PublicKey] = {}
    for key in keys:
        if key.revoked_at is not None:
            continue
        best = newest.get((key.owner, key.use))
        if best is None or key.created_at >= best.created_at:
            newest[(key.owner, key.use)] = key
    chosen = {k.key_id for k in newest.values()}
    return [
        PublicKey(
            k.owner,
            k.key_id,
            k.public_key,
            k.created_at,
            k.key_id in chosen,
            k.use,
            k.not_after,
            k.revoked_at,
            k.revocation_reason,
        )
        for k in keys
    ]


class PublicKeyring:
    """Public keys of every owner; verifies record signatures.

    Built in memory from trusted code, or loaded with :meth:`load` from a signed file
    and a trust anchor; then it re-reads the file when it changes.
    """

    __slots__ = ("_anchor", "_cache", "_keys", "_path", "_serial", "_stamp")

    def __init__(
        self,
        keys: Iterable[PublicKey],
        *,
        path: Path | None = None,
        anchor: TrustAnchor | None = None,
    ) -> None:
        self._keys: dict[str, PublicKey] = {}
        self._cache: dict[str, Ed25519PublicKey] = {}
        self._path = path
        self._anchor = anchor
        self._stamp: tuple[int, int, int] | None = None
        self._serial = -1
        self._set(keys)

    def _set(self, keys: Iterable[PublicKey]) -> None:
        fresh: dict[str, PublicKey] = {}
        for key in keys:
            if key.key_id in fresh:
                raise KeyringRefused(f"key id {key.key_id} is listed twice in the public keyring")
            fresh[key.key_id] = key
        self._keys = fresh
        self._cache = {}

    def __repr__(self) -> str:
        return f"PublicKeyring(<{len(self._keys)} keys, serial {self._serial}>)"

    # ----- loading

    @classmethod
    def load(cls, path: Path, *, anchor: TrustAnchor | None = None) -> PublicKeyring:
        """Read a signed public keyring: a reader's directory or the file itself.

        The trust anchor is ``anchor`` or the ``trust-anchor.json`` beside the file. A
        directory is checked first (0700/0600, no other organisation's private key).
        """
        if path.is_dir():
            path = resolve_reader_dir(path) / PUBLIC_KEYRING_FILE
        elif not path.exists() and not path.parent.exists():
            raise KeyringError(f"no keyring at {path}; run `cxbroker keys init`")
        if not path.exists():
            raise KeyringError(
                f"no public keyring at {path}; install one with `cxbroker keys install`"
            )
        if anchor is None:
            anchor = load_anchor(path.parent / TRUST_ANCHOR_FILE)
        keyring = cls((), path=path, anchor=anchor)
        keyring._reload(strict=True)
        return keyring

    @property
    def serial(self) -> int:
        """The serial of the loaded file (-1 when built in memory)."""
        return self._serial

    def _reload(self, *, strict: bool) -> None:
        assert self._path is not None and self._anchor is not None
        try:
            stamp = _file_stamp(self._path)
            data = self._path.read_bytes()
        except FileNotFoundError:
            raise KeyringError(
                f"no public keyring at {self._path}; install one with `cxbroker keys install`"
            ) from None
        try:
            body = verified_body(data, self._anchor, f"public keyring {self._path}")
            if body.serial < self._serial:
                raise KeyringRefused(
                    f"public keyring {self._path} has serial {body.serial}, older than the "
                    f"loaded {self._serial} (a rollback?); refusing it"
                )
            keys = keys_of(body)
            PublicKeyring(keys)  # duplicates refused before anything changes
        except KeyringRefused as exc:
            self._stamp = stamp  # do not retry the same bad file on every record
            if strict:
                raise
            _log.warning("%s; keeping the keyring of serial %s", exc, self._serial)
            return
        self._set(keys)
        self._serial = body.serial
        self._stamp = stamp

    def refresh(self) -> None:
        """Re-read the file now if it changed (a refused file leaves the keyring as it was)."""
        if self._path is not None and self._changed():
            self._reload(strict=False)

    def to_json(self) -> bytes:
        """The keys as an unsigned list (for display; readers load only signed files)."""
        entries = [k.entry().model_dump(mode="json") for k in self.entries(None)]
        return (json.dumps({"entries": entries}, indent=2) + "\n").encode()

    # ----- queries

    def entries(self, use: str | None = "signing") -> tuple[PublicKey, ...]:
        """The public keys of ``use`` (signing by default; None: all), by owner, oldest
        first within an owner."""
        chosen = (k for k in self._keys.values() if use is None or k.use == use)
        return tuple(sorted(chosen, key=lambda k: (k.owner, k.use, k.created_at)))

    def key(self, key_id: str) -> PublicKey | None:
        """The public key with this id, or None."""
        return self._keys.get(key_id)

    def _lookup(self, key_id: str) -> tuple[PublicKey, Ed25519PublicKey] | None:
        if self._path is not None:
            self.refresh()
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

    def verify_bytes(
        self,
        key_id: str,
        data: bytes,
        signature: bytes,
        *,
        agency: str,
        at: datetime | None = None,
    ) -> None:
        """Verify an Ed25519 ``signature`` of ``data`` by ``agency``'s key ``key_id``.

        ``at`` is the record's time (its Kafka timestamp; now when unknown): a key revoked
        at or before it, or expired before it, refuses the record.
        """
        self.verify_owned(key_id, data, signature, owner=Owner("agency", agency), at=at)

    def verify_owned(
        self, key_id: str, data: bytes, signature: bytes, *, owner: Owner, at: datetime | None
    ) -> None:
        """:meth:`verify_bytes` for any owner kind (joiner and insights deployments too)."""
        found = self._lookup(key_id)
        if found is None:
            raise UnknownSigningKey(
                f"signing key {shown_key_id(key_id.encode('ascii', 'replace'))} is not in the "
                "public keyring; install the current one with `cxbroker keys install`"
            )
        entry, public_key = found
        if entry.owner != owner:
            raise SigningKeyAgencyMismatch(
                f"signing key {entry.key_id} belongs to {entry.owner.urn}, "
                "not to the record's source"
            )
        if entry.use != "signing":
            raise KeyUseMismatch(f"key {entry.key_id} is an {entry.use} key, not a signing key")
        # The record's time, but never later than now: a record cannot have been signed
        # in the future, and a forward-dated timestamp must not dodge an expiry.
        now = datetime.now(UTC)
        when = min(at, now) if at is not None else now
        if entry.revoked_at is not None and when >= entry.revoked_at:
            raise KeyRevoked(
                f"signing key {entry.key_id} was revoked at {iso(entry.revoked_at)} "
                f"({entry.revocation_reason or 'no reason given'})"
            )
        if when > entry.not_after:
            raise KeyExpired(f"signing key {entry.key_id} expired at {iso(entry.not_after)}")
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            raise SignatureInvalid(
                f"the signature does not verify with key {entry.key_id}: "
                "the record was changed after signing or signed with another key"
            ) from None

    def verify(self, record: Record, *, at: datetime | None = None) -> None:
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
        try:
            owner = Owner("agency", agency)
        except KeyringError:
            raise SignatureInvalid("ce_source does not name an agency") from None
        self.verify_owned(key_id, signing_input(record), signature, owner=owner, at=at)


def _file_stamp(path: Path) -> tuple[int, int, int]:
    """Identity of a file version: the keyring is replaced by rename, so the inode changes
    even when the clock's granularity hides the new modification time."""
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size
