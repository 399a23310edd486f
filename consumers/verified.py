"""Verified reading of the records the project writes: joined snapshots and insights.

Every record on ``cx.joined.<le>`` (1.0.0), ``cx.protected.<le>`` (k-protected 2.0.0) and
``cx.insights.<le>`` is a CloudEvent signed by the
deployment that wrote it (:mod:`contracts.provenance`). :class:`VerifiedReader` checks a
received record, in order: the CloudEvents header set and the contract it names, the
signature with the governance-signed public keyring (the deployment's key must be an
entry whose owner is the record's ``ce_source``, neither revoked nor expired at the
record's time; :mod:`broker.keyring.deployment`), the payload against its contract, and
that the Kafka key, ``ce_id``, ``ce_cxlifeexp`` and ``ce_time`` agree with the payload.
Any failure raises :class:`~consumers.errors.RecordRejected` with a stable reason and a
message that names headers and fields, never a value. ``subscribe()``, ``cxbroker tail``,
the insights service and the FastStream integration all read through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from broker.errors import SignatureInvalid
from broker.keyring.deployment import DeploymentVerifier
from broker.keyring.public import PublicKeyring
from consumers.errors import RecordRejected
from contracts.errors import DecodeError, describe_validation_error
from contracts.insights import InsightCell, InsightRelease
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot
from contracts.provenance import (
    DeploymentKind,
    ProvenanceHeaders,
    cell_id,
    check_headers,
    manifest_id,
    protected_id,
    protected_time,
    snapshot_id,
)

__all__ = ["Rejection", "VerifiedReader", "kafka_time"]

Headers = Iterable[tuple[str, bytes | None]]
M = TypeVar("M", JourneySnapshot, ProtectedSnapshot, InsightCell, InsightRelease)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rejected record's coordinates and reason (never its key or value)."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str


class VerifiedReader:
    """Checks and decodes joined and insights records (module docstring)."""

    __slots__ = ("_verifier",)

    def __init__(self, keyring: Path | PublicKeyring) -> None:
        """``keyring``: the reader's key directory (``CX_KEYRING_DIR``: an organisation's
        directory or a local-demo root), a ``public-keyring.json`` with its trust anchor
        beside it, or a loaded :class:`PublicKeyring`. Refused (one line, at
        :meth:`load_keyring` or the first record) unless it verifies under the pinned
        governance key."""
        self._verifier = DeploymentVerifier(keyring)

    def __repr__(self) -> str:
        return f"VerifiedReader({self._verifier!r})"

    def load_keyring(self) -> None:
        """Load and verify the public keyring now (else at the first record): a reader that
        starts consuming calls it first, so a missing or refused keyring stops it at once."""
        self._verifier.load()

    def _checked(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        expected: Sequence[
            type[JourneySnapshot]
            | type[ProtectedSnapshot]
            | type[InsightCell]
            | type[InsightRelease]
        ],
        kind: DeploymentKind,
        at: datetime | None,
    ) -> ProvenanceHeaders:
        header_list = list(headers)
        try:
            found = check_headers(header_list, expected=expected)
            if found.kind != kind:
                raise RecordRejected(
                    "wrong-source", f"ce_source is not a {kind} deployment for this topic"
                )
            self._verifier.verify(key, value, header_list, at=at)
        except (DecodeError, SignatureInvalid) as exc:
            raise RecordRejected(exc.reason, str(exc)) from None
        return found

    def snapshot(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        *,
        at: datetime | None = None,
    ) -> JourneySnapshot:
        """A verified :class:`JourneySnapshot`, or :class:`RecordRejected` (``at``: the
        record's Kafka time, against which revocation and expiry are judged; default now)."""
        found = self._checked(key, value, headers, (JourneySnapshot,), "joiner", at)
        assert value is not None  # a signature over a value was verified
        snapshot = _parse(JourneySnapshot, value)
        if key != snapshot.journey_token.encode("ascii"):
            raise RecordRejected("key-mismatch", "the record key is not the snapshot's token")
        _agree(found, snapshot.life_experience, snapshot.last_event_at)
        expected_id = snapshot_id(
            snapshot.life_experience, snapshot.journey_token, snapshot.snapshot_version
        )
        if found.ce_id != expected_id:
            raise RecordRejected("header-mismatch", "ce_id is not the snapshot's id")
        return snapshot

    def protected(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        *,
        at: datetime | None = None,
    ) -> ProtectedSnapshot:
        """A verified k-protected :class:`ProtectedSnapshot` (2.0.0, ``cx.protected.<le>``),
        or :class:`RecordRejected`."""
        found = self._checked(key, value, headers, (ProtectedSnapshot,), "joiner", at)
        assert value is not None  # a signature over a value was verified
        record = _parse(ProtectedSnapshot, value)
        if key != record.journey_token.encode("ascii"):
            raise RecordRejected("key-mismatch", "the record key is not the snapshot's token")
        _agree(found, record.life_experience, protected_time(record.start))
        expected_id = protected_id(
            record.life_experience, record.journey_token, record.snapshot_version
        )
        if found.ce_id != expected_id:
            raise RecordRejected("header-mismatch", "ce_id is not the snapshot's id")
        return record

    def journey(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        *,
        protected: bool,
        at: datetime | None = None,
    ) -> JourneySnapshot | ProtectedSnapshot:
        """:meth:`protected` (a ``cx.protected.<le>`` record) or :meth:`snapshot`."""
        if protected:
            return self.protected(key, value, headers, at=at)
        return self.snapshot(key, value, headers, at=at)

    def insight(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        *,
        at: datetime | None = None,
    ) -> InsightCell | InsightRelease:
        """A verified insight cell or release manifest, or :class:`RecordRejected`."""
        found = self._checked(key, value, headers, (InsightCell, InsightRelease), "insights", at)
        assert value is not None
        item: InsightCell | InsightRelease
        if found.contract_name == InsightRelease.contract_name:
            item = _parse(InsightRelease, value)
            expected_id = manifest_id(item.key(), item.release)
        else:
            item = _parse(InsightCell, value)
            expected_id = cell_id(item.key(), item.release)
        if key != item.key().encode():
            raise RecordRejected("key-mismatch", "the record key is not the payload's key")
        if found.life_experience != item.life_experience:
            raise RecordRejected(
                "header-mismatch", "ce_cxlifeexp differs from the payload's life_experience"
            )
        if found.ce_id != expected_id:
            raise RecordRejected("header-mismatch", "ce_id is not the record's id")
        return item


def kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A Kafka record timestamp (ms since the epoch) as the time a key is judged at."""
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def _parse(model: type[M], value: bytes) -> M:
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        error = describe_validation_error(exc, f"{model.contract_name} payload")
        raise RecordRejected("contract-violation", str(error)) from None


def _agree(found: ProvenanceHeaders, life_experience: str, time: datetime) -> None:
    if found.life_experience != life_experience:
        raise RecordRejected(
            "header-mismatch", "ce_cxlifeexp differs from the payload's life_experience"
        )
    if datetime.fromisoformat(found.time) != time:
        raise RecordRejected("header-mismatch", "ce_time differs from the payload's time")
