"""Linkage keys of an agency: make and wrap one for the life experience, accept one.

The *ceremony* (README "Keys across organisations", ``producers/deid/TOKENS.md``): one
agency of a life experience makes the key (:meth:`LinkageStore.make`) and seals one
package per other participating agency, each for that agency's encryption key as listed
in the governance-signed public keyring; each participant opens its package
(:meth:`LinkageStore.accept`) and keeps the key 0600. No other party ever holds it.

Rotation is the same with ``sequence + 1`` and an overlap: until ``overlap_until`` the
agencies make tokens under the previous key as well (see :meth:`LinkageStore.token_keys`),
so journeys in flight do not split. The package, signed by the agency that made the key,
is the signed statement of which key id is current.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from broker.errors import KeyringError, KeyringRefused, LinkageKeyMissing
from broker.keyring.files import LINKAGE_DIR, LinkageKeyFile, decode_key_bytes
from broker.keyring.ids import new_key_id, shown_key_id
from broker.keyring.linkage import LinkageKey
from broker.keyring.org import OrgKeys
from broker.keyring.orgdir import write_json_secret
from broker.keyring.owners import Owner
from broker.keyring.public import PublicKeyring
from broker.keyring.secretfiles import read_secret
from broker.keyring.signed import iso
from broker.keyring.wrap import open_package, package_body, seal_package
from contracts.catalog import load_catalog

__all__ = ["LinkageStore"]


class LinkageStore:
    """The linkage keys an agency holds, in its organisation directory."""

    __slots__ = ("org",)

    def __init__(self, org: OrgKeys) -> None:
        self.org = org

    @property
    def base(self) -> Path:
        """``<dir>/linkage``."""
        return self.org.path / LINKAGE_DIR

    # ----- reading

    def files(self, life_experience: str) -> list[LinkageKeyFile]:
        """The key files of ``life_experience``, oldest first."""
        directory = self.base / life_experience
        if not directory.is_dir():
            return []
        loaded = []
        for file in sorted(directory.glob("*.json")):
            try:
                loaded.append(LinkageKeyFile.model_validate_json(read_secret(file)))
            except PydanticValidationError:
                raise KeyringRefused(f"key file {file} is malformed") from None
        return sorted(loaded, key=lambda f: f.sequence)

    def life_experiences(self) -> list[str]:
        """Life experiences with linkage keys here."""
        if not self.base.is_dir():
            return []
        return sorted(p.name for p in self.base.iterdir() if p.is_dir())

    def history(self, life_experience: str) -> tuple[LinkageKey, ...]:
        """Every key of ``life_experience``, oldest first; the last one is current."""
        files = self.files(life_experience)
        return tuple(
            LinkageKey(
                key_id=f.key_id,
                life_experience=f.life_experience,
                secret=decode_key_bytes(f.secret.get_secret_value(), 32, f"linkage key {f.key_id}"),
                created_at=f.created_at,
                current=i == len(files) - 1,
                overlap_until=f.overlap_until,
            )
            for i, f in enumerate(files)
        )

    def token_keys(self, life_experience: str, now: datetime | None = None) -> list[LinkageKey]:
        """The keys to make tokens under now: the current one, and during a rotation's
        overlap the previous one too (current first)."""
        history = self.history(life_experience)
        if not history:
            return []
        current = history[-1]
        when = now or datetime.now(UTC)
        overlap = current.overlap_until
        if len(history) > 1 and overlap is not None and when < overlap:
            return [current, history[-2]]
        return [current]

    # ----- the ceremony

    def make(
        self,
        life_experience: str,
        keyring: PublicKeyring,
        *,
        overlap: timedelta | None = None,
        now: datetime | None = None,
        recipients: list[str] | None = None,
    ) -> tuple[str, dict[str, dict[str, Any]]]:
        """Make the next linkage key of ``life_experience``, keep it, and seal it for every
        other participant the public keyring lists (or only ``recipients``, each of which
        must be listed); returns the key id and the packages by recipient agency.

        A first key has no overlap; a rotation's ``overlap`` (default: the life
        experience's journey window) is when tokens of both keys are made. A participant
        onboarded later gets the current key with :meth:`share`.
        """
        owner = self.org.check()
        life = load_catalog().life_experience(life_experience)
        if owner.id not in life.agencies:
            raise KeyringRefused(f"{owner.urn} takes no part in {life_experience}")
        now = now or datetime.now(UTC)
        sequence = len(self.files(life_experience)) + 1
        if sequence > 1 and overlap is None:
            overlap = life.window
        overlap_until = now + overlap if sequence > 1 and overlap is not None else None
        key_id = new_key_id("lk-", life_experience, "", now, sequence)
        secret = secrets.token_bytes(32)
        self._store(life_experience, key_id, sequence, now, owner, owner, overlap_until, secret)
        listed = {k.owner.id for k in keyring.entries("encryption") if k.owner.kind == "agency"}
        chosen = recipients if recipients is not None else [a for a in life.agencies if a in listed]
        return key_id, {
            agency: self.share(key_id, agency, keyring) for agency in chosen if agency != owner.id
        }

    def share(self, key_id: str, agency: str, keyring: PublicKeyring) -> dict[str, Any]:
        """The package of the held key ``key_id`` for ``agency`` (a participant of its life
        experience whose encryption key the verified public keyring lists)."""
        owner = self.org.check()
        key = self.key(key_id)
        if agency not in load_catalog().life_experience(key.life_experience).agencies:
            raise KeyringRefused(f"agency {agency} takes no part in {key.life_experience}")
        recipient = _encryption_entry(keyring, Owner("agency", agency))
        signer = self.org.signer()
        meta = {
            "life_experience": key.life_experience,
            "key_id": key.key_id,
            "sequence": next(
                f.sequence for f in self.files(key.life_experience) if f.key_id == key_id
            ),
            "created_at": iso(key.created_at),
            "overlap_until": iso(key.overlap_until) if key.overlap_until else None,
            "sender": owner.urn,
            "sender_key_id": signer.key_id,
            "recipient": f"urn:cx:agency:{agency}",
            "recipient_key_id": recipient.key_id,
        }
        return seal_package(key.secret, meta, recipient.public_key, signer.sign_bytes)

    def accept(self, package: dict[str, Any], keyring: PublicKeyring) -> str:
        """Open a package addressed to this agency and keep its key; returns the key id.

        Refused (one line, nothing stored) unless: it is addressed to this directory's
        owner, it names a life experience the owner takes part in, its sender is an agency
        of that life experience whose signing key (in the verified public keyring,
        not revoked) signed it, and it opens with the owner's encryption key.
        """
        owner = self.org.check()
        body = package_body(package)
        if body["recipient"] != owner.urn:
            raise KeyringRefused(f"the linkage package is not addressed to {owner.urn}")
        life = load_catalog().life_experience(str(body["life_experience"]))
        sender = Owner.parse(str(body["sender"]))
        if (
            owner.id not in life.agencies
            or sender.kind != "agency"
            or sender.id not in life.agencies
        ):
            raise KeyringRefused("the linkage package's sender or recipient takes no part in it")
        entry = keyring.key(str(body["sender_key_id"]))
        if entry is None or entry.owner != sender or entry.use != "signing" or entry.revoked_at:
            raise KeyringRefused(
                "the linkage package's signing key is not a valid key of its sender "
                "in the public keyring; refusing it"
            )
        secret = open_package(
            package,
            self.org.encryption_key(str(body["recipient_key_id"])),
            Ed25519PublicKey.from_public_bytes(entry.public_key),
        )
        key_id = shown_key_id(str(body["key_id"]).encode())
        if key_id.startswith("<"):
            raise KeyringRefused("the linkage package's key id is malformed; refusing it")
        if any(f.key_id == key_id for f in self.files(life.id)):
            raise KeyringError(f"linkage key {key_id} is already here")
        overlap = body["overlap_until"]
        self._store(
            life.id,
            key_id,
            int(body["sequence"]),
            datetime.fromisoformat(str(body["created_at"])),
            owner,
            sender,
            datetime.fromisoformat(overlap) if overlap else None,
            secret,
        )
        return key_id

    def _store(
        self,
        life_experience: str,
        key_id: str,
        sequence: int,
        created_at: datetime,
        holder: Owner,
        made_by: Owner,
        overlap_until: datetime | None,
        secret: bytes,
    ) -> None:
        content = LinkageKeyFile(
            life_experience=life_experience,
            key_id=key_id,
            sequence=sequence,
            created_at=created_at,
            holder=holder.urn,
            made_by=made_by.urn,
            overlap_until=overlap_until,
            secret=SecretStr(base64.b64encode(secret).decode("ascii")),
        )
        document = content.model_dump(mode="json")
        document["secret"] = content.secret.get_secret_value()
        write_json_secret(self.base / life_experience / f"{key_id}.json", document)

    def key(self, key_id: str) -> LinkageKey:
        """The linkage key with this id, current or not."""
        for le in self.life_experiences():
            for key in self.history(le):
                if key.key_id == key_id:
                    return key
        raise LinkageKeyMissing(
            f"no linkage key {shown_key_id(key_id.encode())} in {self.org.path}"
        )


def _encryption_entry(keyring: PublicKeyring, owner: Owner) -> Any:
    current = [k for k in keyring.entries("encryption") if k.owner == owner and k.current]
    if not current:
        raise KeyringRefused(
            f"the public keyring lists no encryption key of {owner.urn}; it must export "
            "its keys and the governance publish them first"
        )
    return current[-1]


def package_file_bytes(package: dict[str, Any]) -> bytes:
    """A package as the file that travels."""
    return (json.dumps(package, indent=2) + "\n").encode()
