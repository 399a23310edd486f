"""Keys of the joiner and insights deployments: owners of the signed public keyring.

Snapshots on ``cx.joined.*`` / ``cx.protected.*`` and cells and manifests on
``cx.insights.*`` are signed by the deployment that wrote them, in the CX-SIG-V1 format
of ``contracts/SIGNING.md``. A deployment is an organisation of the keyring like an
agency (:mod:`broker.keyring.owners`): its operator's key directory (``keys init
--operator <name> --operator-kind joiner|insights``) holds its signing key in
``signing/``; the operator exports the public key with a proof of possession (``keys
deployment export-public``), the governance assembles it into the signed
``public-keyring.json`` with validity, rotation and revocation like any agency key, and
every reader installs that file. There is no other list of deployment keys: a reader
trusts a deployment's record only when its key is an entry of the signed keyring whose
owner is the record's ``ce_source`` (a joiner key cannot sign an insight cell, nor the
other way round), not revoked and not expired at the record's time.

A deployment's process refuses to start (:class:`~broker.errors.DeploymentKeyUnpublished`,
exit code 11) when its own current key is not such an entry: everything it wrote would
be rejected. It never publishes its key itself, not even in a local demo where the
governance key lies beside it: trust is granted by the governance's act (``keys init``
runs that act on one machine), and processes that start together must not race to
re-sign the keyring.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from broker.errors import (
    DeploymentKeyUnpublished,
    KeyringError,
    KeyringRefused,
    SignatureInvalid,
    SignatureMissing,
    UnknownSigningKey,
)
from broker.keyring.deploysign import DEPLOYMENT_KINDS, DeploymentSigner
from broker.keyring.files import OWNER_FILE, PUBLIC_KEYRING_FILE, SIGNING_DIR
from broker.keyring.ids import shown_key_id
from broker.keyring.localdemo import LocalDemo
from broker.keyring.org import OrgKeys
from broker.keyring.owners import Owner
from broker.keyring.public import PublicKey, PublicKeyring
from broker.keyring.signed import iso
from contracts.envelope import HEADER_KEYID, HEADER_SIG, HEADER_SOURCE
from contracts.provenance import DEPLOYMENT_SOURCE_PATTERN, DeploymentKind
from contracts.signing import signing_bytes

__all__ = [
    "DEPLOYMENT_KINDS",
    "DeploymentSigner",
    "DeploymentVerifier",
    "deployment_org",
    "publication_problem",
    "published_signer",
]

_SOURCE_PREFIXES: Final = tuple(f"urn:cx:{kind}:" for kind in sorted(DEPLOYMENT_KINDS))
assert DEPLOYMENT_SOURCE_PATTERN.startswith("^urn:cx:(joiner|insights):")


def deployment_org(path: Path, kind: DeploymentKind) -> tuple[OrgKeys, bool]:
    """The key directory of the ``kind`` deployment that ``path`` (``CX_KEYRING_DIR``)
    names, and whether it lies in a local-demo root.

    An operator's directory must belong to a ``kind`` owner; a local-demo root gives its
    ``operators/<kind>/`` directory (made by ``cxbroker keys init``).
    """
    if LocalDemo.is_root(path):
        org = LocalDemo(path).deployment(kind)
        if not (org.path / OWNER_FILE).exists():
            raise DeploymentKeyUnpublished(
                f"the local demo {path} has no {kind} deployment key yet; "
                "run `cxbroker keys init` (it makes and publishes it)"
            )
        return org, True
    org = OrgKeys(path)
    owner = org.check()
    if owner.kind != kind:
        raise KeyringRefused(
            f"{path} is the key directory of {owner.urn}, not of a deployment of kind {kind}; "
            f"give the {kind} deployment its own: `cxbroker keys init --operator <name> "
            f"--operator-kind {kind}`"
        )
    return org, False


def publication_problem(
    org: OrgKeys, signer: DeploymentSigner, now: datetime | None = None
) -> str | None:
    """Why readers of ``org``'s installed signed keyring would reject what ``signer``
    signs now, or None when its key is a valid entry of it."""
    if not (org.path / PUBLIC_KEYRING_FILE).exists():
        return "has no signed public keyring installed beside it"
    entry: PublicKey | None = org.public_keyring().key(signer.key_id)
    when = now or datetime.now(UTC)
    if entry is None:
        return "is not in the signed public keyring"
    if entry.owner.urn != signer.owner or entry.public_key != signer.public_key():
        return "is listed in the signed public keyring for another owner or public key"
    if entry.use != "signing":
        return "is not listed as a signing key in the signed public keyring"
    if entry.revoked_at is not None and when >= entry.revoked_at:
        return f"was revoked at {iso(entry.revoked_at)} ({entry.revocation_reason})"
    if when > entry.not_after:
        return f"expired at {iso(entry.not_after)}"
    return None


def published_signer(
    path: Path, kind: DeploymentKind, *, now: datetime | None = None
) -> DeploymentSigner:
    """The signer of the ``kind`` deployment at ``path``, after checking that its current
    key is published; :class:`DeploymentKeyUnpublished` (one line saying what to run)
    otherwise."""
    org, local_demo = deployment_org(path, kind)
    if local_demo and not org.files(SIGNING_DIR):  # a local demo made by an older version
        raise DeploymentKeyUnpublished(
            f"the local demo {path} has no {kind} deployment key yet; run `cxbroker keys init` "
            "(it makes and publishes it)"
        )
    signer = org.deployment_signer()
    problem = publication_problem(org, signer, now)
    if problem is None:
        return signer
    stale = problem.startswith(("was revoked", "expired"))  # a new key is needed first
    if local_demo and stale:
        remedy = f"run `cxbroker keys deployment rotate {kind}` (the local demo publishes it)"
    elif local_demo:
        remedy = "run `cxbroker keys init` (the local ceremony assembles and installs it)"
    else:
        remedy = (
            (
                f"make a new key (`cxbroker keys deployment rotate {kind} --dir {org.path}`), "
                if stale
                else ""
            )
            + f"export it (`cxbroker keys deployment export-public {kind}-export.json --dir "
            f"{org.path}`), have the governance add it (`cxbroker keys governance assemble "
            f"... {kind}-export.json --out public-keyring.json`), then `cxbroker keys install "
            f"public-keyring.json --dir {org.path}`"
        )
    raise DeploymentKeyUnpublished(
        f"the signing key {signer.key_id} of {signer.owner} {problem}: readers would reject "
        f"everything it signs; {remedy}"
    )


class DeploymentVerifier:
    """Verifies a deployment's records with the governance-signed public keyring.

    ``keyring`` is a loaded :class:`PublicKeyring` or where to load one (a reader's key
    directory, a local-demo root, or a ``public-keyring.json`` with its trust anchor
    beside it). A loaded file is re-read when it changes (rotation, revocation).
    """

    __slots__ = ("_keyring", "_source")

    def __init__(self, keyring: PublicKeyring | Path) -> None:
        # Loaded on first use (or :meth:`load`): an app may be defined before its keys exist.
        self._source = keyring
        self._keyring = keyring if isinstance(keyring, PublicKeyring) else None

    def __repr__(self) -> str:
        return f"DeploymentVerifier({self._keyring or self._source!r})"

    def load(self) -> PublicKeyring:
        """The verified public keyring (loaded now if not yet; refused in one line unless it
        verifies under the pinned governance key)."""
        if self._keyring is None:
            assert isinstance(self._source, Path)
            self._keyring = PublicKeyring.load(self._source)
        return self._keyring

    def verify(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Iterable[tuple[str, bytes | None]],
        *,
        at: datetime | None = None,
    ) -> str:
        """Verify a deployment's record (``at``: its time, default now); return its owner
        URN or raise :class:`~broker.errors.SignatureInvalid` (a subclass names the
        reason: unknown key, another owner's key, revoked, expired, bad signature)."""
        plain = [(n, v) for n, v in headers if v is not None]
        found = dict(plain)
        raw_key_id, raw_sig = found.get(HEADER_KEYID), found.get(HEADER_SIG)
        if raw_key_id is None or raw_sig is None:
            raise SignatureMissing("the record has no ce_cxkeyid or no ce_cxsig header")
        key_id = shown_key_id(raw_key_id)
        if key_id.startswith("<"):
            raise UnknownSigningKey("ce_cxkeyid is not a key id")
        source = found.get(HEADER_SOURCE, b"").decode("ascii", "replace")
        try:
            if not source.startswith(_SOURCE_PREFIXES):
                raise KeyringError(source)
            owner = Owner.parse(source)
        except KeyringError:
            raise SignatureInvalid(
                "ce_source does not name a joiner or insights deployment"
            ) from None
        try:
            signature = base64.b64decode(raw_sig, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureInvalid("ce_cxsig is not standard base64") from None
        if len(signature) != 64:
            raise SignatureInvalid("ce_cxsig does not hold a 64-byte Ed25519 signature")
        data = signing_bytes(key or b"", value or b"", plain)
        self.load().verify_owned(key_id, data, signature, owner=owner, at=at)
        return source
