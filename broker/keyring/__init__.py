"""Keyring: each organisation's own keys, the governance-signed public keyring, linkage keys.

* :mod:`broker.keyring.store` - :class:`Keyring`, what publishers and readers open at
  ``CX_KEYRING_DIR`` (an organisation's directory or a local-demo root);
* :mod:`broker.keyring.org`, :mod:`broker.keyring.orgdir` - one organisation's directory:
  its own keys, exports, trust anchor, installed keyring, the start check;
* :mod:`broker.keyring.governance` - the governance key that signs the public keyring;
* :mod:`broker.keyring.public`, :mod:`broker.keyring.signed` - :class:`PublicKeyring`,
  verification (validity, revocation), reload; the signed file format;
* :mod:`broker.keyring.linkstore`, :mod:`broker.keyring.wrap` - linkage keys: made by one
  agency, wrapped (X25519 + HKDF + AES-GCM) for each other agency of the life experience;
* :mod:`broker.keyring.deployment`, :mod:`broker.keyring.deploysign` - the joiner and
  insights deployments' signing keys: owners of the signed keyring like agencies; records
  verified only with it; a deployment whose own key is unpublished refuses to start;
* :mod:`broker.keyring.localdemo` - the whole ceremony on one machine (demo, tests);
* :mod:`broker.keyring.signer`, :mod:`broker.keyring.linkage`, :mod:`broker.keyring.owners`,
  :mod:`broker.keyring.recordid` (an agency's secret behind its event ids),
  :mod:`broker.keyring.secretfiles`, :mod:`broker.keyring.files`, :mod:`broker.keyring.ids`.

The errors are those of :mod:`broker.errors`, re-exported here.
"""

from broker.errors import (
    KeyExpired,
    KeyRevoked,
    KeyringError,
    KeyringRefused,
    LinkageKeyMissing,
    RecordIdKeyMissing,
    SignatureInvalid,
    SignatureMissing,
    SigningKeyAgencyMismatch,
    SigningKeyMissing,
    UnknownSigningKey,
)
from broker.keyring.files import PUBLIC_KEYRING_FILE, TRUST_ANCHOR_FILE
from broker.keyring.governance import Governance, signed_keyring
from broker.keyring.linkage import LinkageKey
from broker.keyring.linkstore import LinkageStore
from broker.keyring.localdemo import LocalDemo
from broker.keyring.org import OrgKeys
from broker.keyring.orgdir import check_org, read_secret_file, write_secret_file
from broker.keyring.owners import Owner
from broker.keyring.public import PublicKey, PublicKeyring, load_anchor, public_key_fingerprint
from broker.keyring.recordid import RecordIdKey
from broker.keyring.signed import TrustAnchor
from broker.keyring.signer import Signer
from broker.keyring.store import InitResult, Keyring

__all__ = [
    "PUBLIC_KEYRING_FILE",
    "TRUST_ANCHOR_FILE",
    "Governance",
    "InitResult",
    "KeyExpired",
    "KeyRevoked",
    "Keyring",
    "KeyringError",
    "KeyringRefused",
    "LinkageKey",
    "LinkageKeyMissing",
    "LinkageStore",
    "LocalDemo",
    "OrgKeys",
    "Owner",
    "PublicKey",
    "PublicKeyring",
    "RecordIdKey",
    "RecordIdKeyMissing",
    "SignatureInvalid",
    "SignatureMissing",
    "Signer",
    "SigningKeyAgencyMismatch",
    "SigningKeyMissing",
    "TrustAnchor",
    "UnknownSigningKey",
    "check_org",
    "load_anchor",
    "public_key_fingerprint",
    "read_secret_file",
    "signed_keyring",
    "write_secret_file",
]
