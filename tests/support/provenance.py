"""Snapshot records as the joiner writes them: CloudEvents headers and a deployment signature."""

from __future__ import annotations

from broker.keyring import Keyring
from broker.keyring.deployment import DeploymentSigner
from broker.settings import Settings
from consumers.joiner.provenance import SnapshotSigner
from consumers.journey.processor import Change
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = ["protected_record", "snapshot_record"]


def snapshot_record(
    settings: Settings, snapshot: JourneySnapshot, signer: DeploymentSigner | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and signed headers of ``snapshot``, signed by ``signer`` or else by the
    joiner deployment of ``settings``' keyring (its key published there, as a running
    joiner's)."""
    signer = signer or Keyring(settings.keyring_path).deployment_signer("joiner")
    value = snapshot.model_dump_json().encode()
    key = snapshot.journey_token.encode()
    change = Change(
        key=f"{snapshot.life_experience}|{snapshot.journey_token}",
        state=b"",
        due=None,
        life_experience=snapshot.life_experience,
        journey_token=snapshot.journey_token,
        snapshot_json=value,
        version=snapshot.snapshot_version,
        last_us=int(snapshot.last_event_at.timestamp()) * 1_000_000
        + snapshot.last_event_at.microsecond,
    )
    return key, value, SnapshotSigner(signer).headers(change, key)


def protected_record(
    settings: Settings, record: ProtectedSnapshot
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and signed headers of the k-protected ``record`` as the joiner releases it."""
    signer = Keyring(settings.keyring_path).deployment_signer("joiner")
    value = record.model_dump_json().encode()
    key = record.journey_token.encode()
    change = Change(
        key=f"{record.life_experience}|{record.journey_token}",
        state=b"",
        due=None,
        life_experience=record.life_experience,
        journey_token=record.journey_token,
        snapshot_json=None,
        protected_json=value,
        version=record.snapshot_version,
    )
    return key, value, SnapshotSigner(signer).protected_headers(change, key)
