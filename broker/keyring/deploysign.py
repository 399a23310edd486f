"""The signer of a joiner or insights deployment's records (CX-SIG-V1).

A deployment (owner ``urn:cx:joiner:<name>`` / ``urn:cx:insights:<name>``) is an
organisation of the keyring like an agency: its operator's key directory holds its
signing key in ``signing/`` and the governance publishes the public key in the signed
public keyring (:mod:`broker.keyring.deployment`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.envelope import HEADER_KEYID, HEADER_SIG
from contracts.signing import signing_bytes

__all__ = ["DEPLOYMENT_KINDS", "DeploymentSigner"]

#: Owner kinds whose keys sign records of the joined and insights topics.
DEPLOYMENT_KINDS: Final = frozenset({"joiner", "insights"})


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
