"""The agency publisher: raw record in, signed de-identified event on ``cx.events.<agency>``.

Each record goes through de-identification (journey token, age band, ZIP3, scrubbed text),
contract validation (the event model), the PII guard over the final bytes (key, value,
headers), Ed25519 signing, and an idempotent producer (``acks=all``) keyed by the journey
token, so every event of one journey lands on one partition in publish order.

While Kafka cannot be reached (the producer does not start, a send times out or loses its
connection) the signed records go to the agency's outage spool (:mod:`producers.spool`)
instead, and every later record queues behind them until the spool drained: per-key order
is kept across an outage. A background task retries the drain; opening a publisher drains
what an earlier process left.

Delivery from the spool is at least once: a send that timed out may still have been
written, and is then sent again. The copies carry the same ``ce_id``/``event_id``, which
consumers use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from aiokafka.partitioner import murmur2

from broker.errors import AccessDenied, BrokerUnavailable, CxError, SigningKeyMissing
from broker.keyring import Keyring, LinkageKey, Signer
from broker.settings import Settings
from contracts.catalog import load_catalog
from contracts.envelope import Record, encode_unsigned
from contracts.errors import ContractViolation, UnknownEntry
from producers.deid import DeidPolicy, PiiGuard, RawRecord, deidentify, opaque_values
from producers.errors import AgencyMismatch, PiiLeak
from producers.spool import DEFAULT_MAX_BYTES, Spool

__all__ = [
    "AgencyPublisher",
    "ContractViolation",
    "DeliveryResult",
    "DeliveryStatus",
    "EventPreparer",
    "PiiLeak",
    "PreparedEvent",
    "SigningKeyMissing",
    "spool_dir",
]

_log = logging.getLogger(__name__)

#: Records sent per round while draining the spool.
DRAIN_CHUNK: Final = 500


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

    def __repr__(self) -> str:
        return f"EventPreparer(agency={self.agency!r})"

    def prepare(self, raw: RawRecord) -> PreparedEvent:
        """The signed record of ``raw``; raises a value-free error when it cannot be made."""
        if raw.agency != self.agency:
            raise AgencyMismatch(
                f"a record of agency {raw.agency} was given to the publisher of {self.agency}"
            )
        event = deidentify(raw, self._linkage, self.policy)
        record = encode_unsigned(event)
        # guard_record without its look for a signature header: this record has none yet.
        PiiGuard(raw).check(
            record.value, record.headers, key=record.key, opaque=opaque_values(event)
        )
        return PreparedEvent(event.event_id, self._signer.sign(record))


class DeliveryStatus(StrEnum):
    """Where a published event is: acknowledged by Kafka, or durably in the outage spool."""

    SENT = "sent"
    SPOOLED = "spooled"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one publish. ``partition``/``offset`` are set when ``SENT``."""

    event_id: UUID
    status: DeliveryStatus
    topic: str
    partition: int | None = None
    offset: int | None = None


def spool_dir(settings: Settings, agency: str) -> Path:
    """The spool directory of one agency under the state dir."""
    return settings.state_dir / "spool" / agency


def _unavailable(exc: BaseException) -> bool:
    """True for errors that mean "Kafka is not reachable now", which the spool absorbs."""
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError | OutOfOrderSequenceNumber):
        return True
    if isinstance(exc, ProducerClosed | asyncio.TimeoutError | OSError):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


def _fatal(exc: BaseException, topic: str) -> CxError:
    if isinstance(exc, TopicAuthorizationFailedError):
        return AccessDenied(f"this principal may not write to {topic}")
    return CxError(f"Kafka refused the records for {topic}: {type(exc).__name__}")


