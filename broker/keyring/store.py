"""The key store callers use: one organisation's directory, or a local-demo root.

:class:`Keyring` gives the publisher its signer and linkage keys and the readers their
public keyring, whether ``CX_KEYRING_DIR`` is a real organisation's directory (an agency
holds only its own keys; see :mod:`broker.keyring.orgdir`) or a local-demo root where
every role has its own subdirectory (:mod:`broker.keyring.localdemo`). :meth:`Keyring.init`
is the one-command local ceremony the demo and the tests use.

Private material is never printed or logged: every object that holds it has a redacted
repr, and a key file or directory others could read is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from broker.errors import KeyringError, LinkageKeyMissing, SigningKeyMissing
from broker.files import write_atomic
from broker.keyring.deployment import DeploymentSigner, deployment_org, published_signer
from broker.keyring.files import OWNER_FILE, PUBLIC_KEYRING_FILE, TRUST_ANCHOR_FILE
from broker.keyring.linkage import LinkageKey
from broker.keyring.linkstore import LinkageStore
from broker.keyring.localdemo import LocalDemo
from broker.keyring.org import OrgKeys
from broker.keyring.public import PublicKeyring
from broker.keyring.recordid import RecordIdKey
from broker.keyring.signer import Signer
from contracts.catalog import load_catalog
from contracts.provenance import DeploymentKind

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


class Keyring:
    """Keys at ``path``: an organisation's directory or a local-demo root.

    Creating the object touches nothing; :meth:`init` runs the local ceremony.
    """

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Keyring({str(self.path)!r})"

    @property
    def demo(self) -> LocalDemo | None:
        """The local-demo root at ``path``, if it is one."""
        return LocalDemo(self.path) if LocalDemo.is_root(self.path) else None

    def _require(self) -> None:
        if not self.path.is_dir() or not (
            LocalDemo.is_root(self.path) or (self.path / OWNER_FILE).exists()
        ):
            raise KeyringError(f"no keyring at {self.path}; run `cxbroker keys init`")

    def _org_of(self, agency: str) -> OrgKeys:
        self._require()
        demo = self.demo
        if demo is not None:
            if agency not in demo.agencies():
                raise SigningKeyMissing(
                    f"no signing key for agency {agency} in {self.path}; "
                    f"run `cxbroker keys init --agencies {agency}`"
                )
            return demo.agency(agency)
        org = OrgKeys(self.path)
        owner = org.check()
        if owner.kind != "agency" or owner.id != agency:
            raise SigningKeyMissing(
                f"{self.path} is the key directory of {owner.urn}, not of {agency}"
            )
        return org

    def _stores(self) -> list[LinkageStore]:
        self._require()
        demo = self.demo
        if demo is not None:
            return [LinkageStore(demo.agency(a)) for a in demo.agencies()]
        org = OrgKeys(self.path)
        return [LinkageStore(org)] if org.check().kind == "agency" else []

    # ----- creation and rotation (the local ceremony)

    def init(
        self,
        agencies: Iterable[str],
        life_experiences: Iterable[str],
        *,
        now: datetime | None = None,
    ) -> InitResult:
        """Run the local ceremony for every agency and life experience lacking keys."""
        if (self.path / OWNER_FILE).exists():
            raise KeyringError(f"{self.path} is an organisation's directory, not a local demo")
        result = LocalDemo(self.path).run(list(agencies), list(life_experiences), now=now)
        return InitResult(result.signing, result.linkage, result.record_id)

    def rotate_signing(self, agency: str, *, now: datetime | None = None) -> str:
        """A new current signing key for ``agency``, published; old keys keep verifying."""
        org = self._org_of(agency)
        key_id = org.rotate_signing(now=now)
        demo = self.demo
        if demo is not None:
            demo.publish(now=now)
        return key_id

    def rotate_deployment(self, kind: DeploymentKind, *, now: datetime | None = None) -> str:
        """A new current signing key for the ``kind`` deployment; old keys keep verifying.

        In a local demo the governance publishes it at once; an operator's directory
        exports it for the governance (the process refuses to start until it is in).
        """
        org, local_demo = deployment_org(self.path, kind)
        key_id = org.rotate_signing(now=now)
        if local_demo:
            LocalDemo(self.path).publish(now=now)
        return key_id

    def deployment_signer(self, kind: DeploymentKind) -> DeploymentSigner:
        """The ``kind`` deployment's signer, once its key is checked to be in the signed
        public keyring (:func:`broker.keyring.deployment.published_signer`)."""
        self._require()
        return published_signer(self.path, kind)

    def rotate_linkage(
        self,
        life_experience: str,
        *,
        now: datetime | None = None,
        overlap: timedelta | None = None,
    ) -> str:
        """A new current linkage key for ``life_experience``, shared among its agencies."""
        demo = self.demo
        if demo is None:
            raise KeyringError("make the next linkage key with `cxbroker keys linkage new`")
        holders = [s.org.path.name for s in self._stores() if s.files(life_experience)]
        if not holders:
            raise LinkageKeyMissing(
                f"life experience {life_experience} has no linkage key to rotate; "
                "run `cxbroker keys init`"
            )
        return demo.share_linkage(life_experience, holders[0], overlap=overlap, now=now)

    def revoke(
        self, key_id: str, *, reason: str = "compromised", at: datetime | None = None
    ) -> None:
        """Local demo: the governance revokes ``key_id`` and the keyring is redistributed."""
        demo = self.demo
        if demo is None:
            raise KeyringError("revoke with `cxbroker keys governance revoke`")
        demo.distribute(demo.governance.revoke(key_id, reason=reason, at=at))

    def export_public(self, destination: Path) -> Path:
        """Copy the signed public keyring and its trust anchor (mode 0644, no secret)."""
        reader = self.public_dir()
        target = destination / PUBLIC_KEYRING_FILE if destination.is_dir() else destination
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, (reader / PUBLIC_KEYRING_FILE).read_bytes(), mode=0o644)
        write_atomic(
            target.parent / TRUST_ANCHOR_FILE, (reader / TRUST_ANCHOR_FILE).read_bytes(), mode=0o644
        )
        return target

    # ----- loading

    def public_dir(self) -> Path:
        """The directory whose signed public keyring this keyring's readers use."""
        self._require()
        demo = self.demo
        return demo.operator.path if demo is not None else self.path

    def signer(self, agency: str) -> Signer:
        """A signer with ``agency``'s current key."""
        return self._org_of(agency).signer()

    def record_id_key(self, agency: str) -> RecordIdKey:
        """``agency``'s record-id secret: the key of the ids of its published events."""
        return self._org_of(agency).record_id_key()

    def linkage_keys(self, life_experiences: Iterable[str] | None = None) -> dict[str, LinkageKey]:
        """The current linkage key of each life experience (all held here by default)."""
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

    def token_keys(self, life_experience: str, now: datetime | None = None) -> list[LinkageKey]:
        """The keys tokens are made under now (two during a rotation's overlap)."""
        for store in self._stores():
            keys = store.token_keys(life_experience, now)
            if keys:
                return keys
        return []

    def linkage_history(self, life_experience: str) -> tuple[LinkageKey, ...]:
        """Every linkage key of ``life_experience``, oldest first; the last one is current."""
        for store in self._stores():
            history = store.history(life_experience)
            if history:
                return history
        return ()

    def linkage_key(self, key_id: str) -> LinkageKey:
        """The linkage key with this id, current or not."""
        for store in self._stores():
            try:
                return store.key(key_id)
            except LinkageKeyMissing:
                continue
        raise LinkageKeyMissing(f"no linkage key {key_id} in {self.path}")

    def agencies(self) -> list[str]:
        """Agencies with signing keys here."""
        demo = self.demo
        if demo is not None:
            return demo.agencies()
        owner = OrgKeys(self.path).check()
        return [owner.id] if owner.kind == "agency" else []

    def life_experiences(self) -> list[str]:
        """Life experiences with linkage keys here."""
        found = {le for store in self._stores() for le in store.life_experiences()}
        return [le.id for le in load_catalog().life_experiences if le.id in found]

    def public_keyring(self) -> PublicKeyring:
        """The signed public keyring readers of this keyring use (verified)."""
        return PublicKeyring.load(self.public_dir())
