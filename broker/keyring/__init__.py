"""Keyring: agency signing keys (Ed25519) and life-experience linkage keys (HMAC secrets).

* :mod:`broker.keyring.store` - :class:`Keyring`, the directory of private keys: init,
  rotate, export the public keyring; file modes;
* :mod:`broker.keyring.public` - :class:`PublicKeyring`, the public keys consumers hold:
  verification, reload when the file changes;
* :mod:`broker.keyring.signer` - :class:`Signer`, signing records per ``contracts/SIGNING.md``;
* :mod:`broker.keyring.linkage` - :class:`LinkageKey`, the secret behind journey tokens;
* :mod:`broker.keyring.recordid` - :class:`RecordIdKey`, an agency's secret behind the ids
  of its events (never the caller's own id);
* :mod:`broker.keyring.files`, :mod:`broker.keyring.ids` - the on-disk formats and the
  key ids all of them share.

The errors are those of :mod:`broker.errors`, re-exported here for callers that catch
what the keyring raises.
"""

from broker.errors import (
    KeyringError,
    LinkageKeyMissing,
    RecordIdKeyMissing,
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    SigningKeyMissing,
    UnknownSigningKey,
)
from broker.keyring.files import PUBLIC_KEYRING_FILE
from broker.keyring.linkage import LinkageKey
from broker.keyring.public import PublicKey, PublicKeyring, public_key_fingerprint
from broker.keyring.recordid import RecordIdKey
from broker.keyring.signer import Signer
from broker.keyring.store import InitResult, Keyring

__all__ = [
    "PUBLIC_KEYRING_FILE",
    "InitResult",
    "Keyring",
    "KeyringError",
    "LinkageKey",
    "LinkageKeyMissing",
    "PublicKey",
    "PublicKeyring",
    "RecordIdKey",
    "RecordIdKeyMissing",
    "SignatureInvalid",
    "SignatureMissing",
    "Signer",
    "SigningKeyAgencyMismatch",
    "SigningKeyMissing",
    "UnknownSigningKey",
    "public_key_fingerprint",
]
