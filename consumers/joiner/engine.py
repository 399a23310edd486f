"""The joiner's Kafka edge: consume agency topics, fold, produce, all in one transaction.

This module runs the joiner: it connects the transactional producer, the changelog
restorer and the consumer, polls batches, and hands each one to a
:class:`~consumers.joiner.batch.Transaction` (the exactly-once steps of one batch: fold,
write, commit Kafka, then commit SQLite). Partition ownership across rebalances lives in
:mod:`consumers.joiner.rebalance`. One transactional producer per process, id
``<group>.<instance>``: a restarted instance fences its predecessor and aborts its open
transaction; offsets carry the group metadata, so a stalled instance (a zombie) is
fenced too (KIP-447, see :mod:`consumers.joiner.fencing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from broker.admin import admin_client
from broker.errors import GroupFenced
from broker.kafka.kip447 import GroupAwareCommits, group_metadata
from broker.settings import Settings
from consumers.joiner.batch import BatchContext, Transaction
from consumers.joiner.copartition import describe_partition_counts, verify_copartitioning
from consumers.joiner.fencing import Fencing, seek_to_stable, stable_offsets
from consumers.joiner.health import OutageTracker
from consumers.joiner.keys import keyring_verifier
from consumers.joiner.outbox import BATCH_BYTES
from consumers.joiner.provenance import SnapshotSigner, snapshot_signer
from consumers.joiner.rebalance import Ownership, Partition, Rebalance, rewind
from consumers.joiner.stats import JoinerStats
from consumers.joiner.validate import SignatureVerifier, TimeBounds
from consumers.journey.processor import DEFAULT_CACHE_SIZE, DEFAULT_GRACE, JourneyProcessor
from consumers.journey.rules import JoinRules, load_rules
from consumers.state.recovery import Restorer
from consumers.state.sqlite import SqliteStore
from contracts.catalog import load_catalog
from contracts.registry import load_registry

__all__ = ["Joiner", "JoinerStats"]

log = logging.getLogger("cx.joiner")

_POLL_MS = 250
# How long a batch may wait for more already-fetched records before it is processed.
_LINGER_MS = 10


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
        group: str = "cx.joiner",
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
        signer: SnapshotSigner | None = None,
    ) -> None:
        self.settings, self.group, self.instance, self.grace = settings, group, instance, grace
        self.until_idle, self.max_batch, self.cache_size = until_idle, max_batch, cache_size
        self.status_interval, self.stats = status_interval, JoinerStats()
        self.rules = rules or load_rules()
        self.time_bounds = time_bounds or TimeBounds()
        if session_timeout_ms < 1000:
            raise ValueError("session_timeout_ms must be at least 1000")
        self.session_timeout_ms = session_timeout_ms
        self._verifier, self._signer = verifier, signer
        self._registry = load_registry()
        catalog = load_catalog()
        topics = settings.topics
        self._agency_of_topic = {topics.agency(a.id): a.id for a in catalog.agencies}
        self.agency_topics = sorted(self._agency_of_topic)
        self.changelog_topic = topics.changelog
        self.deadletter_topic = topics.deadletter
        self._joined = {le: topics.joined(le) for le in self.rules.by_id}
        self._protected = {le: topics.protected(le) for le in self.rules.by_id}
        self.state_path: Path = settings.state_dir / "joiner" / group / instance
        self.partitions = 0
        self._stopping = asyncio.Event()
        self._ownership = Ownership()
        self._last_activity = 0.0
        self._producer: Any = None
        self._consumer: Any = None
        self._restorer: Restorer | None = None
        self._context: BatchContext | None = None
        self._commits: GroupAwareCommits | None = None
        self.fencing, self.outage = Fencing(self.transactional_id), OutageTracker()
        self._last_status = ""

    @property
    def transactional_id(self) -> str:
        """Stable per (group, instance): a restart fences the previous incarnation."""
        return f"{self.group}.{self.instance}"

    async def __aenter__(self) -> Joiner:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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
                [*self._joined.values(), *self._protected.values(), self.deadletter_topic],
            )
            counts = await describe_partition_counts(
                admin, [*self._joined.values(), *self._protected.values()]
            )
        # A snapshot goes to its journey's input partition number when its joined topic has
        # as many partitions as the inputs (`cxbroker init` makes it so); otherwise the
        # client partitions it by key.
        same_partitions = frozenset(t for t, n in counts.items() if n == self.partitions)
        if self._verifier is None:
            self._verifier = keyring_verifier(self.settings)
        if self._signer is None:  # the key directory's deployment: urn:cx:joiner:<name>
            self._signer = snapshot_signer(self.settings)  # refused unless published
        kwargs = self.settings.kafka_client_kwargs()
        self._producer = AIOKafkaProducer(
            transactional_id=self.transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=BATCH_BYTES,
            **kwargs,
        )
        await self._producer.start()
        self._commits = GroupAwareCommits(self._producer)
        self._context = self._batch_context(same_partitions)
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
        self._consumer.subscribe(
            self.agency_topics,
            listener=Rebalance(
                self._ownership,
                self._restart_idle_clock,
                lambda revoked: self.fencing.before_revoke(self._consumer, revoked),
            ),
        )
        log.info(
            "joiner %s started: %d agency topics x %d partitions, state in %s",
            self.transactional_id,
            len(self.agency_topics),
            self.partitions,
            self.state_path,
        )

    def _batch_context(self, same_partitions: frozenset[str]) -> BatchContext:
        """What each transaction needs, once the producer and the verifier exist."""
        assert self._verifier is not None and self._signer is not None
        return BatchContext(
            producer=self._producer,
            group=self.group,
            verifier=self._verifier,
            registry=self._registry,
            time_bounds=self.time_bounds,
            agency_of_topic=self._agency_of_topic,
            joined=self._joined,
            same_partitions=same_partitions,
            changelog_topic=self.changelog_topic,
            deadletter_topic=self.deadletter_topic,
            signer=self._signer,
            commits=self._commits,
            protected=self._protected,
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
        ownership = self._ownership
        async with ownership.lock:
            for partition in list(ownership.parts):
                ownership.release(partition)
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
        if self._restorer is not None:
            await self._restorer.stop()
            self._restorer = None

    @property
    def assigned(self) -> bool:
        """True once this member has been assigned partitions (at least once)."""
        return self._ownership.assigned_once

    def journeys(self) -> int:
        """Journeys held in the stores of the owned partitions."""
        return sum(part.processor.journeys() for part in self._ownership.parts.values())

    def _restart_idle_clock(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    async def _restore_pending(self) -> None:
        assert self._restorer is not None
        ownership = self._ownership
        stores: list[SqliteStore] = []
        # The previous owner's last transaction decides where this member starts (its
        # offsets stable first, then the changelog it wrote in the same transaction).
        stable = await stable_offsets(
            self._consumer, (tp for tp in ownership.owned if tp.partition in ownership.pending)
        )
        try:
            for partition in sorted(ownership.pending):
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
            ownership.parts[store.partition] = Partition(store, processor)
        await seek_to_stable(self._consumer, stable)
        ownership.pending.clear()
        self._restart_idle_clock()

    async def run(self) -> JoinerStats:
        """Join until stopped (or idle for ``until_idle`` seconds); return the counters.

        While no broker connection is up, it waits with exponential backoff and logs one
        WARNING status line per attempt; that time never counts as idle.
        """
        loop = asyncio.get_running_loop()
        ownership = self._ownership
        next_status = loop.time() + self.status_interval
        while not self._stopping.is_set():
            if ownership.pending:
                async with ownership.lock:
                    await self._restore_pending()
            generation = ownership.generation
            batch = await self._fetch()
            now = loop.time()
            if any(batch.values()):
                self._kafka_back(now)
                async with ownership.lock:
                    if (
                        generation == ownership.generation
                        and not ownership.pending
                        and generation != self.fencing.fenced_in
                    ):
                        try:
                            await self._process(batch)
                        except GroupFenced as exc:
                            self.fencing.refused(exc, generation)
                            # The rebalance that follows resets every position.
                            with contextlib.suppress(Exception):
                                await rewind(self._consumer, ownership.owned, batch)
                    else:
                        await rewind(self._consumer, ownership.owned, batch)
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
                    and ownership.assigned_once
                    and not ownership.pending
                    and now - self._last_activity >= self.until_idle
                ):
                    log.info("idle for %.1f s: stopping", self.until_idle)
                    break
            if now >= next_status:
                line = self.status_line()  # logged only when a counter moved
                if line != self._last_status:
                    log.info("status %s", line)
                    self._last_status = line
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

    def status_line(self) -> str:
        """Counters, journeys held and owned partitions."""
        return self.stats.line(self.journeys(), sorted(self._ownership.parts))

    async def _process(self, batch: dict[Any, list[Any]]) -> None:
        """One transaction over the records of the partitions still owned (caller holds
        the ownership lock, so no rebalance moves them meanwhile)."""
        ownership = self._ownership
        items = [
            (tp, records) for tp, records in batch.items() if records and tp in ownership.owned
        ]
        if not items:
            return
        partitions = sorted({tp.partition for tp, _ in items})
        parts = {p: ownership.parts[p] for p in partitions}
        assert self._context is not None
        metadata = group_metadata(self._consumer)
        self.stats.merge(await Transaction(self._context, items, parts, metadata).run())
