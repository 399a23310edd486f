"""Keyrings and signed records shared by the tests (all values invented)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broker.files import write_atomic
from broker.keyring import (
    PUBLIC_KEYRING_FILE,
    TRUST_ANCHOR_FILE,
    Keyring,
    PublicKeyring,
    TrustAnchor,
    signed_keyring,
)
from broker.keyring.signed import KeyringBody
from contracts.catalog import load_catalog
from contracts.envelope import Record, encode_unsigned
from contracts.events import ServiceInteraction
from contracts.privacy import journey_token_from_digest
from producers.deid.ids import CALLER_ID_SOURCE

T0 = datetime(2026, 4, 3, 14, 30, tzinfo=UTC)
DAY1 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
AGENCIES = ("ssa", "usda-fns")
LIFE_EXPERIENCES = ("having-a-child", "approaching-retirement")


def event(agency: str = "usda-fns", n: int = 0) -> ServiceInteraction:
    """A valid, already de-identified service interaction of ``agency``."""
    service = {"usda-fns": "usda-fns.wic", "ssa": "ssa.enumeration-at-birth"}[agency]
    return ServiceInteraction(
        event_id=UUID(int=n + 1),
        agency=agency,
        life_experience="having-a-child",
        journey_token=journey_token_from_digest(bytes([n % 256]) * 32),
        token_rule="ssn-dob",
        linkage_key_id="lk-having-a-child-20261125-1",
        occurred_at=T0,
        age_band="30-34",
        zip3="323",
        state="FL",
        service_id=service,
        stage="apply",
        channel="web",
        started_at=T0 - timedelta(minutes=5),
        ended_at=T0,
        outcome="completed",
        wait_seconds=12.5,
        attempt=1,
    )


def unsigned(agency: str = "usda-fns", n: int = 0) -> Record:
    """The unsigned record of :func:`event`."""
    return encode_unsigned(event(agency, n))


def made_keyring(path: Path) -> Keyring:
    """A local-demo keyring (the whole ceremony, each organisation in its subdirectory)
    with signing keys for AGENCIES and linkage keys for LIFE_EXPERIENCES."""
    keyring = Keyring(path)
    keyring.init(AGENCIES, LIFE_EXPERIENCES, now=DAY1)
    return keyring


def keyring_for(
    path: Path,
    agencies: Sequence[str] | None = None,
    life_experiences: Sequence[str] | None = None,
) -> Keyring:
    """A keyring at ``path`` with signing keys for ``agencies`` and linkage keys for
    ``life_experiences`` (default: every agency and life experience of the catalog)."""
    catalog = load_catalog()
    keyring = Keyring(path)
    keyring.init(
        list(agencies) if agencies is not None else [a.id for a in catalog.agencies],
        list(life_experiences)
        if life_experiences is not None
        else [le.id for le in catalog.life_experiences],
    )
    return keyring


def wire_id(keyring: Keyring, agency: str, caller_id: object) -> str:
    """The published event id of a record whose caller id is ``caller_id`` (a keyed hash)."""
    key = keyring.record_id_key(agency)
    return str(key.event_id(CALLER_ID_SOURCE, str(caller_id).encode("utf-8")))


def write_signed_public_keyring(directory: Path, public: PublicKeyring) -> None:
    """Write ``public``'s keys as a governance-signed keyring with its trust anchor in
    ``directory`` (a throwaway governance key), as a reader's directory holds them."""
    governance = Ed25519PrivateKey.generate()
    body = KeyringBody(
        serial=1,
        issued_at=DAY1,
        governance="urn:cx:governance:tests",
        governance_key_id="tests-gov-1",
        entries=[key.entry() for key in public.entries()],
    )
    anchor = TrustAnchor(
        governance="urn:cx:governance:tests",
        key_id="tests-gov-1",
        public_key=base64.b64encode(governance.public_key().public_bytes_raw()).decode(),
    )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(directory / PUBLIC_KEYRING_FILE, signed_keyring(body, governance))
    write_atomic(directory / TRUST_ANCHOR_FILE, anchor.model_dump_json().encode())
