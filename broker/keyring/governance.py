"""The governance key: assembles the agencies' exports into the signed public keyring.

Why one governance signature (and not each entry signed by its own agency): a reader
must decide, from data it can check alone, *which* keys belong to *which* organisation.
A self-signed entry proves only possession of its key; anyone can make one for
``urn:cx:agency:ssa``. The binding "this key is SSA's" needs a party the reader trusts;
pinning one governance key (whose fingerprint every organisation checks once, out of
band) gives every reader the same answer, makes revocation one signed act that reaches
every reader, and lets joiner and insights deployments (#18) be added the same way.
Each export also carries proofs of possession (signatures by the exported signing keys),
checked here, so nobody can register a public key it does not hold; and a key id once
published cannot be given another public key or owner (cross-check against the last
body).

Files of the governance directory: ``owner.json`` (``urn:cx:governance:<name>``),
``signing/<key id>.json`` (the governance key, 0600), ``state/keyring-body.json`` (the
last signed body) and ``trust-anchor.json`` (public: what readers pin).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broker.errors import KeyringError, KeyringRefused
from broker.files import write_atomic
from broker.keyring.files import SIGNING_DIR, TRUST_ANCHOR_FILE, decode_key_bytes
from broker.keyring.org import OrgKeys
from broker.keyring.orgdir import create_org
from broker.keyring.owners import Owner
from broker.keyring.public import public_key_fingerprint
from broker.keyring.secretfiles import ensure_private_dir
from broker.keyring.signed import (
    KEYRING_TAG,
    KeyEntry,
    KeyringBody,
    TrustAnchor,
    sign_document,
    verify_export_signature,
)

__all__ = ["Governance", "signed_keyring"]

_STATE = "state/keyring-body.json"


def signed_keyring(body: KeyringBody, key: Ed25519PrivateKey) -> bytes:
    """The signed public keyring file of ``body``."""
    document = body.model_dump(mode="json")
    signature = sign_document(KEYRING_TAG, document, key)
    return (
        json.dumps({"version": 2, "body": document, "signature": signature}, indent=2) + "\n"
    ).encode()


class Governance:
    """A governance directory: its key, the last signed body, and the signing acts."""

    __slots__ = ("org",)

    def __init__(self, path: Path) -> None:
        self.org = OrgKeys(path)

    def init(self, name: str, *, now: datetime | None = None) -> TrustAnchor:
        """Make the governance key (once) and its public trust anchor file."""
        owner = Owner("governance", name)
        create_org(self.org.path, owner)
        if not self.org.files(SIGNING_DIR):
            self.org.new_key(SIGNING_DIR, now or datetime.now(UTC))
        anchor = self.anchor()
        write_atomic(
            self.org.path / TRUST_ANCHOR_FILE,
            anchor.model_dump_json(indent=2).encode() + b"\n",
            mode=0o600,
        )
        return anchor

    def _key(self) -> tuple[str, Ed25519PrivateKey]:
        owner = self.org.check()
        if owner.kind != "governance":
            raise KeyringRefused(f"{self.org.path} is not a governance directory")
        files = self.org.files(SIGNING_DIR)
        if not files:
            raise KeyringError(f"no governance key in {self.org.path}")
        raw = decode_key_bytes(files[-1].private_key.get_secret_value(), 32, files[-1].key_id)
        return files[-1].key_id, Ed25519PrivateKey.from_private_bytes(raw)

    def anchor(self) -> TrustAnchor:
        """What readers pin: the governance public key (print its fingerprint to compare)."""
        key_id, key = self._key()
        public = key.public_key().public_bytes_raw()
        return TrustAnchor(
            governance=self.org.owner().urn,
            key_id=key_id,
            public_key=base64.b64encode(public).decode("ascii"),
        )

    def fingerprint(self) -> str:
        """The anchor's fingerprint, to read aloud to every organisation."""
        return public_key_fingerprint(base64.b64decode(self.anchor().public_key))

    def body(self) -> KeyringBody | None:
        """The last signed body, or None before the first assembly."""
        state = self.org.path / _STATE
        if not state.exists():
            return None
        return KeyringBody.model_validate_json(state.read_bytes())

    def assemble(self, exports: list[dict[str, Any]], *, now: datetime | None = None) -> bytes:
        """Add the keys of ``exports`` (each checked) to the body and sign a new serial.

        Refused whole: an export whose proofs do not verify (or do not cover every signing
        key in it), an entry naming another owner than its export, or a key id already
        published with another public key, owner or use.
        """
        previous = self.body()
        entries = {e.key_id: e for e in (previous.entries if previous else [])}
        for export in exports:
            for entry in _checked_export(export):
                known = entries.get(entry.key_id)
                if known is None:
                    entries[entry.key_id] = entry
                elif (known.owner, known.use, known.public_key) != (
                    entry.owner,
                    entry.use,
                    entry.public_key,
                ):
                    raise KeyringRefused(
                        f"key id {entry.key_id} is already published with another key; "
                        "refusing the export"
                    )
        return self._sign(list(entries.values()), previous, now)

    def revoke(
        self, key_id: str, *, reason: str, at: datetime | None = None, now: datetime | None = None
    ) -> bytes:
        """Revoke ``key_id`` from ``at`` (default now): records of that key with a later
        time are dead-lettered. Signs and returns a new keyring."""
        previous = self.body()
        if previous is None or key_id not in {e.key_id for e in previous.entries}:
            raise KeyringError(f"key {key_id} is not in the public keyring")
        when = at or now or datetime.now(UTC)
        entries = [
            e.model_copy(update={"revoked_at": when, "revocation_reason": reason})
            if e.key_id == key_id
            else e
            for e in previous.entries
        ]
        return self._sign(entries, previous, now)

    def _sign(
        self, entries: list[KeyEntry], previous: KeyringBody | None, now: datetime | None
    ) -> bytes:
        key_id, key = self._key()
        body = KeyringBody(
            serial=(previous.serial + 1) if previous else 1,
            issued_at=now or datetime.now(UTC),
            governance=self.org.owner().urn,
            governance_key_id=key_id,
            entries=sorted(entries, key=lambda e: (e.owner, e.use, e.not_before, e.key_id)),
        )
        state = self.org.path / _STATE
        ensure_private_dir(state.parent)
        write_atomic(state, body.model_dump_json(indent=2).encode() + b"\n", mode=0o600)
        return signed_keyring(body, key)


def _checked_export(export: Any) -> list[KeyEntry]:
    if not isinstance(export, dict) or export.get("kind") != "key-export":
        raise KeyringRefused("not a key export; refusing it")
    body, proofs = export.get("body"), export.get("proofs")
    if not isinstance(body, dict) or not isinstance(proofs, dict):
        raise KeyringRefused("the key export has no body or no proofs; refusing it")
    owner = body.get("owner")
    try:
        entries = [KeyEntry.model_validate(e) for e in body.get("entries", [])]
    except ValueError:
        raise KeyringRefused("the key export is malformed; refusing it") from None
    for entry in entries:
        if entry.owner != owner or entry.revoked_at is not None:
            raise KeyringRefused(f"the export of {owner} lists a key it may not add; refusing it")
        if entry.use == "signing":
            proof = proofs.get(entry.key_id)
            if not isinstance(proof, str):
                raise KeyringRefused(f"no proof of possession for {entry.key_id}; refusing it")
            verify_export_signature(entry.public_key, proof, body, f"the export of {owner}")
    return entries
