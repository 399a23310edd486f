"""Keyring: agency signing keys (Ed25519) and life-experience linkage keys (HMAC secrets).

Layout of a keyring directory (mode 0700; every file 0600, written atomically)::

    <dir>/signing/<agency>/<key id>.json            private signing key of an agency
    <dir>/linkage/<life experience>/<key id>.json   linkage key (32 random bytes)
    <dir>/public-keyring.json                       the one file consumers read

Key ids are ``<agency>-sig-<YYYYMMDD>-<n>`` and ``lk-<life experience>-<YYYYMMDD>-<n>``
(``n`` counts the owner's keys). Rotation adds a key: the newest key of an owner is its
*current* key, older ones stay. Old public keys keep verifying the records they signed; old
linkage keys stay listed so a token can be attributed to the key id recorded with it.

The public keyring file (``version`` 1) maps each agency to its public keys::

    {"version": 1, "agencies": {"ssa": [{"key_id": "ssa-sig-20261125-1",
      "public_key": "<standard base64 of the raw 32-byte Ed25519 key>",
      "created_at": "2026-11-25T10:00:00Z", "current": true}]}}

Signing follows ``contracts/SIGNING.md``: Ed25519 over :func:`contracts.signing.signing_input`,
``ce_cxkeyid`` and ``ce_cxsig`` (standard base64) added to the record. Private material is
never printed or logged: every object that holds it has a redacted repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from broker.errors import (
    KeyringError,
    LinkageKeyMissing,
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    SigningKeyMissing,
    UnknownSigningKey,
)
from broker.files import write_atomic
from contracts.catalog import AGENCY_ID_PATTERN, LIFE_EXPERIENCE_ID_PATTERN
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE, Record, with_key_id
from contracts.privacy import KEY_ID_PATTERN
from contracts.signing import signing_bytes, signing_input

__all__ = [
    "PUBLIC_KEYRING_FILE",
    "InitResult",
    "Keyring",
    "LinkageKey",
    "PublicKey",
    "PublicKeyring",
    "Signer",
    "public_key_fingerprint",
]

PUBLIC_KEYRING_FILE: Final = "public-keyring.json"
_SIGNING_DIR: Final = "signing"
_LINKAGE_DIR: Final = "linkage"
_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600
_KEY_ID: Final = re.compile(KEY_ID_PATTERN)
_SOURCE_PREFIX: Final = b"urn:cx:agency:"


def _shown_key_id(raw: bytes | None) -> str:
    """A key id from an untrusted header, for messages: itself if well-formed, else a mark."""
    try:
        text = raw.decode("ascii") if raw is not None else ""
    except UnicodeDecodeError:
        return "<malformed key id>"
    return text if _KEY_ID.match(text) else "<malformed key id>"


# --------------------------------------------------------------------------- key objects


@dataclass(frozen=True, slots=True)
class LinkageKey:
    """A life experience's HMAC secret for journey tokens, with its key id.

    The secret never leaves the agency: its repr and str are redacted.
    """

    key_id: str
    life_experience: str
    secret: bytes = field(repr=False)
    created_at: datetime
    current: bool = True

    def __repr__(self) -> str:
        return (
            f"LinkageKey(key_id={self.key_id!r}, life_experience={self.life_experience!r}, "
            f"current={self.current}, secret=<redacted>)"
        )

    __str__ = __repr__


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


class Signer:
    """Signs records of one agency with its current key (``contracts/SIGNING.md``)."""

    __slots__ = ("_key", "_key_id", "_source", "agency", "key_id")

    def __init__(self, agency: str, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.agency = agency
        self.key_id = key_id
        self._key = private_key
        self._source = _SOURCE_PREFIX + agency.encode("ascii")
        self._key_id = key_id.encode("ascii")

    def __repr__(self) -> str:
        return f"Signer(agency={self.agency!r}, key_id={self.key_id!r}, private_key=<redacted>)"

    __str__ = __repr__

    def sign(self, record: Record) -> Record:
        """``record`` with ``ce_cxkeyid`` and ``ce_cxsig`` set; refuses other agencies' records."""
        if record.header(HEADER_SOURCE) != self._source:
            raise SigningKeyAgencyMismatch(
                f"refusing to sign: the record's ce_source is not agency {self.agency}"
            )
        present = record.header(HEADER_KEYID)
        if present is not None and present != self._key_id:
            raise ValueError("the record is already keyed with a different key id")
        # One keyed copy serves as the signing input's source and as the record sent
        # (signing_input + with_signature would each build it again).
        keyed = with_key_id(record, self.key_id)
        signature = self._key.sign(signing_bytes(keyed.key, keyed.value, keyed.headers))
        return Record(
            keyed.key, keyed.value, (*keyed.headers, (HEADER_SIG, base64.b64encode(signature)))
        )

    def public_key(self) -> bytes:
        """The raw 32-byte public key of this signer."""
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# --------------------------------------------------------------------------- public keyring


