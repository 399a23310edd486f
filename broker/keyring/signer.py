"""Signing an agency's records, as ``contracts/SIGNING.md`` specifies.

Ed25519 over :func:`contracts.signing.signing_input`, with ``ce_cxkeyid`` and ``ce_cxsig``
(standard base64) added to the record. The private key is never printed or logged: the
signer's repr is redacted.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from broker.errors import SigningKeyAgencyMismatch
from broker.keyring.ids import SOURCE_PREFIX
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE, Record, with_key_id
from contracts.signing import signing_bytes

__all__ = ["Signer"]


class Signer:
    """Signs records of one agency with its current key (``contracts/SIGNING.md``)."""

    __slots__ = ("_key", "_key_id", "_source", "agency", "key_id")

    def __init__(self, agency: str, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.agency = agency
        self.key_id = key_id
        self._key = private_key
        self._source = SOURCE_PREFIX + agency.encode("ascii")
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

    def sign_bytes(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data``, which must start with its protocol's domain tag
        (``CX-LINKAGE-PACKAGE-V1``, ...), so it can never pass for a record signature."""
        if data.startswith(b"CX-SIG-V1\n"):
            raise ValueError("records are signed with sign(), not sign_bytes()")
        return self._key.sign(data)

    def public_key(self) -> bytes:
        """The raw 32-byte public key of this signer."""
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
