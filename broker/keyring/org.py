"""An organisation's keys: create, export, pin the governance key, install the keyring.

:class:`OrgKeys` works on one organisation's directory (layout in
:mod:`broker.keyring.files`): an agency's signing and encryption keys, and every
organisation's trust anchor and signed public keyring. Linkage keys are in
:mod:`broker.keyring.linkstore`. Private keys are never printed or returned as text.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from broker.errors import KeyringRefused, RecordIdKeyMissing, SigningKeyMissing
from broker.files import write_atomic
from broker.keyring.deploysign import DEPLOYMENT_KINDS, DeploymentSigner
from broker.keyring.files import (
    ENCRYPTION_DIR,
    PUBLIC_KEYRING_FILE,
    RECORD_ID_FILE,
    SECRETS_DIR,
    SIGNING_DIR,
    TRUST_ANCHOR_FILE,
    PrivateKeyFile,
    decode_key_bytes,
)
from broker.keyring.ids import new_key_id
from broker.keyring.orgdir import (
    check_org,
    create_org,
    new_private_file,
    read_private_files,
    read_secret_file,
    write_json_secret,
    write_secret_file,
)
from broker.keyring.owners import Owner
from broker.keyring.public import PublicKeyring, keys_of, load_anchor
from broker.keyring.recordid import RecordIdKey
from broker.keyring.signed import EXPORT_TAG, TrustAnchor, iso, sign_document, verified_body
from broker.keyring.signer import Signer
from contracts.provenance import deployment_source

__all__ = ["OrgKeys", "PrivateKeys"]

_MARKERS = {SIGNING_DIR: "-sig", ENCRYPTION_DIR: "-enc"}


@dataclass(frozen=True, slots=True)
class PrivateKeys:
    """Key ids of what an init created."""

    signing: tuple[str, ...] = ()
    encryption: tuple[str, ...] = ()
    record_id: tuple[str, ...] = ()


class OrgKeys:
    """The key directory of one organisation (agency, joiner or insights operator)."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"OrgKeys({str(self.path)!r})"

    # ----- creation

    def init(self, owner: Owner, *, now: datetime | None = None) -> PrivateKeys:
        """Make the directory of ``owner``: an agency gets a signing and an encryption
        key; a joiner or insights deployment's operator gets the deployment's signing key
        (what signs its snapshots or cells; published like an agency's key); the
        governance is made by :class:`~broker.keyring.governance.Governance`. Idempotent."""
        now = now or datetime.now(UTC)
        if owner.kind in DEPLOYMENT_KINDS:
            _deployment_name(owner)
        create_org(self.path, owner)
        if owner.kind in DEPLOYMENT_KINDS:
            made = () if self.files(SIGNING_DIR) else (self.new_key(SIGNING_DIR, now),)
            return PrivateKeys(signing=made)
        if owner.kind != "agency":
            return PrivateKeys()
        signing = () if self.files(SIGNING_DIR) else (self.new_key(SIGNING_DIR, now),)
        encryption = () if self.files(ENCRYPTION_DIR) else (self.new_key(ENCRYPTION_DIR, now),)
        record_id = () if self.has_record_id_key() else (self.new_record_id_key(now),)
        return PrivateKeys(signing, encryption, record_id)

    def has_record_id_key(self) -> bool:
        """True when the agency has its record-id secret."""
        return (self.path / SECRETS_DIR / RECORD_ID_FILE).exists()

    def new_record_id_key(self, now: datetime) -> str:
        """The agency's record-id secret (32 random bytes; never rotated: a new secret would
        give every re-sent record a new id)."""
        owner = self.owner()
        key_id = new_key_id("", owner.id, "-rid", now, 1)
        document = {
            "kind": "record-id",
            "owner": owner.urn,  # the start check refuses a secret of another owner
            "agency": owner.id,
            "key_id": key_id,
            "created_at": now.isoformat(),
            "secret": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        }
        write_secret_file(self.path, RECORD_ID_FILE, export_json(document))
        return key_id

    def record_id_key(self) -> RecordIdKey:
        """The agency's record-id secret: the key of the ids of its published events."""
        owner = self.check()
        if owner.kind != "agency" or not self.has_record_id_key():
            raise RecordIdKeyMissing(
                f"no record-id secret for {owner.urn} in {self.path}; "
                f"run `cxbroker keys init --agency {owner.id}`"
            )
        try:
            document = json.loads(read_secret_file(self.path, RECORD_ID_FILE))
            secret = decode_key_bytes(document["secret"], 32, "record-id secret")
            created = datetime.fromisoformat(document["created_at"])
            return RecordIdKey(document["key_id"], owner.id, secret, created)
        except (ValueError, KeyError, TypeError):
            raise KeyringRefused(f"the record-id secret in {self.path} is malformed") from None

    def new_key(self, kind: str, now: datetime) -> str:
        """A new private key of ``kind`` (``signing`` Ed25519, ``encryption`` X25519)."""
        owner = self.owner()
        sequence = len(self.files(kind)) + 1
        # A deployment's key id names its kind (joiner-<name>-sig-...): key ids are unique
        # across the keyring, and an operator may share a name with an agency.
        prefix = f"{owner.kind}-" if owner.kind in DEPLOYMENT_KINDS else ""
        key_id = new_key_id(prefix, owner.id, _MARKERS[kind], now, sequence)
        generated = (
            Ed25519PrivateKey.generate() if kind == SIGNING_DIR else X25519PrivateKey.generate()
        )
        private = generated.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        document = new_private_file(kind, owner, key_id, sequence, now, private)
        write_json_secret(self.path / kind / f"{key_id}.json", document)
        return key_id

    def rotate_signing(self, *, now: datetime | None = None) -> str:
        """A new current signing key (export again for the governance to add it)."""
        self.check()
        if not self.files(SIGNING_DIR):
            raise SigningKeyMissing(f"{self.path} has no signing key to rotate")
        return self.new_key(SIGNING_DIR, now or datetime.now(UTC))

    # ----- reading

    def check(self) -> Owner:
        """The start check (:func:`broker.keyring.orgdir.check_org`)."""
        return check_org(self.path)

    def owner(self) -> Owner:
        """Whose directory this is."""
        return check_org(self.path)

    def files(self, kind: str) -> list[PrivateKeyFile]:
        """The private key files of ``kind``, oldest first."""
        return read_private_files(self.path, kind)

    def signer(self) -> Signer:
        """A signer with the owner's current signing key."""
        owner = self.check()
        files = self.files(SIGNING_DIR)
        if not files:
            raise SigningKeyMissing(f"no signing key for {owner.urn} in {self.path}")
        current = files[-1]
        raw = decode_key_bytes(current.private_key.get_secret_value(), 32, current.key_id)
        return Signer(owner.id, current.key_id, Ed25519PrivateKey.from_private_bytes(raw))

    def deployment_signer(self) -> DeploymentSigner:
        """A joiner or insights deployment's signer with its current key (``ce_source`` is
        the directory's owner URN). Whether readers trust it is the signed keyring's call:
        :func:`broker.keyring.deployment.published_signer` checks that first."""
        owner = self.check()
        if owner.kind not in DEPLOYMENT_KINDS:
            raise KeyringRefused(
                f"{self.path} is the key directory of {owner.urn}, not of a joiner or "
                "insights deployment"
            )
        files = self.files(SIGNING_DIR)
        if not files:
            raise SigningKeyMissing(
                f"no signing key for {owner.urn} in {self.path}; run `cxbroker keys init "
                f"--operator {owner.id} --operator-kind {owner.kind} --dir {self.path}`"
            )
        current = files[-1]
        raw = decode_key_bytes(current.private_key.get_secret_value(), 32, current.key_id)
        return DeploymentSigner(
            _deployment_name(owner), current.key_id, Ed25519PrivateKey.from_private_bytes(raw)
        )

    def encryption_key(self, key_id: str) -> X25519PrivateKey:
        """The owner's X25519 private key with this id."""
        for f in self.files(ENCRYPTION_DIR):
            if f.key_id == key_id:
                raw = decode_key_bytes(f.private_key.get_secret_value(), 32, f.key_id)
                return X25519PrivateKey.from_private_bytes(raw)
        raise KeyringRefused(f"no encryption key {key_id} in {self.path}; not sealed for it")

    # ----- public material

    def export(self) -> dict[str, Any]:
        """The owner's public keys, each signing key proving possession (signed export).

        Governance adds them to the public keyring after checking the proofs and the
        fingerprints the owner confirmed out of band.
        """
        owner = self.check()
        entries: list[dict[str, Any]] = []
        signing_keys: dict[str, Ed25519PrivateKey] = {}
        for kind in (SIGNING_DIR, ENCRYPTION_DIR):
            for f in self.files(kind):
                raw = decode_key_bytes(f.private_key.get_secret_value(), 32, f.key_id)
                if kind == SIGNING_DIR:
                    key = Ed25519PrivateKey.from_private_bytes(raw)
                    signing_keys[f.key_id] = key
                    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                else:
                    public = (
                        X25519PrivateKey.from_private_bytes(raw)
                        .public_key()
                        .public_bytes(Encoding.Raw, PublicFormat.Raw)
                    )
                entries.append(
                    {
                        "owner": owner.urn,
                        "use": "signing" if kind == SIGNING_DIR else "encryption",
                        "key_id": f.key_id,
                        "public_key": base64.b64encode(public).decode("ascii"),
                        "not_before": iso(f.created_at),
                        "not_after": iso(f.not_after),
                    }
                )
        body = {"owner": owner.urn, "entries": entries}
        proofs = {kid: sign_document(EXPORT_TAG, body, key) for kid, key in signing_keys.items()}
        return {"version": 1, "kind": "key-export", "body": body, "proofs": proofs}

    def trust(self, anchor_file: Path) -> TrustAnchor:
        """Pin the governance key (a file the governance published; check its fingerprint)."""
        self.check()
        anchor = load_anchor(anchor_file)
        current = self.path / TRUST_ANCHOR_FILE
        if current.exists() and load_anchor(current) != anchor:
            raise KeyringRefused(
                f"{self.path} already trusts another governance key; a new one is pinned "
                "only by removing the old anchor deliberately"
            )
        write_atomic(current, anchor.model_dump_json(indent=2).encode() + b"\n", mode=0o600)
        return anchor

    def install(self, keyring_file: Path) -> PublicKeyring:
        """Verify a signed public keyring under the pinned anchor, then install it here.

        Refused whole (nothing installed) when it does not verify or is older.
        """
        self.check()
        anchor = load_anchor(self.path / TRUST_ANCHOR_FILE)
        data = keyring_file.read_bytes()  # verified and written as the same bytes
        candidate = verified_body(data, anchor, f"public keyring {keyring_file}")
        keys_of(candidate)
        target = self.path / PUBLIC_KEYRING_FILE
        if target.exists():
            installed = PublicKeyring.load(target, anchor=anchor)
            if candidate.serial < installed.serial:
                raise KeyringRefused(
                    f"the keyring has serial {candidate.serial}, older than the installed "
                    f"{installed.serial}; refusing it"
                )
        write_atomic(target, data, mode=0o600)
        return PublicKeyring.load(target, anchor=anchor)

    def public_keyring(self) -> PublicKeyring:
        """The installed public keyring (verified under the pinned anchor)."""
        self.check()
        return PublicKeyring.load(self.path / PUBLIC_KEYRING_FILE)


def _deployment_name(owner: Owner) -> str:
    """The ``ce_source`` of a deployment owner (its URN, checked against the CloudEvents
    source rule of :mod:`contracts.provenance`)."""
    try:
        return deployment_source(owner.kind, owner.id)  # type: ignore[arg-type]
    except ValueError:
        raise KeyringRefused(f"{owner.urn} is not a valid deployment name") from None


def export_json(document: dict[str, Any]) -> bytes:
    """A public document's file bytes."""
    return (json.dumps(document, indent=2) + "\n").encode()
