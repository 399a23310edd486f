"""One batch of the joiner as one Kafka transaction: the exactly-once steps, in order.

For the records of one ``getmany`` (see :class:`Transaction`):

1. begin the SQLite transaction of every touched partition, then the Kafka transaction;
2. add the consumed offsets to the Kafka transaction, as a task started before anything
   is sent (its coordinator round trips then overlap the produce requests), with the
   group metadata of the fetch (TxnOffsetCommit v3, KIP-447): a member that lost its
   partitions (a zombie) is refused there, and its whole transaction aborts;
3. check each record: dead-letter a rejected one, fold a good one and send the snapshot of
   every journey it changed, and a tombstone (null value) for every journey it pruned
   (closed for longer than its retention), so compaction removes it from the joined topic;
4. append each changed journey's last state, or a tombstone for a pruned one (and a moved
   stream time) to the changelog;
5. submit the appended batches, wait for the offsets, read the changelog position each
   partition reached, and wait for every record sent one by one;
6. commit Kafka, and only then commit SQLite with that changelog position.

Any error before the Kafka commit aborts the Kafka transaction and rolls SQLite back, so
local state is never ahead of what Kafka committed. A crash between the two commits
leaves local state behind, and a restart reads the difference back from the changelog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from broker.kafka.kip447 import GroupAwareCommits, GroupMetadata
from consumers.joiner.outbox import Outbox
from consumers.joiner.provenance import SnapshotSigner
from consumers.joiner.rebalance import Partition
from consumers.joiner.stats import JoinerStats
from consumers.joiner.validate import (
    Rejection,
    SignatureVerifier,
    TimeBounds,
    check_record,
    deadletter_record,
    kafka_time,
)
from consumers.journey.processor import Change, Pruned
from consumers.state.changelog import journey_entry, meta_entry
from contracts.registry import Registry

__all__ = ["BatchContext", "Transaction"]


@dataclass(frozen=True)
class BatchContext:
    """What every transaction of one joiner shares: its producer, checks and topics.

    ``joined`` maps a life experience to its joined topic; ``same_partitions`` names the
    joined topics with as many partitions as the agency topics (a snapshot goes to its
    journey's input partition number there, and is partitioned by key elsewhere).
    ``protected`` maps a life experience to the default tier's k-protected topic (empty:
    releases are not published).
    """

    producer: Any
    group: str
    verifier: SignatureVerifier
    registry: Registry
    time_bounds: TimeBounds
    agency_of_topic: Mapping[str, str]
    joined: Mapping[str, str]
    same_partitions: frozenset[str]
    changelog_topic: str
    deadletter_topic: str
    #: Signs each snapshot and k-protected record (CloudEvents headers of
    #: :mod:`contracts.provenance`).
    signer: SnapshotSigner
    #: Sends the offsets with the group metadata (KIP-447); None: aiokafka's own v0 commit.
    commits: GroupAwareCommits | None = None
    protected: Mapping[str, str] = field(default_factory=dict)


class Transaction:
    """The work of one batch: ``records`` per topic-partition, over the ``parts`` they touch.

    :meth:`run` once; it returns the batch's counters after both commits, or raises after
    the rollback.
    """

    def __init__(
        self,
        context: BatchContext,
        records: Sequence[tuple[Any, list[Any]]],
        parts: Mapping[int, Partition],
        metadata: GroupMetadata | None = None,
    ) -> None:
        self.context = context
        self.metadata = metadata
        self.records = records
        self.parts = parts
        self.stream_before = {p: part.processor.stream_time for p, part in parts.items()}
        # Only a journey's last state of this transaction goes to the (compacted)
        # changelog: the transaction commits all or nothing, so the versions before it
        # would never be read back.
        self.latest_states: dict[int, dict[str, Change | Pruned]] = defaultdict(dict)
        # Futures of records sent one by one (dead letters, snapshots partitioned by key).
        self.others: list[asyncio.Future[Any]] = []
        self.outbox = Outbox(context.producer)
        self.stats = JoinerStats()
        self.committing: asyncio.Task[None] | None = None

    async def run(self) -> JoinerStats:
        """Fold and write the batch exactly once (see the module docstring)."""
        started = time.perf_counter()
        for part in self.parts.values():
            part.store.begin()
        offsets = {tp: records[-1].offset + 1 for tp, records in self.records}
        try:
            positions = await self._commit_kafka(offsets)
        except BaseException:
            await self._roll_back()
            raise
        # Kafka committed: now the local state may follow (a crash right here leaves it
        # behind, and recovery reads the difference back from the changelog).
        for partition, part in self.parts.items():
            part.store.commit(changelog_position=positions.get(partition))
        self.stats.transactions = 1
        self.stats.transaction_seconds = time.perf_counter() - started
        return self.stats

    async def _commit_kafka(self, offsets: dict[Any, int]) -> dict[int, int]:
        """The Kafka transaction from its begin to its commit (steps 1 to 6 but SQLite's);
        returns the changelog position each partition reached."""
        producer = self.context.producer
        await producer.begin_transaction()
        self.committing = self._send_offsets(offsets)
        for tp, records in self.records:
            await self._fold(tp, records)
        self._write_changelog()
        submitted = await self.outbox.submit()
        await self.committing
        positions = await self._changelog_positions(submitted)
        await asyncio.gather(*self.others)
        await producer.commit_transaction()
        return positions

    def _send_offsets(self, offsets: dict[Any, int]) -> asyncio.Task[None]:
        """Start adding the batch's consumed offsets to the transaction."""
        # The offsets join the transaction first, as a task: the sender runs
        # AddOffsetsToTxn and TxnOffsetCommit (two sequential coordinator round trips) from
        # the first suspension on, beside the produce requests, instead of after the
        # batches were submitted. They take effect only if the transaction commits, and
        # only for the generation that fetched them (a zombie's raise GroupFenced).
        commits = self.context.commits
        if commits is not None and self.metadata is not None:
            return asyncio.create_task(commits.send_offsets(offsets, self.metadata))
        return asyncio.create_task(
            self.context.producer.send_offsets_to_transaction(offsets, self.context.group)
        )

    async def _fold(self, tp: Any, records: list[Any]) -> None:
        """Check each record of ``tp``: dead-letter it, or fold it and send its snapshots."""
        context = self.context
        stats = self.stats
        agency = context.agency_of_topic.get(tp.topic)
        processor = self.parts[tp.partition].processor
        stats.topics[tp.topic] += len(records)
        for record in records:
            stats.records += 1
            headers = list(record.headers or ())
            outcome = check_record(
                agency,
                record.key,
                record.value,
                headers,
                context.verifier,
                context.registry,
                record_time=kafka_time(record.timestamp),
                bounds=context.time_bounds,
            )
            if isinstance(outcome, Rejection):
                await self._dead_letter(tp, record, headers, outcome)
                continue
            step = processor.process(outcome.event)
            stats.events += 1
            stats.duplicates += step.duplicate
            stats.late += step.late
            for change in step.changes:
                await self._snapshot(tp.partition, change)
            for pruned in step.pruned:
                await self._tombstone(tp.partition, pruned)

    async def _dead_letter(
        self, tp: Any, record: Any, headers: list[tuple[str, bytes]], rejection: Rejection
    ) -> None:
        """Send a rejected record to the dead letters, with the reason in its headers."""
        self.stats.dead_letters += 1
        self.stats.reasons[rejection.reason] += 1
        value, dead_headers = deadletter_record(
            record.value, headers, rejection, tp.topic, tp.partition, record.offset
        )
        self.others.append(
            await self.context.producer.send(
                self.context.deadletter_topic, value, key=record.key, headers=dead_headers
            )
        )

    async def _snapshot(self, partition: int, change: Change) -> None:
        """Send a changed journey's snapshot (and its k-protected release, if any); keep
        its state for the changelog."""
        self.latest_states[partition][change.key] = change
        key = change.journey_token.encode("ascii")
        if change.snapshot_json is not None:
            joined = self.context.joined[change.life_experience]
            headers = self.context.signer.headers(change, key)
            await self._send(joined, partition, key, change.snapshot_json, headers)
            self.stats.snapshots += 1
        protected = self.context.protected.get(change.life_experience)
        if change.protected_json is not None and protected is not None:
            headers = self.context.signer.protected_headers(change, key)
            await self._send(protected, partition, key, change.protected_json, headers)

    async def _send(
        self, topic: str, partition: int, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        if topic in self.context.same_partitions:
            # The journey's input partition number (no Python murmur2).
            self.outbox.add(topic, partition, key, value, headers)
        else:
            self.others.append(
                await self.context.producer.send(topic, value, key=key, headers=headers)
            )

    async def _tombstone(self, partition: int, pruned: Pruned) -> None:
        """Tombstone a pruned journey on its joined topic and, when it was released, on its
        protected topic (compaction then removes it)."""
        self.latest_states[partition][pruned.key] = pruned
        key = pruned.journey_token.encode("ascii")
        topics = [self.context.joined[pruned.life_experience]]
        protected = self.context.protected.get(pruned.life_experience)
        if protected is not None and pruned.released:
            # Only a released journey has a record there; its group is pruned together.
            topics.append(protected)
        for topic in topics:
            if topic in self.context.same_partitions:
                self.outbox.add(topic, partition, key, None, [])
            else:
                self.others.append(await self.context.producer.send(topic, None, key=key))

    def _write_changelog(self) -> None:
        """Each changed journey's last state, and the stream time where it moved."""
        changelog = self.context.changelog_topic
        for partition, latest in self.latest_states.items():
            for change in latest.values():
                if isinstance(change, Pruned):
                    self.outbox.add(changelog, partition, change.key.encode("utf-8"), None, [])
                    continue
                entry = journey_entry(change.key, change.state, change.due)
                self.outbox.add(changelog, partition, entry.key, entry.value, list(entry.headers))
        for partition, part in self.parts.items():
            stream_time = part.processor.stream_time
            if stream_time is not None and stream_time != self.stream_before[partition]:
                entry = meta_entry("stream_time", str(stream_time))
                self.outbox.add(changelog, partition, entry.key, entry.value, [])

    async def _changelog_positions(
        self, submitted: list[tuple[str, int, asyncio.Future[Any], int]]
    ) -> dict[int, int]:
        """The changelog position each store will record: one past the last offset written
        to its changelog partition in this transaction."""
        positions: dict[int, int] = {}
        for topic, partition, future, count in submitted:
            metadata = await future
            if topic == self.context.changelog_topic:
                end = metadata.offset + count
                positions[partition] = max(positions.get(partition, 0), end)
        return positions

    async def _roll_back(self) -> None:
        """Abort the Kafka transaction; local state follows it back."""
        committing = self.committing
        if committing is not None:
            committing.cancel()
            # Wait for it without absorbing a cancellation aimed at this coroutine, and
            # read its outcome; the abort below decides what counts.
            await asyncio.wait([committing])
            if not committing.cancelled():
                committing.exception()
        with contextlib.suppress(Exception):
            await self.context.producer.abort_transaction()
        # A failing store (full disk: SQLite already rolled back) must not replace the
        # error being raised.
        for part in self.parts.values():
            with contextlib.suppress(Exception):
                part.store.rollback()
            with contextlib.suppress(Exception):
                part.processor.reload()
