"""The hostile-input corpus: deterministic TEST signing keys and the case files.

Every case is one JSON file under ``cases/`` (written once by ``make_corpus.py``)::

    {"name": ..., "description": ..., "topic_agency": "ssa" | null,
     "key": <base64> | null, "value": <base64> | null,
     "headers": [[name, <base64> | null], ...],
     "expected": <reason code> | "accepted" | "duplicate",
     "integration": true | false, "gap": null | <what the joiner does today instead>}

``expected`` is a dead-letter reason code, ``accepted`` (a valid event that is joined) or
``duplicate`` (a replay of an accepted event: dropped by the joiner's dedup, never
dead-lettered). ``integration`` is false for cases that cannot travel through Kafka as
written (a record on a non-agency topic). ``gap`` is set when the joiner does not yet
meet the expectation; the tests mark those cases as strict expected failures.

THE KEYS HERE ARE TEST KEYS, derived from a public seed: they sign nothing but this corpus.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from broker.keyring import Owner, PublicKey, PublicKeyring, Signer
from contracts.catalog import load_catalog

__all__ = [
    "CASES_DIR",
    "RECORD_TIME",
    "TEST_KEY_SEED",
    "HostileCase",
    "corpus_key_id",
    "corpus_private_key",
    "corpus_public_keyring",
    "corpus_signer",
    "load_cases",
]

CASES_DIR: Final = Path(__file__).parent / "cases"

#: Public seed of the corpus TEST keys (never use these keys for anything else).
TEST_KEY_SEED: Final = b"cx-broker hostile corpus TEST key v1 -- not a secret"
_KEY_CREATED: Final = datetime(2026, 1, 1, tzinfo=UTC)
#: The Kafka record timestamp the pure-path test gives every case: a week after the corpus
#: events (dated 2026-03-02 plus some hours), as a publisher's clock would be.
RECORD_TIME: Final = datetime(2026, 3, 9, tzinfo=UTC)


def corpus_key_id(agency: str) -> str:
    """Key id of an agency's corpus test key."""
    return f"{agency}-sig-20260101-1"


def corpus_private_key(agency: str) -> Ed25519PrivateKey:
    """The deterministic Ed25519 TEST key of ``agency``."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(TEST_KEY_SEED + b":" + agency.encode("ascii")).digest()
    )


def corpus_signer(agency: str) -> Signer:
    """A signer of ``agency`` holding its corpus test key."""
    return Signer(agency, corpus_key_id(agency), corpus_private_key(agency))


def corpus_public_keyring() -> PublicKeyring:
    """The public keyring of every catalog agency's corpus test key."""
    keys = []
    for agency in load_catalog().agencies:
        public = corpus_private_key(agency.id).public_key()
        keys.append(
            PublicKey(
                owner=Owner("agency", agency.id),
                key_id=corpus_key_id(agency.id),
                public_key=public.public_bytes(Encoding.Raw, PublicFormat.Raw),
                created_at=_KEY_CREATED,
                current=True,
            )
        )
    return PublicKeyring(keys)


def _b64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


@dataclass(frozen=True)
class HostileCase:
    """One corpus case as bytes."""

    name: str
    description: str
    topic_agency: str | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    expected: str
    integration: bool
    gap: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostileCase:
        """Parse a case file's content."""
        return cls(
            name=data["name"],
            description=data["description"],
            topic_agency=data["topic_agency"],
            key=_b64(data["key"]),
            value=_b64(data["value"]),
            headers=tuple((name, _b64(value)) for name, value in data["headers"]),
            expected=data["expected"],
            integration=data["integration"],
            gap=data["gap"],
        )


def load_cases(directory: Path = CASES_DIR) -> list[HostileCase]:
    """Every case file of ``directory``, in file-name order."""
    return [
        HostileCase.from_json(json.loads(path.read_text()))
        for path in sorted(directory.glob("*.json"))
    ]