def key_partition(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the Java client's default partitioner picks for ``key`` (murmur2)."""
    return partitions[(int(murmur2(key)) & 0x7FFFFFFF) % len(partitions)]


class _Batches:
    """Records of one topic appended into per-partition batches, submitted in order.

    A full batch is submitted at once, so order per partition holds. aiokafka's builder
    takes any record into an empty batch: an oversized record travels alone in its own
    batch, and the broker's refusal fails that batch only. (Should a builder ever refuse
    a first record, it goes with ``send()``, which checks ``max_request_size`` itself.)
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, partitions: list[int]) -> None:
        self._producer = producer
        self._topic = topic
        self._partitions = partitions
        #: partition -> (open batch, records in it, the future it will have)
        self._open: dict[int, tuple[Any, int, asyncio.Future[Any]]] = {}

    async def add(self, record: Record) -> tuple[asyncio.Future[Any], int]:
        """Append ``record``; its batch's future (set once sent) and its index in the batch."""
        partition = key_partition(record.key, self._partitions)
        headers = list(record.headers)
        slot = self._open.get(partition)
        if slot is not None:
            builder, count, future = slot
            if builder.append(timestamp=None, key=record.key, value=record.value, headers=headers):
                self._open[partition] = (builder, count + 1, future)
                return future, count
            await self._submit(partition)
        builder = self._producer.create_batch()
        if builder.append(timestamp=None, key=record.key, value=record.value, headers=headers):
            future = asyncio.get_running_loop().create_future()
            self._open[partition] = (builder, 1, future)
            return future, 0
        alone: asyncio.Future[Any] = await self._producer.send(
            self._topic, record.value, key=record.key, partition=partition, headers=headers
        )
        return alone, 0

    async def _submit(self, partition: int) -> None:
        builder, _, future = self._open[partition]
        builder.close()  # nothing else may be appended to it (send() would)
        sent = await self._producer.send_batch(builder, self._topic, partition=partition)
        del self._open[partition]  # only once submitted: fail() settles it otherwise
        _chain(sent, future)

    async def flush(self) -> None:
        """Submit every open batch."""
        for partition in list(self._open):
            await self._submit(partition)

    def fail(self, error: BaseException) -> None:
        """Settle the futures of batches never submitted with ``error``."""
        for _, _, future in self._open.values():
            if not future.done():
                future.set_exception(error)
        self._open.clear()


def _chain(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    """Settle ``target`` as ``source`` settles."""

    def settle(done: asyncio.Future[Any]) -> None:
        # The error is read even when ``target`` is settled already (cancelled after the
        # send timeout): an unread one would be logged as "never retrieved".
        error = None if done.cancelled() else done.exception()
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif error is not None:
            target.set_exception(error)
        else:
            target.set_result(done.result())

    source.add_done_callback(settle)


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
    :class:`~broker.errors.AccessDenied`. None of their messages holds a raw value.

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
        try:
            load_catalog().agency(agency)
        except UnknownEntry:
            raise CxError(f"{agency!r} is not an agency of the catalog") from None
        self.settings = settings
        self.agency = agency
        self.topic = settings.topics.agency(agency)
        self.policy = policy or DeidPolicy()
        self._keyring = keyring or Keyring(settings.keyring_path)
        self._use_spool = spool
        self._spool_max_bytes = spool_max_bytes
        self._send_timeout = send_timeout
        self._retry_interval = retry_interval
        self._linger_ms = linger_ms
        self._preparer: EventPreparer | None = None
        self._spool: Spool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._drained = asyncio.Event()
        self._wake = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._next_attempt = 0.0
        self._closing = False
        self.sent_from_spool = 0

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
        """Send prepared events in order, spooling them when Kafka is unreachable."""
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

    # ----- internals

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
        producer = AIOKafkaProducer(
            **self.settings.kafka_client_kwargs(),
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self._send_timeout * 1000),
            linger_ms=self._linger_ms,
            max_batch_size=256 * 1024,
        )
        try:
            await asyncio.wait_for(producer.start(), self._send_timeout)
            # Fails here (instead of spooling forever) when the topic does not exist; the
            # outer deadline is longer so that aiokafka's own "unknown topic" error wins.
            await asyncio.wait_for(producer.partitions_for(self.topic), self._send_timeout + 5)
        except BaseException as exc:
            await self._abort(producer)
            self._next_attempt = time.monotonic() + self._retry_interval
            if isinstance(exc, asyncio.CancelledError):
                raise
            if isinstance(exc, UnknownTopicOrPartitionError):
                raise CxError(
                    f"topic {self.topic} does not exist; run `cxbroker init` first"
                ) from None
            if not _unavailable(exc):
                raise _fatal(exc, self.topic) from None
            if self._spool is None:
                raise BrokerUnavailable(
                    f"cannot reach Kafka for {self.topic} ({type(exc).__name__}); "
                    "check CX_BOOTSTRAP_SERVERS or `cxbroker kafka status`"
                ) from None
            _log.info("Kafka unreachable for %s (%s); spooling", self.agency, type(exc).__name__)
            return
        self._producer = producer

    async def _send(self, records: Sequence[Record]) -> list[tuple[int, int] | BaseException]:
        """Enqueue every record (the producer batches them), then await all acks.

        Records are appended to aiokafka's batch builder (C) per partition and submitted
        whole with ``send_batch``: ``send()`` per record costs a coroutine, a future and a
        partitioner call each, more than the rest of delivery together. The partition is
        the Java client's default for the key (murmur2), so agency topics stay
        co-partitioned with publishers in other languages; order per partition is kept.

        An idempotent aiokafka producer never expires a batch: it retries until the broker
        answers. A record not acknowledged within ``send_timeout`` counts as failed here
        (it goes to the spool) and the caller aborts the producer so it cannot be sent twice.
        """
        producer = self._producer
        assert producer is not None
        # Per record: the future of its batch (or of its own send) and its index in it.
        slots: list[tuple[asyncio.Future[Any], int]] = []
        failure: BaseException | None = None
        batches: _Batches | None = None
        try:
            partitions = sorted(await producer.partitions_for(self.topic))
            batches = _Batches(producer, self.topic, partitions)
            for record in records:
                slots.append(await batches.add(record))
            await batches.flush()
        except KafkaError as exc:
            failure = exc
            if batches is not None:
                batches.fail(exc)  # their records fail now, not after the send timeout
        futures = {id(future): future for future, _ in slots}
        if futures:
            await asyncio.wait(futures.values(), timeout=self._send_timeout)
        # Records share their batch's future: settle each future once, then read it per record.
        timed_out = set()
        for key, future in futures.items():
            if not future.done():
                future.cancel()
                timed_out.add(key)
        outcomes: list[tuple[int, int] | BaseException] = []
        for future, index in slots:
            if id(future) in timed_out:
                outcomes.append(KafkaTimeoutError("no acknowledgement within the send timeout"))
            elif future.cancelled():
                outcomes.append(ProducerClosed())
            elif (error := future.exception()) is not None:
                outcomes.append(error)
            else:
                metadata = future.result()
                outcomes.append((metadata.partition, metadata.offset + index))
        if failure is not None:
            outcomes += [failure] * (len(records) - len(slots))
        return outcomes

    async def _on_failure(self, exc: BaseException) -> None:
        if not _unavailable(exc):
            raise _fatal(exc, self.topic) from None
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
        await self._abort(producer)

    async def _abort(self, producer: AIOKafkaProducer) -> None:
        """Close a producer *without* delivering what it still holds.

        ``stop()`` would flush, i.e. wait for the broker and then deliver records that are
        already in the spool (duplicates). Cancelling the sender task first drops them:
        aiokafka's sender then only finishes requests already on the wire.
        """
        sender = getattr(producer, "_sender", None)
        with contextlib.suppress(Exception):
            if sender is not None:
                await asyncio.wait_for(sender.close(), self._send_timeout)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.client.close(), self._send_timeout)
        producer._closed = True  # keeps aiokafka's __del__ quiet
