"""The joiner's provenance: CloudEvents headers and signature of every snapshot it writes.

A snapshot record on ``cx.joined.<le>`` (and a k-protected record on ``cx.protected.<le>``,
:meth:`SnapshotSigner.protected_headers`) carries the CloudEvents headers of
:mod:`contracts.provenance` (``ce_source`` ``urn:cx:joiner:<deployment>``, ``ce_id`` a UUID
of life experience, journey token and snapshot version, so a re-delivered snapshot keeps
its id; ``ce_time`` the journey's ``last_event_at``) and the deployment's signature
(CX-SIG-V1, ``contracts/SIGNING.md``).
"""

from __future__ import annotations

import re

from broker.keyring.deployment import DeploymentKeys, DeploymentSigner
from broker.settings import Settings
from consumers.journey.processor import Change
from consumers.journey.state import from_micros
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot
from contracts.provenance import protected_id, protected_time, record_headers, snapshot_id

__all__ = ["SnapshotSigner", "deployment_name", "snapshot_signer"]

_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


def deployment_name(group: str) -> str:
    """A deployment name (lowercase slug, 2 to 32 characters) made from a consumer group."""
    name = _NOT_SLUG.sub("-", group.lower()).strip("-")[:32].strip("-")
    if not name or not name[0].isalpha():
        name = ("j-" + name)[:32].strip("-")
    return name if len(name) >= 2 else "joiner"


class SnapshotSigner:
    """Headers (CloudEvents + signature) of each snapshot record."""

    __slots__ = ("owner", "signer")

    def __init__(self, signer: DeploymentSigner) -> None:
        self.signer = signer
        self.owner = signer.owner

    def __repr__(self) -> str:
        return f"SnapshotSigner({self.owner!r})"

    def headers(self, change: Change, key: bytes) -> list[tuple[str, bytes]]:
        """The signed headers of ``change``'s snapshot record with Kafka key ``key``."""
        unsigned = record_headers(
            JourneySnapshot,
            ce_id=snapshot_id(change.life_experience, change.journey_token, change.version),
            source=self.owner,
            time=from_micros(change.last_us),
            life_experience=change.life_experience,
        )
        assert change.snapshot_json is not None  # only a change with a 1.0.0 snapshot
        return self.signer.sign(key, change.snapshot_json, unsigned)

    def protected_headers(self, change: Change, key: bytes) -> list[tuple[str, bytes]]:
        """The signed headers of ``change``'s k-protected record (2.0.0): ``ce_time`` is the
        first day of its start period, so the headers are no finer than the record."""
        assert change.protected_json is not None  # only a release
        record = ProtectedSnapshot.model_validate_json(change.protected_json)
        unsigned = record_headers(
            ProtectedSnapshot,
            ce_id=protected_id(
                record.life_experience, record.journey_token, record.snapshot_version
            ),
            source=self.owner,
            time=protected_time(record.start),
            life_experience=record.life_experience,
        )
        return self.signer.sign(key, change.protected_json, unsigned)


def snapshot_signer(settings: Settings, group: str) -> SnapshotSigner:
    """The signer of the joiner deployment of consumer group ``group`` (one deployment per
    group, named :func:`deployment_name`) from the keyring dir (its key made if missing)."""
    keys = DeploymentKeys(settings.keyring_path)
    return SnapshotSigner(keys.signer("joiner", deployment_name(group), create=True))
