"""The joiner's Kafka edge: consume agency topics, fold, produce, all in one transaction.

Per batch of ``getmany``: begin a Kafka transaction and a SQLite transaction per touched
partition; per record verify, decode and fold (or dead-letter it); send the changelog
records, snapshots and dead letters; add the consumed offsets to the transaction; commit
Kafka; only then commit SQLite with the changelog position just written. Any error
aborts the Kafka transaction and rolls SQLite back, so local state is never ahead of
what Kafka committed; a restart restores whatever the local files missed from the
changelog. One transactional producer per process, id ``<group>.<instance>``: a
restarted instance fences its predecessor and aborts its open transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka.abc import ConsumerRebalanceListener

from broker.admin import admin_client
from broker.settings import Settings
from consumers.joiner.copartition import describe_partition_counts, verify_copartitioning
from consumers.joiner.health import OutageTracker
from consumers.joiner.keys import keyring_verifier
from consumers.joiner.stats import JoinerStats
from consumers.joiner.validate import (
    Rejection,
    SignatureVerifier,
    TimeBounds,
    check_record,
    deadletter_headers,
    kafka_time,
)
from consumers.journey.processor import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_GRACE,
    Change,
    JourneyProcessor,
)
from consumers.journey.rules import JoinRules, load_rules
from consumers.state.changelog import journey_entry, meta_entry
from consumers.state.recovery import Restorer
from consumers.state.sqlite import SqliteStore
from contracts.catalog import load_catalog
from contracts.registry import load_registry

__all__ = ["SNAPSHOT_HEADERS", "Joiner", "JoinerStats"]

log = logging.getLogger("cx.joiner")

#: Headers of every snapshot record on ``cx.joined.<life experience>``.
SNAPSHOT_HEADERS: list[tuple[str, bytes]] = [
    ("content-type", b"application/json"),
    ("cx_contract", b"urn:cx:contract:journey-snapshot:1.0.0"),
]

_POLL_MS = 250
# How long a batch may wait for more already-fetched records before it is processed.
_LINGER_MS = 10


@dataclass
class _Partition:
    store: SqliteStore
    processor: JourneyProcessor


#: Largest record batch the joiner builds (the broker's default message.max.bytes is 1 MiB).
_BATCH_BYTES = 512 * 1024


class _Outbox:
    """The records of one transaction, appended into closed batches per topic-partition.

    ``send()`` costs a coroutine, a future and a partitioner call per record; appending
    to aiokafka's batch builder (C) and submitting whole batches with ``send_batch`` costs
    a fraction of that. :meth:`submit` returns, per partition, the batch futures and
    record counts (a batch's future gives its base offset).
    """

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], tuple[Any, int]] = {}
        self._full: list[tuple[str, int, Any, int]] = []

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """Append one record for ``topic``/``partition``."""
        slot = (topic, partition)
        builder, count = self._open.get(slot) or (self._producer.create_batch(), 0)
        if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            # Full. An empty batch takes any first record, however large (as Kafka's own
            # producer does; the broker's message.max.bytes then decides), so a fresh one
            # always accepts it.
            self._full.append((topic, partition, builder, count))
            builder, count = self._producer.create_batch(), 0
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                raise RuntimeError("an empty record batch refused a record")
        self._open[slot] = (builder, count + 1)

    async def submit(self) -> list[tuple[str, int, asyncio.Future[Any], int]]:
        """Queue every batch for sending; (topic, partition, future, records) per batch."""
        producer = self._producer
        batches = [*self._full, *((t, p, b, n) for (t, p), (b, n) in self._open.items())]
        self._full, self._open = [], {}
        out = []
        for topic, partition, builder, count in batches:
            builder.close()  # nothing else may be appended to it (send() would)
            future = await producer.send_batch(builder, topic, partition=partition)
            out.append((topic, partition, future, count))
        return out


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Revocation waits for the in-flight batch; assignment queues restores."""

    def __init__(self, joiner: Joiner) -> None:
        self.joiner = joiner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        joiner = self.joiner
        joiner._generation += 1
        async with joiner._lock:  # the in-flight transaction finishes (or aborts) first
            joiner._owned -= set(revoked)
            kept = {tp.partition for tp in joiner._owned}
            for partition in sorted({tp.partition for tp in revoked} - kept):
                joiner._release(partition)
        log.info("revoked partitions %s", sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        joiner = self.joiner
        joiner._generation += 1
        joiner._owned |= set(assigned)
        joiner._pending |= {tp.partition for tp in assigned} - set(joiner._parts)
        joiner._last_activity = asyncio.get_running_loop().time()
        joiner._assigned_once = True
        log.info("assigned partitions %s", sorted({tp.partition for tp in assigned}))


class Joiner:
    """The cross-agency journey joiner (async context manager; :meth:`run` until stopped).

    ``until_idle`` (seconds) makes :meth:`run` return once no record arrived for that
    long after partitions were assigned; otherwise it runs until :meth:`stop_soon`.
    ``time_bounds`` limits how far an event's ``occurred_at`` may lie from its record's
    Kafka timestamp (default: 1 day ahead, 10 years behind); others are dead-lettered
    as ``time-out-of-range``. ``session_timeout_ms`` is the consumer group session: how
    long the partitions of a killed member stay held before a rebalance.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        group: str = "cx-joiner",
        instance: str = "0",
        grace: timedelta = DEFAULT_GRACE,
        until_idle: float | None = None,
        verifier: SignatureVerifier | None = None,
        max_batch: int = 1000,
        cache_size: int = DEFAULT_CACHE_SIZE,
        status_interval: float = 10.0,
        rules: JoinRules | None = None,
        time_bounds: TimeBounds | None = None,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.settings = settings
        self.group = group
        self.instance = instance
        self.grace = grace
        self.until_idle = until_idle
        self.max_batch = max_batch
        self.cache_size = cache_size
        self.status_interval = status_interval
        self.stats = JoinerStats()
        self.rules = rules or load_rules()
        self.time_bounds = time_bounds or TimeBounds()
        if session_timeout_ms < 1000:
            raise ValueError("session_timeout_ms must be at least 1000")
        self.session_timeout_ms = session_timeout_ms
        self._verifier = verifier
        self._registry = load_registry()
        catalog = load_catalog()
        topics = settings.topics
        self._agency_of_topic = {topics.agency(a.id): a.id for a in catalog.agencies}
        self.agency_topics = sorted(self._agency_of_topic)
        self.changelog_topic = topics.changelog
        self.deadletter_topic = topics.deadletter
        self._joined = {le: topics.joined(le) for le in self.rules.by_id}
        self._same_partitions: set[str] = set()
        self.state_path: Path = settings.state_dir / "joiner" / group / instance
        self.partitions = 0
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._owned: set[Any] = set()
        self._pending: set[int] = set()
        self._parts: dict[int, _Partition] = {}
        self._generation = 0
        self._last_activity = 0.0
        self._assigned_once = False
        self._producer: Any = None
        self._consumer: Any = None
        self._restorer: Restorer | None = None
        self.outage = OutageTracker()

    @property
    def transactional_id(self) -> str:
        """Stable per (group, instance): a restart fences the previous incarnation."""
        return f"{self.group}.{self.instance}"

    async def __aenter__(self) -> Joiner:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Check co-partitioning, then connect the producer, restorer and consumer."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
        from aiokafka.coordinator.assignors.range import RangePartitionAssignor

        async with admin_client(self.settings) as admin:
            self.partitions = await verify_copartitioning(
                admin,
                self.agency_topics,
                self.changelog_topic,
                [*self._joined.values(), self.deadletter_topic],
            )
            counts = await describe_partition_counts(admin, list(self._joined.values()))
        # A snapshot goes to its journey's input partition number when its joined topic has
        # as many partitions as the inputs (`cxbroker init` makes it so); otherwise the
        # client partitions it by key.
        self._same_partitions = {t for t, n in counts.items() if n == self.partitions}
        if self._verifier is None:
            self._verifier = keyring_verifier(self.settings)
        kwargs = self.settings.kafka_client_kwargs()
        self._producer = AIOKafkaProducer(
            transactional_id=self.transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=_BATCH_BYTES,
            **kwargs,
        )
        await self._producer.start()
        self._restorer = Restorer(kwargs, self.changelog_topic)
        await self._restorer.start()
        # Range assignment gives one member the same partition number of every agency
        # topic (round robin would split a journey's events across members).
        self._consumer = AIOKafkaConsumer(
            group_id=self.group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            # A member that died without leaving holds its partitions until the session
            # times out: a shorter session (the broker's group.min.session.timeout.ms is
            # 6 s by default) lets a restarted joiner resume sooner. Heartbeats at a third.
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, self.session_timeout_ms // 3),
            **kwargs,
        )
        await self._consumer.start()
        self._consumer.subscribe(self.agency_topics, listener=_Rebalance(self))
        log.info(
            "joiner %s started: %d agency topics x %d partitions, state in %s",
            self.transactional_id,
            len(self.agency_topics),
            self.partitions,
            self.state_path,
        )

    def stop_soon(self) -> None:
        """Ask :meth:`run` to return after the batch in flight."""
        self._stopping.set()

    async def stop(self) -> None:
        """Leave the group and close producer, restorer and stores."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        async with self._lock:
            for partition in list(self._parts):
                self._release(partition)
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
        if self._restorer is not None:
            await self._restorer.stop()
            self._restorer = None

    def journeys(self) -> int:
        """Journeys held in the stores of the owned partitions."""
        return sum(part.processor.journeys() for part in self._parts.values())

    def _release(self, partition: int) -> None:
        part = self._parts.pop(partition, None)
        if part is not None:
            part.store.close()
        self._pending.discard(partition)

    async def _restore_pending(self) -> None:
        assert self._restorer is not None
        stores: list[SqliteStore] = []
        try:
            for partition in sorted(self._pending):
                stores.append(SqliteStore(self.state_path, partition))
            results = await self._restorer.restore_all(stores)
        except BaseException:
            for store in stores:
                store.close()
            raise
        for store, result in zip(stores, results, strict=True):
            self.stats.restored_records += result.records
            processor = JourneyProcessor(
                store, self.rules, grace=self.grace, cache_size=self.cache_size
            )
            self._parts[store.partition] = _Partition(store, processor)
        self._pending.clear()
        self._last_activity = asyncio.get_running_loop().time()

    async def run(self) -> JoinerStats:
        """Join until stopped (or idle for ``until_idle`` seconds); return the counters.

        While no broker connection is up, it waits with exponential backoff and logs one
        WARNING status line per attempt; that time never counts as idle.
        """
        loop = asyncio.get_running_loop()
        next_status = loop.time() + self.status_interval
        while not self._stopping.is_set():
            if self._pending:
                async with self._lock:
                    await self._restore_pending()
            generation = self._generation
            batch = await self._fetch()
            now = loop.time()
            if any(batch.values()):
                self._kafka_back(now)
                async with self._lock:
                    if generation == self._generation and not self._pending:
                        await self._process(batch)
                    else:
                        await self._rewind(batch)
                self._last_activity = loop.time()
            elif not self._kafka_connected():
                delay = self.outage.unreachable(now)
                log.warning("status %s", self.outage.status(delay))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                # An outage is not idleness: --until-idle counts connected time only.
                self._last_activity = loop.time()
                next_status = self._last_activity + self.status_interval
                continue
            else:
                self._kafka_back(now)
                if (
                    self.until_idle is not None
                    and self._assigned_once
                    and not self._pending
                    and now - self._last_activity >= self.until_idle
                ):
                    log.info("idle for %.1f s: stopping", self.until_idle)
                    break
            if now >= next_status:
                log.info("status %s", self.status_line())
                next_status = now + self.status_interval
        log.info("final %s", self.status_line())
        return self.stats

    def _kafka_connected(self) -> bool:
        """True while the consumer holds at least one live broker connection.

        aiokafka swallows fetch and connection errors (``getmany`` just returns nothing),
        so its client's connection table is the only sign of an outage. It is private
        API: if it is missing, assume connected (the old behaviour) rather than fail.
        """
        client = getattr(self._consumer, "_client", None)
        conns = getattr(client, "_conns", None)
        if not isinstance(conns, dict):
            return True
        return any(conn.connected() for conn in conns.values())

    def _kafka_back(self, now: float) -> None:
        length = self.outage.reachable(now)
        if length is not None:
            log.info("status kafka reachable again after %.1f s of outage", length)

    async def _fetch(self) -> dict[Any, list[Any]]:
        """Up to ``max_batch`` records: wait for the first, then take what is already
        fetched (for at most ``_LINGER_MS``), so one transaction covers many records."""
        consumer = self._consumer
        batch: dict[Any, list[Any]] = await consumer.getmany(
            timeout_ms=_POLL_MS, max_records=self.max_batch
        )
        count = sum(len(records) for records in batch.values())
        if not count:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LINGER_MS / 1000
        while count < self.max_batch and (left := deadline - loop.time()) > 0:
            more = await consumer.getmany(
                timeout_ms=int(left * 1000), max_records=self.max_batch - count
            )
            added = sum(len(records) for records in more.values())
            if not added:
                break
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
            count += added
        return batch

    async def _rewind(self, batch: dict[Any, list[Any]]) -> None:
        # Fetched around a rebalance: not processed. Every partition we own goes back to
        # its committed offset (everything we processed is committed, and nothing is in
        # flight while we hold the lock), whichever assignment the records came from.
        for tp, records in batch.items():
            if records and tp in self._owned:
                committed = await self._consumer.committed(tp)
                if committed is None:
                    await self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)

    def status_line(self) -> str:
        """Counters, journeys held and owned partitions."""
        return self.stats.line(self.journeys(), sorted(self._parts))

    async def _process(self, batch: dict[Any, list[Any]]) -> None:
        items = [(tp, records) for tp, records in batch.items() if records and tp in self._owned]
        if not items:
            return
        partitions = sorted({tp.partition for tp, _ in items})
        parts = {p: self._parts[p] for p in partitions}
        stream_before = {p: part.processor.stream_time for p, part in parts.items()}
        producer = self._producer
        verifier = self._verifier
        assert verifier is not None
        for part in parts.values():
            part.store.begin()
        latest_states: dict[int, dict[str, Change]] = defaultdict(dict)
        others: list[asyncio.Future[Any]] = []
        outbox = _Outbox(producer)
        stats = JoinerStats()
        offsets = {tp: records[-1].offset + 1 for tp, records in items}
        committing: asyncio.Task[None] | None = None
        try:
            await producer.begin_transaction()
            # The batch's consumed offsets join the transaction first, as a task: the
            # sender runs AddOffsetsToTxn and TxnOffsetCommit (two sequential coordinator
            # round trips) from the first suspension on, beside the produce requests,
            # instead of after the batches were submitted. They take effect only if the
            # transaction commits.
            committing = asyncio.create_task(
                producer.send_offsets_to_transaction(offsets, self.group)
            )
            for tp, records in items:
                partition = tp.partition
                processor = parts[partition].processor
                agency = self._agency_of_topic.get(tp.topic)
                for record in records:
                    stats.records += 1
                    headers = list(record.headers or ())
                    outcome = check_record(
                        agency,
                        record.key,
                        record.value,
                        headers,
                        verifier,
                        self._registry,
                        record_time=kafka_time(record.timestamp),
                        bounds=self.time_bounds,
                    )
                    if isinstance(outcome, Rejection):
                        stats.dead_letters += 1
                        stats.reasons[outcome.reason] += 1
                        others.append(
                            await producer.send(
                                self.deadletter_topic,
                                record.value,
                                key=record.key,
                                headers=deadletter_headers(
                                    headers, outcome, tp.topic, partition, record.offset
                                ),
                            )
                        )
                        continue
                    step = processor.process(outcome.event)
                    stats.events += 1
                    stats.duplicates += step.duplicate
                    stats.late += step.late
                    for change in step.changes:
                        # Only a journey's last state of this transaction goes to the
                        # (compacted) changelog: the transaction commits all or nothing,
                        # so the versions before it would never be read back.
                        latest_states[partition][change.key] = change
                        joined = self._joined[change.life_experience]
                        key = change.journey_token.encode("ascii")
                        if joined in self._same_partitions:
                            # The journey's input partition number (no Python murmur2).
                            outbox.add(
                                joined, partition, key, change.snapshot_json, SNAPSHOT_HEADERS
                            )
                        else:
                            others.append(
                                await producer.send(
                                    joined, change.snapshot_json, key=key, headers=SNAPSHOT_HEADERS
                                )
                            )
                        stats.snapshots += 1
            changelog = self.changelog_topic
            for partition, latest in latest_states.items():
                for change in latest.values():
                    entry = journey_entry(change.key, change.state, change.due)
                    outbox.add(changelog, partition, entry.key, entry.value, list(entry.headers))
            for partition, part in parts.items():
                stream_time = part.processor.stream_time
                if stream_time is not None and stream_time != stream_before[partition]:
                    entry = meta_entry("stream_time", str(stream_time))
                    outbox.add(changelog, partition, entry.key, entry.value, [])
            submitted = await outbox.submit()
            await committing
            # The changelog position each store will record: one past the last offset
            # written to its changelog partition in this transaction.
            positions: dict[int, int] = {}
            for topic, partition, future, count in submitted:
                metadata = await future
                if topic == changelog:
                    end = metadata.offset + count
                    positions[partition] = max(positions.get(partition, 0), end)
            await asyncio.gather(*others)
            await producer.commit_transaction()
        except BaseException:
            if committing is not None:
                committing.cancel()
                # Wait for it without absorbing a cancellation aimed at this coroutine, and
                # read its outcome; the abort below decides what counts.
                await asyncio.wait([committing])
                if not committing.cancelled():
                    committing.exception()
            with contextlib.suppress(Exception):
                await producer.abort_transaction()
            # Local state follows the aborted transaction back. A failing store (full
            # disk: SQLite already rolled back) must not replace the error being raised.
            for part in parts.values():
                with contextlib.suppress(Exception):
                    part.store.rollback()
                with contextlib.suppress(Exception):
                    part.processor.reload()
            raise
        # Kafka committed: now the local state may follow (a crash right here leaves it
        # behind, and recovery reads the difference back from the changelog).
        for partition, part in parts.items():
            part.store.commit(changelog_position=positions.get(partition))
        stats.transactions = 1
        self.stats.merge(stats)
