"""Preparing an event: de-identify, validate, guard and sign one raw record (no I/O).

Apart from delivery so that it can run where there is no producer: in the worker
processes of :mod:`producers.parallel`, in file ingestion and in the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from broker.keyring import Keyring, LinkageKey, Signer
from contracts.envelope import Record, encode_unsigned
from producers.deid import DeidPolicy, PiiGuard, RawRecord, deidentify, opaque_values
from producers.errors import AgencyMismatch

__all__ = ["EventPreparer", "PreparedEvent"]


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A de-identified, guarded, signed record ready to send (no raw value inside)."""

    event_id: UUID
    record: Record

    def __reduce__(self) -> tuple[Any, tuple[bytes, bytes, bytes, tuple[tuple[str, bytes], ...]]]:
        # Worker processes send prepared events back by pickle: as plain bytes and tuples
        # they load in a fraction of the default path (slots, UUID state, nested dataclass).
        record = self.record
        return _prepared_event, (self.event_id.bytes, record.key, record.value, record.headers)


def _prepared_event(
    event_id: bytes, key: bytes, value: bytes, headers: tuple[tuple[str, bytes], ...]
) -> PreparedEvent:
    return PreparedEvent(UUID(bytes=event_id), Record(key, value, headers))


class EventPreparer:
    """De-identify, validate, guard and sign raw records of one agency (CPU only, no I/O).

    Loads the agency's current signing key and every current linkage key from the keyring
    (raises :class:`~broker.keyring.SigningKeyMissing` when the agency has none).
    """

    def __init__(self, agency: str, keyring: Keyring, policy: DeidPolicy | None = None) -> None:
        self.agency = agency
        self.policy = policy or DeidPolicy()
        self._signer: Signer = keyring.signer(agency)
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

    def prepare(self, raw: RawRecord) -> PreparedEvent:
        """The signed record of ``raw``; raises a value-free error when it cannot be made."""
        return self._prepare(raw, self._linkage)

    def prepare_all(self, raw: RawRecord, now: datetime | None = None) -> list[PreparedEvent]:
        """:meth:`prepare`, and during a linkage-key rotation's overlap also the record
        under the previous key (a second event, its own event id), so that journeys begun
        under the old key stay whole (``producers/deid/TOKENS.md``, "Rotation")."""
        events = [self._prepare(raw, self._linkage)]
        current = self._linkage.get(raw.life_experience)
        previous = self._previous.get(raw.life_experience)
        when = now or datetime.now(UTC)
        if (
            previous is not None
            and current is not None
            and current.overlap_until is not None
            and when < current.overlap_until
        ):
            events.append(self._prepare(raw, {**self._linkage, raw.life_experience: previous}))
        return events

    def _prepare(self, raw: RawRecord, linkage: dict[str, LinkageKey]) -> PreparedEvent:
        if raw.agency != self.agency:
            raise AgencyMismatch(
                f"a record of agency {raw.agency} was given to the publisher of {self.agency}"
            )
        event = deidentify(raw, linkage, self.policy)
        record = encode_unsigned(event)
        # guard_record without its look for a signature header: this record has none yet.
        PiiGuard(raw).check(
            record.value, record.headers, key=record.key, opaque=opaque_values(event)
        )
        return PreparedEvent(event.event_id, self._signer.sign(record))
