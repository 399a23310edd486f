"""Preparing an event: de-identify, validate, guard and sign one raw record (no I/O).

Apart from delivery so that it can run where there is no producer: in the worker
processes of :mod:`producers.parallel`, in file ingestion and in the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from broker.keyring import Keyring, LinkageKey, RecordIdKey, Signer
from contracts.envelope import Record, encode_unsigned
from producers.deid import DeidPolicy, PiiGuard, RawRecord, deidentify, opaque_values
from producers.errors import AgencyMismatch

__all__ = ["EventPreparer", "PreparedEvent"]


_Wire = tuple[bytes, bytes, tuple[tuple[str, bytes], ...]]


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A de-identified, guarded, signed record ready to send (no raw value inside).

    ``extra``: during a linkage-key rotation's overlap, the same event under the previous
    key (its own token and ``linkage_key_id``); whoever delivers the event sends them too.
    """

    event_id: UUID
    record: Record
    extra: tuple[Record, ...] = ()

    def __reduce__(
        self,
    ) -> tuple[Any, tuple[bytes, bytes, bytes, tuple[tuple[str, bytes], ...], tuple[_Wire, ...]]]:
        # Worker processes send prepared events back by pickle: as plain bytes and tuples
        # they load in a fraction of the default path (slots, UUID state, nested dataclass).
        record = self.record
        extra = tuple((r.key, r.value, r.headers) for r in self.extra)
        return _prepared_event, (
            self.event_id.bytes,
            record.key,
            record.value,
            record.headers,
            extra,
        )

    def records(self) -> tuple[Record, ...]:
        """Every record to send for this event: the record, then the overlap copies."""
        return (self.record, *self.extra)


def _prepared_event(
    event_id: bytes,
    key: bytes,
    value: bytes,
    headers: tuple[tuple[str, bytes], ...],
    extra: tuple[_Wire, ...] = (),
) -> PreparedEvent:
    return PreparedEvent(
        UUID(bytes=event_id), Record(key, value, headers), tuple(Record(*r) for r in extra)
    )


class EventPreparer:
    """De-identify, validate, guard and sign raw records of one agency (CPU only, no I/O).

    Loads the agency's current signing key, its record-id secret (event ids are keyed
    hashes under it, never the caller's id) and every current linkage key from the keyring
    (raises :class:`~broker.keyring.SigningKeyMissing` or
    :class:`~broker.keyring.RecordIdKeyMissing` when the agency has none).
    """

    def __init__(self, agency: str, keyring: Keyring, policy: DeidPolicy | None = None) -> None:
        self.agency = agency
        self.policy = policy or DeidPolicy()
        self._signer: Signer = keyring.signer(agency)
        self._record_key: RecordIdKey = keyring.record_id_key(agency)
        self._linkage: dict[str, LinkageKey] = keyring.linkage_keys()
        # During a rotation's overlap, the previous key of a life experience (with the end
        # of the overlap on the current key): prepare_all makes a token under it too.
        self._previous: dict[str, LinkageKey] = {}
        for le, current in self._linkage.items():
            if current.overlap_until is not None:
                history = keyring.linkage_history(le)
                if len(history) > 1:
                    self._previous[le] = history[-2]

    def __repr__(self) -> str:
        return f"EventPreparer(agency={self.agency!r})"

    def prepare(self, raw: RawRecord, now: datetime | None = None) -> PreparedEvent:
        """The signed record of ``raw``; raises a value-free error when it cannot be made.

        During a linkage-key rotation's overlap (until ``overlap_until`` of the current
        key) the event also carries, in ``extra``, its record under the previous key, so
        that journeys begun under the old key stay whole (``producers/deid/TOKENS.md``,
        "Rotation"); :meth:`AgencyPublisher.deliver` sends both.
        """
        primary = self._prepare(raw, self._linkage)
        current = self._linkage.get(raw.life_experience)
        previous = self._previous.get(raw.life_experience)
        if previous is None or current is None or current.overlap_until is None:
            return primary
        if (now or datetime.now(UTC)) >= current.overlap_until:
            return primary
        copy = self._prepare(raw, {**self._linkage, raw.life_experience: previous})
        return PreparedEvent(primary.event_id, primary.record, (copy.record,))

    def prepare_all(self, raw: RawRecord, now: datetime | None = None) -> list[PreparedEvent]:
        """:meth:`prepare` as one prepared event per record (the overlap copies apart)."""
        prepared = self.prepare(raw, now)
        return [PreparedEvent(prepared.event_id, record) for record in prepared.records()]

    def _prepare(self, raw: RawRecord, linkage: dict[str, LinkageKey]) -> PreparedEvent:
        if raw.agency != self.agency:
            raise AgencyMismatch(
                f"a record of agency {raw.agency} was given to the publisher of {self.agency}"
            )
        event = deidentify(raw, linkage, self.policy, record_key=self._record_key)
        record = encode_unsigned(event)
        # guard_record without its look for a signature header: this record has none yet.
        PiiGuard(raw).check(
            record.value, record.headers, key=record.key, opaque=opaque_values(event)
        )
        return PreparedEvent(event.event_id, self._signer.sign(record))
