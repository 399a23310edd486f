"""The key store: a directory of private keys, created, rotated and read with safe modes.

Agency signing keys (Ed25519), agency record-id secrets (HMAC keys of event ids) and
life-experience linkage keys (HMAC secrets), one file per key (layout and formats in
:mod:`broker.keyring.files`). Rotation adds a key (record-id secrets are never rotated):
the newest key of an owner is its *current* key, older ones stay. Old public keys keep verifying the
records they signed; old linkage keys stay listed so a token can be attributed to the key
id recorded with it. The store also writes the public keyring file consumers read.

Private material is never printed or logged: every object that holds it has a redacted
repr, and a key file or directory others could read is refused.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from broker.errors import KeyringError, LinkageKeyMissing, RecordIdKeyMissing, SigningKeyMissing
from broker.files import write_atomic
from broker.keyring.files import (
    DIR_MODE,
    FILE_MODE,
    LINKAGE_DIR,
    PUBLIC_KEYRING_FILE,
    RECORD_ID_DIR,
    SIGNING_DIR,
    LinkageKeyFile,
    RecordIdKeyFile,
    SigningKeyFile,
    decode_key_bytes,
)
from broker.keyring.ids import new_key_id, shown_key_id
from broker.keyring.linkage import LinkageKey
from broker.keyring.public import PublicKey, PublicKeyring
from broker.keyring.recordid import RecordIdKey
from broker.keyring.signer import Signer
from contracts.catalog import AGENCY_ID_PATTERN, LIFE_EXPERIENCE_ID_PATTERN

__all__ = ["InitResult", "Keyring"]


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``keys init`` created (key ids only)."""

    signing: tuple[str, ...]
    linkage: tuple[str, ...]
    record_id: tuple[str, ...] = ()

    @property
    def created_anything(self) -> bool:
        """True when at least one key was created."""
        return bool(self.signing or self.linkage or self.record_id)


