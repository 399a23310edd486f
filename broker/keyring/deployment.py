"""Signing keys of the joiner and insights deployments, and verification of their records.

Snapshots on ``cx.joined.*`` and cells and manifests on ``cx.insights.*`` are signed by the
deployment that wrote them, in the CX-SIG-V1 format of ``contracts/SIGNING.md`` (the same
signing input as agency events). Owners are ``urn:cx:joiner:<name>`` and
``urn:cx:insights:<name>``. Files, beside the agencies' keys in the keyring directory::

    <dir>/deployments/<kind>/<name>/<key id>.json   private Ed25519 key (0600)
    <dir>/public-deployments.json                   the deployments' public keys (0600)

The public file travels with ``public-keyring.json``: a reader holds both. Format
(``version`` 1): ``{"version": 1, "owners": {"<owner URN>": [{"key_id", "public_key"
(base64 of 32 bytes), "created_at", "current"}]}}`` (``contracts/SIGNING.md``).

Rotation adds a key (the newest is current) and never removes one, so records signed
with an old key keep verifying. A verifier that meets an unknown key id re-reads the
public file once if it changed (a rotation while a reader runs).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
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
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    SigningKeyMissing,
    UnknownSigningKey,
)
from broker.files import write_atomic
from broker.keyring.files import DIR_MODE, FILE_MODE, decode_key_bytes
from broker.keyring.ids import new_key_id, shown_key_id
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE
from contracts.privacy import KEY_ID_PATTERN
from contracts.provenance import DEPLOYMENT_SOURCE_PATTERN, DeploymentKind, deployment_source
from contracts.signing import signing_bytes

__all__ = [
    "DEPLOYMENTS_DIR",
    "PUBLIC_DEPLOYMENTS_FILE",
    "DeploymentKey",
    "DeploymentKeys",
    "DeploymentSigner",
    "DeploymentVerifier",
]

DEPLOYMENTS_DIR: Final = "deployments"
PUBLIC_DEPLOYMENTS_FILE: Final = "public-deployments.json"
_SOURCE: Final = re.compile(DEPLOYMENT_SOURCE_PATTERN)

_Urn = Annotated[str, StringConstraints(pattern=DEPLOYMENT_SOURCE_PATTERN)]
_KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]


class _PrivateFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["deployment-signing"] = "deployment-signing"
    owner: _Urn
    key_id: _KeyId
    sequence: int
    created_at: AwareDatetime
    private_key: SecretStr  # standard base64 of the raw 32-byte Ed25519 private key


class _PublicEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: _KeyId
    public_key: str
    created_at: AwareDatetime
    current: bool


class _PublicFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    owners: dict[_Urn, list[_PublicEntry]]


@dataclass(frozen=True, slots=True)
class DeploymentKey:
    """One public key of a deployment."""

    owner: str
    key_id: str
    public_key: bytes
    created_at: datetime
    current: bool


class DeploymentSigner:
    """Signs a deployment's records with its current key (CX-SIG-V1)."""

    __slots__ = ("_key", "_key_id", "key_id", "owner")

    def __init__(self, owner: str, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.owner = owner
        self.key_id = key_id
        self._key_id = key_id.encode("ascii")
        self._key = private_key

    def __repr__(self) -> str:
        return f"DeploymentSigner(owner={self.owner!r}, key_id={self.key_id!r}, <redacted>)"

    __str__ = __repr__

    def sign(
        self, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        """``headers`` (unsigned, ``ce_source`` this owner) with ``ce_cxkeyid`` and
        ``ce_cxsig`` appended."""
        keyed = [*headers, (HEADER_KEYID, self._key_id)]
        signature = self._key.sign(signing_bytes(key, value, keyed))
        keyed.append((HEADER_SIG, base64.b64encode(signature)))
        return keyed

    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _owner(kind: DeploymentKind, name: str) -> str:
    try:
        return deployment_source(kind, name)
    except ValueError as exc:
        raise KeyringError(f"not a {kind} deployment name: {exc}") from None


def _raw_private(file: _PrivateFile) -> Ed25519PrivateKey:
    raw = decode_key_bytes(file.private_key.get_secret_value(), 32, f"private key {file.key_id}")
    return Ed25519PrivateKey.from_private_bytes(raw)


class DeploymentKeys:
    """The deployments' private keys in a keyring directory: create, rotate, sign, export."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DeploymentKeys({str(self.path)!r})"

    def _dir(self, owner: str) -> Path:
        match = _SOURCE.match(owner)
        if match is None:
            raise KeyringError("not a deployment owner (urn:cx:joiner|insights:<name>)")
        return self.path / DEPLOYMENTS_DIR / match.group(1) / owner.rsplit(":", 1)[1]

    def _files(self, owner: str) -> list[_PrivateFile]:
        folder = self._dir(owner)
        if not folder.is_dir():
            return []
        loaded = []
        for file in sorted(folder.glob("*.json")):
            if os.stat(file).st_mode & 0o077:
                raise KeyringError(f"{file} is accessible by other users; chmod 600 it")
            try:
                loaded.append(_PrivateFile.model_validate_json(file.read_bytes()))
            except PydanticValidationError:
                raise KeyringError(f"key file {file} is malformed") from None
        return sorted(loaded, key=lambda f: f.sequence)

    def owners(self) -> list[str]:
        """Every deployment with a key here, as owner URNs."""
        base = self.path / DEPLOYMENTS_DIR
        found = []
        for kind in ("insights", "joiner"):
            if (base / kind).is_dir():
                found += [f"urn:cx:{kind}:{p.name}" for p in sorted((base / kind).iterdir())]
        return found

    def init(self, kind: DeploymentKind, name: str, *, now: datetime | None = None) -> str | None:
        """Create ``urn:cx:<kind>:<name>``'s first key unless it has one; its id or None."""
        owner = _owner(kind, name)
        if self._files(owner):
            return None
        # Processes of one deployment (joiner instances) may start together: the one that
        # loses the race to create the first key uses the winner's.
        return self._new_key(owner, now or datetime.now(UTC), first=True)

    def rotate(self, kind: DeploymentKind, name: str, *, now: datetime | None = None) -> str:
        """A new current key for the deployment; its old public keys keep verifying."""
        owner = _owner(kind, name)
        if not self._files(owner):
            raise SigningKeyMissing(f"deployment {owner} has no signing key to rotate")
        key_id = self._new_key(owner, now or datetime.now(UTC))
        assert key_id is not None  # only a first key may lose a race silently
        return key_id

    def signer(self, kind: DeploymentKind, name: str, *, create: bool = False) -> DeploymentSigner:
        """A signer with the deployment's current key (``create``: make one if none)."""
        owner = _owner(kind, name)
        if create:
            self.init(kind, name)
        files = self._files(owner)
        if not files:
            raise SigningKeyMissing(
                f"no signing key for deployment {owner} in {self.path}; "
                f"run `cxbroker keys deployment init {kind} {name}`"
            )
        return DeploymentSigner(owner, files[-1].key_id, _raw_private(files[-1]))

    def public_keys(self) -> list[DeploymentKey]:
        """Every deployment's public keys, oldest first per owner."""
        keys = []
        for owner in self.owners():
            files = self._files(owner)
            for i, f in enumerate(files):
                public = _raw_private(f).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                keys.append(
                    DeploymentKey(owner, f.key_id, public, f.created_at, i == len(files) - 1)
                )
        return keys

    def export_public(self, destination: Path | None = None) -> Path:
        """Write the deployments' public keys (0644: no secret) into ``destination`` (a
        directory or file; default: the keyring directory) and return the file."""
        target = destination or self.path
        target = target / PUBLIC_DEPLOYMENTS_FILE if target.is_dir() else target
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, _to_json(self.public_keys()), mode=FILE_MODE)
        return target

    def _new_key(self, owner: str, now: datetime, *, first: bool = False) -> str | None:
        folder = self._dir(owner)
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        for parent in (folder, folder.parent, folder.parent.parent):
            os.chmod(parent, DIR_MODE)
        kind, name = owner.split(":")[2:4]
        sequence = len(self._files(owner)) + 1
        key_id = new_key_id(f"{kind}-", name, "-sig", now, sequence)
        private = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        document = _PrivateFile(
            owner=owner,
            key_id=key_id,
            sequence=sequence,
            created_at=now,
            private_key=SecretStr(base64.b64encode(private).decode("ascii")),
        ).model_dump(mode="json")
        document["private_key"] = base64.b64encode(private).decode("ascii")
        try:
            write_atomic(
                folder / f"{key_id}.json",
                (json.dumps(document, indent=2) + "\n").encode(),
                mode=FILE_MODE,
                replace=False,
            )
        except FileExistsError:
            if first:
                return None
            raise KeyringError(f"key {key_id} already exists (a concurrent rotation?)") from None
        self.export_public()
        return key_id


def _to_json(keys: Iterable[DeploymentKey]) -> bytes:
    owners: dict[str, list[dict[str, object]]] = {}
    for key in keys:
        owners.setdefault(key.owner, []).append(
            {
                "key_id": key.key_id,
                "public_key": base64.b64encode(key.public_key).decode("ascii"),
                "created_at": key.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "current": key.current,
            }
        )
    return (json.dumps({"version": 1, "owners": owners}, indent=2) + "\n").encode()


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


class DeploymentVerifier:
    """The deployments' public keys (``public-deployments.json``); verifies their records.

    A missing file means no deployment key yet: every record is then rejected as signed
    by an unknown key, and the file is read again once it appears or changes.
    """

    __slots__ = ("_keys", "_loaded", "_path", "_stamp")

    def __init__(self, path: Path) -> None:
        self._path = path / PUBLIC_DEPLOYMENTS_FILE if path.is_dir() else path
        self._keys: dict[str, DeploymentKey] = {}
        self._loaded: dict[str, Ed25519PublicKey] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._reload()

    def __repr__(self) -> str:
        return f"DeploymentVerifier(<{len(self._keys)} keys>)"

    def _reload(self) -> None:
        stamp = _stamp(self._path)
        self._stamp = stamp
        if stamp is None:
            self._keys, self._loaded = {}, {}
            return
        try:
            parsed = _PublicFile.model_validate_json(self._path.read_bytes())
        except PydanticValidationError as exc:
            raise KeyringError(
                f"{self._path.name} is malformed ({exc.error_count()} problems)"
            ) from None
        keys = {}
        for owner, entries in parsed.owners.items():
            for e in entries:
                raw = decode_key_bytes(e.public_key, 32, f"public key {e.key_id}")
                keys[e.key_id] = DeploymentKey(owner, e.key_id, raw, e.created_at, e.current)
        self._keys, self._loaded = keys, {}

    def keys(self) -> tuple[DeploymentKey, ...]:
        """Every known deployment public key."""
        return tuple(self._keys.values())

    def _lookup(self, key_id: str) -> tuple[DeploymentKey, Ed25519PublicKey] | None:
        entry = self._keys.get(key_id)
        if entry is None and _stamp(self._path) != self._stamp:
            self._reload()
            entry = self._keys.get(key_id)
        if entry is None:
            return None
        loaded = self._loaded.get(key_id)
        if loaded is None:
            loaded = self._loaded[key_id] = Ed25519PublicKey.from_public_bytes(entry.public_key)
        return entry, loaded

    def verify(
        self, key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes | None]]
    ) -> str:
        """Verify a deployment's record; return its owner URN or raise
        :class:`~broker.errors.SignatureInvalid` (a subclass names the reason)."""
        plain = [(n, v) for n, v in headers if v is not None]
        found = dict(plain)
        raw_key_id, raw_sig = found.get(HEADER_KEYID), found.get(HEADER_SIG)
        if raw_key_id is None or raw_sig is None:
            raise SignatureMissing("the record has no ce_cxkeyid or no ce_cxsig header")
        key_id = shown_key_id(raw_key_id)
        if key_id.startswith("<"):
            raise UnknownSigningKey("ce_cxkeyid is not a key id")
        owner = found.get(HEADER_SOURCE, b"").decode("ascii", "replace")
        if not _SOURCE.match(owner):
            raise SignatureInvalid("ce_source does not name a joiner or insights deployment")
        try:
            signature = base64.b64decode(raw_sig, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureInvalid("ce_cxsig is not standard base64") from None
        if len(signature) != 64:
            raise SignatureInvalid("ce_cxsig does not hold a 64-byte Ed25519 signature")
        looked = self._lookup(key_id)
        if looked is None:
            raise UnknownSigningKey(
                f"signing key {key_id} is not among the deployments' public keys; "
                "refresh public-deployments.json"
            )
        entry, public = looked
        if entry.owner != owner:
            raise SigningKeyAgencyMismatch(
                f"signing key {key_id} belongs to {entry.owner}, not to the record's source"
            )
        try:
            public.verify(signature, signing_bytes(key or b"", value or b"", plain))
        except InvalidSignature:
            raise SignatureInvalid(
                f"the signature does not verify with key {key_id}: "
                "the record was changed after signing or signed with another key"
            ) from None
        return owner
