"""The joiner's provenance: CloudEvents headers and signature of every snapshot it writes.

A snapshot record on ``cx.joined.<le>`` (and a k-protected record on ``cx.protected.<le>``,
:meth:`SnapshotSigner.protected_headers`) carries the CloudEvents headers of
:mod:`contracts.provenance` (``ce_source`` ``urn:cx:joiner:<deployment>``, the owner of the
joiner's key directory, ``ce_id`` a UUID
of life experience, journey token and snapshot version, so a re-delivered snapshot keeps
its id; ``ce_time`` the journey's ``last_event_at``) and the deployment's signature
(CX-SIG-V1, ``contracts/SIGNING.md``).
"""

from __future__ import annotations

from broker.keyring import Keyring
from broker.keyring.deployment import DeploymentSigner
from broker.settings import Settings
from consumers.journey.processor import Change
from consumers.journey.state import from_micros
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot
from contracts.provenance import protected_id, protected_time, record_headers, snapshot_id

__all__ = ["SnapshotSigner", "snapshot_signer"]


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


def snapshot_signer(settings: Settings) -> SnapshotSigner:
    """The signer of the joiner deployment whose key directory is ``CX_KEYRING_DIR`` (an
    operator's ``urn:cx:joiner:<name>`` directory, or a local demo's joiner). Its identity
    is that owner, not the consumer group: every group and instance the operator runs
    signs as the one deployment the governance published. Refused (one line, exit code 11)
    when its current key is not in the signed public keyring."""
    return SnapshotSigner(Keyring(settings.keyring_path).deployment_signer("joiner"))