def _check_mode(path: Path, allowed: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise KeyringError(
            f"{path} is accessible by other users (mode {mode:o}); "
            f"run `chmod {allowed:o} {path}` and rotate the keys if others may have read them"
        )


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (mode 0600, must not exist yet) atomically with ``data``, fsync'd."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    write_atomic(path, data, mode=FILE_MODE, replace=False)


def _replace_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
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

        An agency gets a signing key and a record-id secret. Idempotent: a second run with
        the same arguments creates nothing (an older keyring gains the record-id secrets).
        """
        now = now or datetime.now(UTC)
        self._ensure_dir()
        agencies = tuple(dict.fromkeys(agencies))
        signing = tuple(
            self._new_signing_key(agency, now)
            for agency in agencies
            if not self._signing_files(agency)
        )
        record_id = tuple(
            self._new_record_id_key(agency, now)
            for agency in agencies
            if not self._record_id_files(agency)
        )
        linkage = tuple(
            self._new_linkage_key(le, now)
            for le in dict.fromkeys(life_experiences)
            if not self._linkage_files(le)
        )
        if signing or not (self.path / PUBLIC_KEYRING_FILE).exists():
            self._write_public_keyring()
        return InitResult(signing, linkage, record_id)

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
        raw = decode_key_bytes(
            current.private_key.get_secret_value(), 32, f"private key {current.key_id}"
        )
        return Signer(agency, current.key_id, Ed25519PrivateKey.from_private_bytes(raw))

    def record_id_key(self, agency: str) -> RecordIdKey:
        """``agency``'s record-id secret: the key of the ids of its published events."""
        self._require_dir()
        files = self._record_id_files(agency)
        if not files:
            raise RecordIdKeyMissing(
                f"no record-id secret for agency {agency} in {self.path}; "
                f"run `cxbroker keys init --agencies {agency}`"
            )
        first = files[0]  # never rotated: a new secret would give re-sent records new ids
        secret = decode_key_bytes(first.secret.get_secret_value(), 32, f"secret {first.key_id}")
        return RecordIdKey(first.key_id, agency, secret, first.created_at)

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
                secret=decode_key_bytes(f.secret.get_secret_value(), 32, f"linkage key {f.key_id}"),
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
        raise LinkageKeyMissing(f"no linkage key {shown_key_id(key_id.encode())} in {self.path}")

    def agencies(self) -> list[str]:
        """Agencies with signing keys."""
        return self._owners(SIGNING_DIR)

    def life_experiences(self) -> list[str]:
        """Life experiences with linkage keys."""
        return self._owners(LINKAGE_DIR)

    def public_keyring(self) -> PublicKeyring:
        """The public keyring file of this directory."""
        self._require_dir()
        return PublicKeyring.load(self.path / PUBLIC_KEYRING_FILE)

    # ----- internals

    def _ensure_dir(self) -> None:
        self.path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask, and an existing dir may be wider.
        os.chmod(self.path, DIR_MODE)
        for sub in (SIGNING_DIR, LINKAGE_DIR, RECORD_ID_DIR):
            (self.path / sub).mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(self.path / sub, DIR_MODE)

    def _require_dir(self) -> None:
        if not self.path.is_dir():
            raise KeyringError(f"no keyring at {self.path}; run `cxbroker keys init`")
        _check_mode(self.path, DIR_MODE)

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
            _check_mode(file, FILE_MODE)
            try:
                loaded.append(model.model_validate_json(file.read_bytes()))
            except PydanticValidationError:
                raise KeyringError(f"key file {file} is malformed") from None
        return sorted(loaded, key=lambda f: f.sequence)

    def _signing_files(self, agency: str) -> list[SigningKeyFile]:
        return self._read_files(self.path / SIGNING_DIR / agency, SigningKeyFile)

    def _linkage_files(self, life_experience: str) -> list[LinkageKeyFile]:
        return self._read_files(self.path / LINKAGE_DIR / life_experience, LinkageKeyFile)

    def _record_id_files(self, agency: str) -> list[RecordIdKeyFile]:
        return self._read_files(self.path / RECORD_ID_DIR / agency, RecordIdKeyFile)

    def _new_record_id_key(self, agency: str, now: datetime) -> str:
        if not re.match(AGENCY_ID_PATTERN, agency):
            raise KeyringError(f"not an agency id: {agency!r}")
        key_id = new_key_id("", agency, "-rid", now, 1)
        content = RecordIdKeyFile(
            agency=agency,
            key_id=key_id,
            sequence=1,
            created_at=now,
            secret=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode("ascii")),
        )
        self._write_key(self.path / RECORD_ID_DIR / agency / f"{key_id}.json", content, "secret")
        return key_id

    def _new_signing_key(self, agency: str, now: datetime) -> str:
        if not re.match(AGENCY_ID_PATTERN, agency):
            raise KeyringError(f"not an agency id: {agency!r}")
        sequence = len(self._signing_files(agency)) + 1
        key_id = new_key_id("", agency, "-sig", now, sequence)
        private = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        content = SigningKeyFile(
            agency=agency,
            key_id=key_id,
            sequence=sequence,
            created_at=now,
            private_key=SecretStr(base64.b64encode(private).decode("ascii")),
        )
        self._write_key(self.path / SIGNING_DIR / agency / f"{key_id}.json", content, "private_key")
        return key_id

    def _new_linkage_key(self, life_experience: str, now: datetime) -> str:
        if not re.match(LIFE_EXPERIENCE_ID_PATTERN, life_experience):
            raise KeyringError(f"not a life-experience id: {life_experience!r}")
        sequence = len(self._linkage_files(life_experience)) + 1
        key_id = new_key_id("lk-", life_experience, "", now, sequence)
        content = LinkageKeyFile(
            life_experience=life_experience,
            key_id=key_id,
            sequence=sequence,
            created_at=now,
            secret=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode("ascii")),
        )
        self._write_key(
            self.path / LINKAGE_DIR / life_experience / f"{key_id}.json", content, "secret"
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
                raw = decode_key_bytes(
                    f.private_key.get_secret_value(), 32, f"private key {f.key_id}"
                )
                public = (
                    Ed25519PrivateKey.from_private_bytes(raw)
                    .public_key()
                    .public_bytes(Encoding.Raw, PublicFormat.Raw)
                )
                keys.append(PublicKey(agency, f.key_id, public, f.created_at, i == len(files) - 1))
        return PublicKeyring(keys)

    def _write_public_keyring(self) -> None:
        _replace_file(self.path / PUBLIC_KEYRING_FILE, self._public_keyring().to_json())