class _PublicKeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    public_key: str
    created_at: AwareDatetime
    current: bool


class _PublicKeyringFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    agencies: dict[
        Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)], list[_PublicKeyEntry]
    ]


def _b64decode(text: str, length: int, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not standard base64") from None
    if len(data) != length:
        raise KeyringError(f"{what} must hold {length} bytes")
    return data


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
                f"signing key {_shown_key_id(key_id.encode('ascii', 'replace'))} is not in the "
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
        key_id = _shown_key_id(raw_key_id)
        if key_id.startswith("<"):
            raise UnknownSigningKey("ce_cxkeyid is not a key id")
        source = record.header(HEADER_SOURCE) or b""
        if not source.startswith(_SOURCE_PREFIX):
            raise SignatureInvalid("ce_source does not name an agency")
        agency = source[len(_SOURCE_PREFIX) :].decode("ascii", "replace")
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
        parsed = _PublicKeyringFile.model_validate_json(data)
    except PydanticValidationError as exc:
        raise KeyringError(
            f"the public keyring file is malformed ({exc.error_count()} problems)"
        ) from None
    return [
        PublicKey(
            agency=agency,
            key_id=entry.key_id,
            public_key=_b64decode(entry.public_key, 32, f"public key {entry.key_id}"),
            created_at=entry.created_at,
            current=entry.current,
        )
        for agency, entries in parsed.agencies.items()
        for entry in entries
    ]


# --------------------------------------------------------------------------- private keyring


class _SigningKeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["signing"] = "signing"
    agency: Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    sequence: int
    created_at: AwareDatetime
    private_key: SecretStr  # standard base64 of the raw 32-byte Ed25519 private key


class _LinkageKeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["linkage"] = "linkage"
    life_experience: Annotated[str, StringConstraints(pattern=LIFE_EXPERIENCE_ID_PATTERN)]
    key_id: Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
    sequence: int
    created_at: AwareDatetime
    secret: SecretStr  # standard base64 of 32 random bytes


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``keys init`` created (key ids only)."""

    signing: tuple[str, ...]
    linkage: tuple[str, ...]

    @property
    def created_anything(self) -> bool:
        """True when at least one key was created."""
        return bool(self.signing or self.linkage)


def _key_id(prefix: str, owner: str, marker: str, when: datetime, sequence: int) -> str:
    tail = f"-{when.astimezone(UTC):%Y%m%d}-{sequence}"
    head = f"{prefix}{owner}{marker}" if prefix else f"{owner}{marker}"
    # Key ids are at most 64 characters; a long owner id is shortened (the file says whose).
    head = head[: 64 - len(tail)].rstrip("-.")
    key_id = head + tail
    assert _KEY_ID.match(key_id), "generated key id must match the key id pattern"
    return key_id


def _check_mode(path: Path, allowed: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise KeyringError(
            f"{path} is accessible by other users (mode {mode:o}); "
            f"run `chmod {allowed:o} {path}` and rotate the keys if others may have read them"
        )


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (mode 0600, must not exist yet) atomically with ``data``, fsync'd."""
    path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    write_atomic(path, data, mode=_FILE_MODE, replace=False)


def _replace_file(path: Path, data: bytes, mode: int = _FILE_MODE) -> None:
    """Write ``path`` atomically (temp file, fsync, rename), replacing any previous content."""
    write_atomic(path, data, mode=mode)


class Keyring:
    """A keyring directory: create, rotate and load signing and linkage keys.

    Creating the object touches nothing; :meth:`init` creates the directory and keys.
    """

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Keyring({str(self.path)!r})"

    # ----- creation and rotation

    def init(
        self,
        agencies: Iterable[str],
        life_experiences: Iterable[str],
        *,
        now: datetime | None = None,
    ) -> InitResult:
        """Create the directory and a key for every agency and life experience lacking one.

        Idempotent: a second run with the same arguments creates nothing.
        """
        now = now or datetime.now(UTC)
        self._ensure_dir()
        signing = tuple(
            self._new_signing_key(agency, now)
            for agency in dict.fromkeys(agencies)
            if not self._signing_files(agency)
        )
        linkage = tuple(
            self._new_linkage_key(le, now)
            for le in dict.fromkeys(life_experiences)
            if not self._linkage_files(le)
        )
        if signing or not (self.path / PUBLIC_KEYRING_FILE).exists():
            self._write_public_keyring()
        return InitResult(signing, linkage)

    def rotate_signing(self, agency: str, *, now: datetime | None = None) -> str:
        """Make a new current signing key for ``agency``; old public keys keep verifying."""
        self._require_dir()
        if not self._signing_files(agency):
            raise SigningKeyMissing(
                f"agency {agency} has no signing key to rotate; run `cxbroker keys init`"
            )
        key_id = self._new_signing_key(agency, now or datetime.now(UTC))
        self._write_public_keyring()
        return key_id

    def rotate_linkage(self, life_experience: str, *, now: datetime | None = None) -> str:
        """Make a new current linkage key for ``life_experience``; old ones stay listed."""
        self._require_dir()
        if not self._linkage_files(life_experience):
            raise LinkageKeyMissing(
                f"life experience {life_experience} has no linkage key to rotate; "
                "run `cxbroker keys init`"
            )
        return self._new_linkage_key(life_experience, now or datetime.now(UTC))

    def export_public(self, destination: Path) -> Path:
        """Write a copy of the public keyring (mode 0644: it holds no secret) and return it."""
        data = self._public_keyring().to_json()
        target = destination / PUBLIC_KEYRING_FILE if destination.is_dir() else destination
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace_file(target, data, mode=0o644)
        return target

    # ----- loading

    def signer(self, agency: str) -> Signer:
        """A signer with ``agency``'s current key."""
        self._require_dir()
        files = self._signing_files(agency)
        if not files:
            raise SigningKeyMissing(
                f"no signing key for agency {agency} in {self.path}; "
                f"run `cxbroker keys init --agencies {agency}`"
            )
        current = files[-1]
        raw = _b64decode(
            current.private_key.get_secret_value(), 32, f"private key {current.key_id}"
        )
        return Signer(agency, current.key_id, Ed25519PrivateKey.from_private_bytes(raw))

    def linkage_keys(self, life_experiences: Iterable[str] | None = None) -> dict[str, LinkageKey]:
        """The current linkage key of each life experience (all in the keyring by default)."""
        self._require_dir()
        chosen = list(life_experiences) if life_experiences is not None else self.life_experiences()
        keys: dict[str, LinkageKey] = {}
        for le in chosen:
            history = self.linkage_history(le)
            if not history:
                raise LinkageKeyMissing(
                    f"no linkage key for life experience {le} in {self.path}; "
                    "run `cxbroker keys init`"
                )
            keys[le] = history[-1]
        return keys

    def linkage_history(self, life_experience: str) -> tuple[LinkageKey, ...]:
        """Every linkage key of ``life_experience``, oldest first; the last one is current."""
        files = self._linkage_files(life_experience)
        return tuple(
            LinkageKey(
                key_id=f.key_id,
                life_experience=f.life_experience,
                secret=_b64decode(f.secret.get_secret_value(), 32, f"linkage key {f.key_id}"),
                created_at=f.created_at,
                current=i == len(files) - 1,
            )
            for i, f in enumerate(files)
        )

    def linkage_key(self, key_id: str) -> LinkageKey:
        """The linkage key with this id, current or not."""
        for le in self.life_experiences():
            for key in self.linkage_history(le):
                if key.key_id == key_id:
                    return key
        raise LinkageKeyMissing(f"no linkage key {_shown_key_id(key_id.encode())} in {self.path}")

    def agencies(self) -> list[str]:
        """Agencies with signing keys."""
        return self._owners(_SIGNING_DIR)

    def life_experiences(self) -> list[str]:
        """Life experiences with linkage keys."""
        return self._owners(_LINKAGE_DIR)

    def public_keyring(self) -> PublicKeyring:
        """The public keyring file of this directory."""
        self._require_dir()
        return PublicKeyring.load(self.path / PUBLIC_KEYRING_FILE)

    # ----- internals

    def _ensure_dir(self) -> None:
        self.path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask, and an existing dir may be wider.
        os.chmod(self.path, _DIR_MODE)
        for sub in (_SIGNING_DIR, _LINKAGE_DIR):
            (self.path / sub).mkdir(mode=_DIR_MODE, exist_ok=True)
            os.chmod(self.path / sub, _DIR_MODE)

    def _require_dir(self) -> None:
        if not self.path.is_dir():
            raise KeyringError(f"no keyring at {self.path}; run `cxbroker keys init`")
        _check_mode(self.path, _DIR_MODE)

    def _owners(self, kind: str) -> list[str]:
        base = self.path / kind
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _read_files(self, directory: Path, model: type[Any]) -> list[Any]:
        if not directory.is_dir():
            return []
        loaded = []
        for file in sorted(directory.glob("*.json")):
            _check_mode(file, _FILE_MODE)
            try:
                loaded.append(model.model_validate_json(file.read_bytes()))
            except PydanticValidationError:
                raise KeyringError(f"key file {file} is malformed") from None
        return sorted(loaded, key=lambda f: f.sequence)

    def _signing_files(self, agency: str) -> list[_SigningKeyFile]:
        return self._read_files(self.path / _SIGNING_DIR / agency, _SigningKeyFile)

    def _linkage_files(self, life_experience: str) -> list[_LinkageKeyFile]:
        return self._read_files(self.path / _LINKAGE_DIR / life_experience, _LinkageKeyFile)

    def _new_signing_key(self, agency: str, now: datetime) -> str:
        if not re.match(AGENCY_ID_PATTERN, agency):
            raise KeyringError(f"not an agency id: {agency!r}")
        sequence = len(self._signing_files(agency)) + 1
        key_id = _key_id("", agency, "-sig", now, sequence)
        private = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        content = _SigningKeyFile(
            agency=agency,
            key_id=key_id,
            sequence=sequence,
            created_at=now,
            private_key=SecretStr(base64.b64encode(private).decode("ascii")),
        )
        self._write_key(
            self.path / _SIGNING_DIR / agency / f"{key_id}.json", content, "private_key"
        )
        return key_id

    def _new_linkage_key(self, life_experience: str, now: datetime) -> str:
        if not re.match(LIFE_EXPERIENCE_ID_PATTERN, life_experience):
            raise KeyringError(f"not a life-experience id: {life_experience!r}")
        sequence = len(self._linkage_files(life_experience)) + 1
        key_id = _key_id("lk-", life_experience, "", now, sequence)
        content = _LinkageKeyFile(
            life_experience=life_experience,
            key_id=key_id,
            sequence=sequence,
            created_at=now,
            secret=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode("ascii")),
        )
        self._write_key(
            self.path / _LINKAGE_DIR / life_experience / f"{key_id}.json", content, "secret"
        )
        return key_id

    @staticmethod
    def _write_key(path: Path, content: BaseModel, secret_field: str) -> None:
        document = content.model_dump(mode="json")
        # model_dump renders SecretStr as "**********"; the file needs the real value.
        document[secret_field] = getattr(content, secret_field).get_secret_value()
        try:
            _write_private(path, (json.dumps(document, indent=2) + "\n").encode())
        except FileExistsError:
            raise KeyringError(
                f"key {path.stem} already exists (a concurrent rotation?); try again"
            ) from None

    def _public_keyring(self) -> PublicKeyring:
        keys: list[PublicKey] = []
        for agency in self.agencies():
            files = self._signing_files(agency)
            for i, f in enumerate(files):
                raw = _b64decode(f.private_key.get_secret_value(), 32, f"private key {f.key_id}")
                public = (
                    Ed25519PrivateKey.from_private_bytes(raw)
                    .public_key()
                    .public_bytes(Encoding.Raw, PublicFormat.Raw)
                )
                keys.append(PublicKey(agency, f.key_id, public, f.created_at, i == len(files) - 1))
        return PublicKeyring(keys)

    def _write_public_keyring(self) -> None:
        _replace_file(self.path / PUBLIC_KEYRING_FILE, self._public_keyring().to_json())
