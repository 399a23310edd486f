"""The whole key ceremony on one machine, every organisation in its own subdirectory.

For the demo and the tests only (``cxbroker keys init --local-demo``): the same steps
three organisations run apart (README "Keys across organisations"), here in one go::

    <root>/local-demo.json          marks the root; names the roles
    <root>/governance/              the governance key (signs the public keyring)
    <root>/agencies/<agency>/       one agency's directory (its keys only)
    <root>/operators/joiner/        the joiner deployment's directory (its signing key)
    <root>/operators/insights/      the insights deployment's directory (its signing key)
    <root>/exchange/                what travels: exports, packages, the signed keyring

Each subdirectory passes the same start check as a real organisation's directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from broker.errors import KeyringRefused
from broker.files import write_atomic
from broker.keyring.files import (
    LOCAL_DEMO_FILE,
    OWNER_FILE,
    PUBLIC_KEYRING_FILE,
    TRUST_ANCHOR_FILE,
)
from broker.keyring.governance import Governance
from broker.keyring.linkstore import LinkageStore, package_file_bytes
from broker.keyring.org import OrgKeys, export_json
from broker.keyring.owners import Owner
from broker.keyring.secretfiles import ensure_private_dir
from contracts.catalog import load_catalog

__all__ = ["GOVERNANCE_NAME", "INSIGHTS_NAME", "OPERATOR_NAME", "LocalDemo"]

GOVERNANCE_NAME: Final = "cx-governance"
#: The local demo's joiner deployment (``urn:cx:joiner:joiner``): every joiner process
#: started on the root signs as it, whatever its consumer group.
OPERATOR_NAME: Final = "joiner"
#: The local demo's insights deployment (``urn:cx:insights:insights``).
INSIGHTS_NAME: Final = "insights"
_DEPLOYMENTS: Final = (("joiner", OPERATOR_NAME), ("insights", INSIGHTS_NAME))


@dataclass(frozen=True, slots=True)
class CeremonyResult:
    """Key ids created by one run of the local ceremony."""

    signing: tuple[str, ...]
    linkage: tuple[str, ...]
    record_id: tuple[str, ...] = ()


class LocalDemo:
    """A local-demo root (see the module docs)."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def is_root(path: Path) -> bool:
        """True when ``path`` is a local-demo root."""
        return (path / LOCAL_DEMO_FILE).exists()

    def agency(self, agency: str) -> OrgKeys:
        """The directory of ``agency``."""
        return OrgKeys(self.root / "agencies" / agency)

    def agencies(self) -> list[str]:
        """Agencies with a directory here."""
        base = self.root / "agencies"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    @property
    def operator(self) -> OrgKeys:
        """The joiner operator's directory (what readers of the root use)."""
        return OrgKeys(self.root / "operators" / OPERATOR_NAME)

    def deployment(self, kind: str) -> OrgKeys:
        """The directory of the local demo's ``kind`` (joiner / insights) deployment."""
        return OrgKeys(self.root / "operators" / dict(_DEPLOYMENTS)[kind])

    def deployments(self) -> list[OrgKeys]:
        """The deployments' directories that exist (an older root has no insights one)."""
        found = (self.deployment(kind) for kind, _ in _DEPLOYMENTS)
        return [org for org in found if (org.path / OWNER_FILE).exists()]

    @property
    def governance(self) -> Governance:
        """The governance directory."""
        return Governance(self.root / "governance")

    @property
    def exchange(self) -> Path:
        """Where exports, packages and the signed keyring travel between the roles."""
        return self.root / "exchange"

    def run(
        self, agencies: list[str], life_experiences: list[str], *, now: datetime | None = None
    ) -> CeremonyResult:
        """Every step of the ceremony for what is missing (idempotent)."""
        now = now or datetime.now(UTC)
        if not self.is_root(self.root) and any(
            (self.root / old).exists() for old in ("signing", "linkage")
        ):
            raise KeyringRefused(
                f"{self.root} holds an all-agencies keyring of an earlier version (every "
                "agency's private key in one directory); move it away and run again"
            )
        ensure_private_dir(self.root)
        if not self.is_root(self.root):
            marker = {
                "kind": "local-demo",
                "governance": GOVERNANCE_NAME,
                "operator": OPERATOR_NAME,
            }
            write_atomic(self.root / LOCAL_DEMO_FILE, json.dumps(marker).encode() + b"\n")
        ensure_private_dir(self.exchange)
        # 1. The governance makes its key; every organisation pins its anchor.
        self.governance.init(GOVERNANCE_NAME, now=now)
        anchor_file = self.governance.org.path / TRUST_ANCHOR_FILE
        # 2. Each agency makes its keys and exports the public ones.
        signing: list[str] = []
        record_id: list[str] = []
        for agency in dict.fromkeys(agencies):
            org = self.agency(agency)
            made = org.init(Owner("agency", agency), now=now)
            signing += made.signing
            record_id += made.record_id
            org.trust(anchor_file)
        # The joiner and insights deployments make their signing keys (exported too).
        for kind, name in _DEPLOYMENTS:
            deployment = self.deployment(kind)
            signing += deployment.init(Owner(kind, name), now=now).signing  # type: ignore[arg-type]
            deployment.trust(anchor_file)
        # 3. The governance assembles the exports and signs; everyone installs.
        if signing or not (self.exchange / PUBLIC_KEYRING_FILE).exists():
            self.publish(now=now)
        # 4. Per life experience, one agency makes the linkage key and wraps it for the
        #    others; each opens its package.
        linkage: list[str] = []
        catalog = load_catalog()
        for le in dict.fromkeys(life_experiences):
            holders = [a for a in catalog.life_experience(le).agencies if a in self.agencies()]
            if not holders:
                continue
            have = [a for a in holders if LinkageStore(self.agency(a)).files(le)]
            if not have:
                linkage.append(self.share_linkage(le, holders[0], now=now))
            for agency in (a for a in holders if a not in have and have):
                self.share_held(le, have[0], agency)
        return CeremonyResult(tuple(signing), tuple(linkage), tuple(record_id))

    def publish(self, *, now: datetime | None = None) -> None:
        """Assemble every agency's and deployment's export, sign, install the keyring in
        every directory."""
        exports = []
        for org in [*(self.agency(a) for a in self.agencies()), *self.deployments()]:
            export = org.export()
            owner = org.owner()
            name = owner.id if owner.kind == "agency" else f"{owner.kind}-{owner.id}"
            write_atomic(self.exchange / f"export-{name}.json", export_json(export))
            exports.append(export)
        signed = self.governance.assemble(exports, now=now)
        self.distribute(signed)

    def distribute(self, signed: bytes) -> None:
        """Put a signed keyring in the exchange and install it in every directory."""
        shared = self.exchange / PUBLIC_KEYRING_FILE
        write_atomic(shared, signed)
        for org in [*(self.agency(a) for a in self.agencies()), *self.deployments()]:
            org.install(shared)

    def share_held(self, life_experience: str, holder: str, agency: str) -> None:
        """``holder`` wraps every key of ``life_experience`` it holds for ``agency`` (an
        agency added later), which accepts them."""
        org, recipient = self.agency(holder), self.agency(agency)
        for key in LinkageStore(org).history(life_experience):
            package = LinkageStore(org).share(key.key_id, agency, org.public_keyring())
            LinkageStore(recipient).accept(package, recipient.public_keyring())

    def share_linkage(
        self,
        life_experience: str,
        maker: str,
        *,
        overlap: timedelta | None = None,
        now: datetime | None = None,
    ) -> str:
        """``maker`` makes the next key of ``life_experience``; the others accept it."""
        org = self.agency(maker)
        holders = [
            a
            for a in load_catalog().life_experience(life_experience).agencies
            if a in self.agencies()
        ]
        key_id, packages = LinkageStore(org).make(
            life_experience, org.public_keyring(), overlap=overlap, now=now, recipients=holders
        )
        for agency, package in packages.items():
            path = self.exchange / "packages" / f"{key_id}.{agency}.json"
            ensure_private_dir(path.parent)
            write_atomic(path, package_file_bytes(package))
            if agency in self.agencies():
                recipient = self.agency(agency)
                LinkageStore(recipient).accept(package, recipient.public_keyring())
        return key_id
