"""Delivery of one agency's prepared events: the producer, the outage spool, the drain.

The publisher owns the only mutable delivery state (producer, spool, the lock that
serializes rounds), so that a failed round can move its rest to the spool in key order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from broker.errors import BrokerUnavailable, CxError
from broker.keyring import Keyring
from broker.security.errors import denied_as
from broker.settings import Settings
from contracts.catalog import load_catalog
from contracts.envelope import Record
from contracts.errors import UnknownEntry
from producers.deid import DeidPolicy, RawRecord
from producers.publisher.batches import Outcome, send_in_batches
from producers.publisher.delivery import DeliveryResult, DeliveryStatus
from producers.publisher.kafka import (
    abort_producer,
    explained,
    new_producer,
    refusal,
    start_failure,
    start_producer,
    unavailable,
)
from producers.publisher.prepare import EventPreparer, PreparedEvent
from producers.spool import DEFAULT_MAX_BYTES, Spool, spool_dir

__all__ = ["AgencyPublisher"]

# The package's name, as before it was split: log lines keep their logger name.
_log = logging.getLogger("producers.publisher")

#: Records sent per round while draining the spool.
DRAIN_CHUNK: Final = 500


class AgencyPublisher:
    """Publish one agency's raw records as signed, de-identified events.

    ``async with AgencyPublisher(settings, "ssa") as publisher:`` loads the agency's
    signing key and the linkage keys from ``keyring`` (default: ``settings.keyring_path``),
    opens the outage spool, starts the producer and drains the spool. Kafka being down at
    start is not an error while the spool is enabled (records spool until it returns).

    Errors per record: :class:`AgencyMismatch`, :class:`~contracts.errors.ContractViolation`,
    :class:`~producers.errors.TokenInputMissing`, :class:`~producers.errors.PiiLeak`,
    :class:`~broker.keyring.LinkageKeyMissing`; at start :class:`SigningKeyMissing`; on
    delivery :class:`~broker.errors.BrokerUnavailable` (spool disabled),
    :class:`~producers.spool.SpoolError` (spool unwritable or full),
    :class:`~broker.errors.AccessDenied` (a refused login too). No message holds a raw value.

    Deliveries are serialized (one batch at a time) so that a failure can move the rest of
    a batch to the spool without reordering a key; use :meth:`publish_many` for throughput.
    """

    def __init__(
        self,
        settings: Settings,
        agency: str,
        *,
        keyring: Keyring | None = None,
        policy: DeidPolicy | None = None,
        spool: bool = True,
        spool_max_bytes: int = DEFAULT_MAX_BYTES,
        send_timeout: float = 30.0,
        retry_interval: float = 2.0,
        linger_ms: int = 5,
    ) -> None:
        agency = agency.strip().lower()  # catalog ids are lower-case: SSA is ssa
        try:
            load_catalog().agency(agency)
        except UnknownEntry:
            raise CxError(
                "not an agency id of the catalog; `cxbroker catalog agencies` lists them"
            ) from None
        self.settings, self.agency, self.topic = settings, agency, settings.topics.agency(agency)
        self.policy = policy or DeidPolicy()
        self._keyring = keyring or Keyring(settings.keyring_path)
        self._use_spool, self._spool_max_bytes = spool, spool_max_bytes
        self._send_timeout, self._retry_interval = send_timeout, retry_interval
        self._linger_ms = linger_ms
        self._preparer: EventPreparer | None = None
        self._spool: Spool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock, self._drained, self._wake = asyncio.Lock(), asyncio.Event(), asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._next_attempt, self._closing, self.sent_from_spool = 0.0, False, 0

    def __repr__(self) -> str:
        return f"AgencyPublisher(agency={self.agency!r}, topic={self.topic!r})"

    # ----- lifecycle

    async def __aenter__(self) -> AgencyPublisher:
        self._preparer = EventPreparer(self.agency, self._keyring, self.policy)
        if self._use_spool:
            self._spool = Spool(
                spool_dir(self.settings, self.agency), max_bytes=self._spool_max_bytes
            ).open()
        try:
            async with self._lock:
                await self._connect()
                if self._spool is not None and len(self._spool):
                    await self._drain_locked()
        except BaseException:
            await self._shutdown()
            raise
        self._update_drained()
        if self._spool is not None:
            self._drainer = asyncio.create_task(self._drain_loop(), name=f"spool-{self.agency}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._drainer is not None:
            # A flag, not cancel(): Python 3.11's wait_for can swallow a cancellation that
            # races with its timeout, which would leave the loop running forever.
            self._closing = True
            self._wake.set()
            await self._drainer
            self._drainer = None
        async with self._lock:
            if self._spool is not None and len(self._spool):
                await self._drain_locked()
        await self._shutdown()

    async def _shutdown(self) -> None:
        await self._drop_producer(graceful=True)
        if self._spool is not None:
            left = len(self._spool)
            if left:
                _log.warning(
                    "%d records of %s stay in the outage spool until Kafka is reachable",
                    left,
                    self.agency,
                )
            self._spool.close()
            self._spool = None

    # ----- state

    @property
    def spooled(self) -> int:
        """Records waiting in the outage spool."""
        return len(self._spool) if self._spool is not None else 0

    @property
    def spool(self) -> Spool | None:
        """The outage spool (None when disabled or not started): for metrics."""
        return self._spool

    @property
    def preparer(self) -> EventPreparer | None:
        """The record preparer (None until the publisher is started)."""
        return self._preparer

    @property
    def connected(self) -> bool:
        """True while a started producer is available."""
        return self._producer is not None

    async def wait_drained(self) -> None:
        """Return once the spool is empty (wrap in ``asyncio.wait_for`` for a deadline)."""
        self._wake.set()
        await self._drained.wait()

    async def drain(self) -> int:
        """Try to send the spooled records now; returns how many remain."""
        async with self._lock:
            if self._producer is None:
                await self._connect()
            if self._spool is not None and len(self._spool):
                await self._drain_locked()
            self._update_drained()
            return self.spooled

    # ----- publishing

    def prepare(self, raw: RawRecord) -> PreparedEvent:
        """De-identify, validate, guard and sign one raw record (no I/O)."""
        if self._preparer is None:
            raise CxError("the publisher is not started; use `async with AgencyPublisher(...)`")
        return self._preparer.prepare(raw)

    async def publish(self, raw: RawRecord) -> DeliveryResult:
        """Publish one raw record; see :meth:`publish_many` for batches."""
        (result,) = await self.deliver([self.prepare(raw)])
        return result

    async def publish_many(self, raws: Iterable[RawRecord]) -> list[DeliveryResult]:
        """Publish records pipelined (sent together, awaited together), in order per key.

        Every record is prepared first: if one fails de-identification, validation or the
        PII guard, its error is raised and none of the batch is sent.
        """
        return await self.deliver([self.prepare(raw) for raw in raws])

    async def deliver(self, events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
        """Send prepared events in order, spooling them when Kafka is unreachable.

        One result per event given; an event's overlap copies (``extra``, during a
        linkage-key rotation) are sent right after it, their results folded into its own.
        """
        if any(event.extra for event in events):
            return await self._deliver_with_copies(events)
        return await self._deliver(events)

    async def _deliver_with_copies(self, events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
        flat = [
            PreparedEvent(event.event_id, record) for event in events for record in event.records()
        ]
        results = await self._deliver(flat)
        primary: list[DeliveryResult] = []
        index = 0
        for event in events:
            mine = results[index : index + 1 + len(event.extra)]
            spooled = [r for r in mine if r.status is DeliveryStatus.SPOOLED]
            primary.append(spooled[0] if spooled else mine[0])
            index += len(mine)
        return primary

    async def _deliver(self, events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
        if not events:
            return []
        async with self._lock:
            if self._spool is not None and len(self._spool):
                # Older records wait in the spool: try to clear them first (rate-limited
                # while Kafka stays down), and queue behind them if they remain.
                if self._producer is not None or time.monotonic() >= self._next_attempt:
                    if self._producer is None:
                        await self._connect()
                    await self._drain_locked()
                if len(self._spool):
                    return self._to_spool(events)
            elif self._producer is None:
                await self._connect()
                if self._producer is None:
                    return self._to_spool(events)
            outcomes = await self._send([e.record for e in events])
            failures = [o for o in outcomes if isinstance(o, BaseException)]
            if failures:
                await self._on_failure(failures[0])
                # Only the failed records go to the spool (in order): the others are in
                # Kafka already, and sending them again would duplicate them.
                self._spool_records(
                    [
                        e
                        for e, o in zip(events, outcomes, strict=True)
                        if isinstance(o, BaseException)
                    ],
                    len(events),
                )
            results: list[DeliveryResult] = []
            for event, outcome in zip(events, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    results.append(
                        DeliveryResult(event.event_id, DeliveryStatus.SPOOLED, self.topic)
                    )
                else:
                    partition, offset = outcome
                    results.append(
                        DeliveryResult(
                            event.event_id, DeliveryStatus.SENT, self.topic, partition, offset
                        )
                    )
            return results

    def _to_spool(self, events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
        self._spool_records(events, len(events))
        return [DeliveryResult(e.event_id, DeliveryStatus.SPOOLED, self.topic) for e in events]

    def _spool_records(self, events: Sequence[PreparedEvent], batch: int) -> None:
        if self._spool is None:
            raise BrokerUnavailable(
                f"Kafka is unreachable and the outage spool is disabled: {len(events)} of "
                f"{batch} events of {self.agency} were not sent"
            )
        self._spool.append([e.record for e in events])
        self._drained.clear()

    async def _connect(self) -> None:
        """Start a producer if there is none; stays disconnected when Kafka is down."""
        if self._producer is not None:
            return
        with denied_as(
            self.settings.sasl_username, "write to", f"topic {self.topic}", needed=self.principal
        ):
            producer = new_producer(
                self.settings, send_timeout=self._send_timeout, linger_ms=self._linger_ms
            )
        try:
            await start_producer(producer, self.topic, self._send_timeout)
        except BaseException as exc:
            await abort_producer(producer, self._send_timeout)
            self._next_attempt = time.monotonic() + self._retry_interval
            if isinstance(exc, asyncio.CancelledError):
                raise
            exc = await explained(exc, self.settings)  # a refused login is not an outage
            refused = self._refusal(exc)
            error = start_failure(exc, self.topic, refused, spooling=self._spool is not None)
            if error is not None:
                raise error from None
            _log.info("Kafka unreachable for %s (%s); spooling", self.agency, type(exc).__name__)
            return
        self._producer = producer

    async def _send(self, records: Sequence[Record]) -> list[Outcome]:
        """Send one round (see :func:`~producers.publisher.batches.send_in_batches`)."""
        producer = self._producer
        assert producer is not None
        return await send_in_batches(producer, self.topic, records, self._send_timeout)

    @property
    def principal(self) -> str:
        """The access plan's principal that may publish for this agency."""
        return f"agency-{self.agency}"

    def _refusal(self, exc: BaseException) -> CxError:
        return refusal(exc, self.topic, self.settings.sasl_username, self.principal)

    async def _on_failure(self, exc: BaseException) -> None:
        exc = await explained(exc, self.settings)
        if not unavailable(exc):
            raise self._refusal(exc) from None
        # A fresh producer (new producer id, no stale sequence numbers) sends the spool.
        await self._drop_producer()
        self._next_attempt = time.monotonic() + self._retry_interval
        _log.info("Kafka unreachable for %s (%s); spooling", self.agency, type(exc).__name__)

    async def _drain_locked(self) -> None:
        """Send spooled records in order, committing each acknowledged prefix."""
        spool = self._spool
        assert spool is not None
        while len(spool) and self._producer is not None:
            chunk = list(spool.pending(DRAIN_CHUNK))
            outcomes = await self._send([record for _, record in chunk])
            sent = 0
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    break
                sent += 1
            if sent:
                spool.commit(chunk[sent - 1][0], sent)
                self.sent_from_spool += sent
            if sent < len(chunk):
                failure = outcomes[sent]
                assert isinstance(failure, BaseException)
                await self._on_failure(failure)
        self._update_drained()

    def _update_drained(self) -> None:
        if self.spooled == 0:
            self._drained.set()
        else:
            self._drained.clear()

    async def _drain_loop(self) -> None:
        """Retry the drain while records wait, every ``retry_interval`` or when woken."""
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing or not self.spooled:
                continue
            try:
                await self.drain()
            except CxError as exc:
                # Keep the records; the error is reported again on the next publish.
                _log.warning("draining the outage spool of %s failed: %s", self.agency, exc)
            except Exception as exc:  # the loop must outlive one bad round
                _log.warning(
                    "draining the outage spool of %s failed: %s", self.agency, type(exc).__name__
                )

    async def _drop_producer(self, *, graceful: bool = False) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        if graceful:
            # Every send was awaited, so nothing is pending and stop() returns quickly.
            try:
                await asyncio.wait_for(producer.stop(), self._send_timeout)
                return
            except (TimeoutError, KafkaError, OSError):
                pass
        await abort_producer(producer, self._send_timeout)
