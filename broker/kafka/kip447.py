"""Exactly-once v2 (KIP-447) for aiokafka: generation-aware transactional offset commits.

aiokafka 0.14 commits a transaction's offsets with TxnOffsetCommit v0, which carries no
consumer-group generation or member id: the group coordinator cannot tell a member that
lost its partitions (a zombie, after a stall past its session timeout) from their owner,
and accepts its commit. TxnOffsetCommit v3 carries the group metadata; the coordinator
answers ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID to a stale member.
OffsetFetch v7 adds ``RequireStable``: the coordinator answers UNSTABLE_OFFSET_COMMIT
while a transaction holds offsets pending for a partition, so a new owner starts from
what the previous owner's last transaction decided, never from before it.

Both requests are built from aiokafka's own protocol structs (schemas as in Kafka's
``TxnOffsetCommitRequest.json`` and ``OffsetFetchRequest.json``). :class:`GroupAwareCommits`
installs the v3 request into one transactional producer's sender (private API of aiokafka
0.14, checked on install); :func:`fetch_stable_offsets` asks the group coordinator of a
consumer for committed offsets with ``RequireStable``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiokafka import errors as kafka_errors
from aiokafka.client import ConnectionGroup, CoordinationType
from aiokafka.producer.sender import TxnOffsetCommitHandler
from aiokafka.producer.transaction_manager import TransactionState
from aiokafka.protocol.api import Request
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from broker.errors import GroupFenced
from broker.kafka.kip447_wire import (
    FENCING_ERRORS,
    UNSTABLE_OFFSET_COMMIT,
    OffsetFetchRequest_v7,
    TxnOffsetCommitRequest_v3,
)

__all__ = [
    "FENCING_ERRORS",
    "GroupAwareCommits",
    "GroupMetadata",
    "OffsetFetchRequest_v7",
    "StableOffsetFetch",
    "TxnOffsetCommitRequest_v3",
    "fetch_stable_offsets",
    "group_metadata",
    "make_abortable",
]

log = logging.getLogger("cx.kafka.kip447")


@dataclass(frozen=True, slots=True)
class GroupMetadata:
    """A consumer's group membership, as a transactional offset commit must carry it."""

    group_id: str
    generation_id: int
    member_id: str
    group_instance_id: str | None = None

    @property
    def joined(self) -> bool:
        """False while the member holds no generation (never joined, or reset after it
        learned it was fenced): such metadata would make a commit look like a simple
        consumer's, which the coordinator accepts unchecked."""
        return self.generation_id >= 0 and bool(self.member_id)


def group_metadata(consumer: Any) -> GroupMetadata:
    """The current membership of an ``AIOKafkaConsumer`` (its group coordinator's view).

    The equivalent of Java's ``consumer.groupMetadata()``; aiokafka keeps it on its
    private coordinator, so a missing attribute fails loudly here.
    """
    coordinator = consumer._coordinator
    return GroupMetadata(
        group_id=coordinator.group_id,
        generation_id=int(coordinator.generation),
        member_id=str(coordinator.member_id or ""),
        group_instance_id=getattr(coordinator, "_group_instance_id", None),
    )


_TopicsV3: TypeAlias = list[tuple[str, list[tuple[int, int, int, str, dict[int, bytes]]], Any]]


class TxnOffsetCommitV3(Request[TxnOffsetCommitRequest_v3]):  # type: ignore[misc]
    """TxnOffsetCommit with the group metadata (v3 only: a broker without it fails loudly)."""

    API_KEY = 28

    def __init__(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        metadata: GroupMetadata,
        offsets: dict[TopicPartition, OffsetAndMetadata],
    ) -> None:
        self.transactional_id = transactional_id
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.metadata = metadata
        by_topic: dict[str, list[tuple[int, int, int, str, dict[int, bytes]]]] = (
            collections.defaultdict(list)
        )
        for tp, offset in sorted(offsets.items()):
            by_topic[tp.topic].append((tp.partition, offset.offset, -1, offset.metadata, {}))
        self.topics: _TopicsV3 = [(topic, parts, {}) for topic, parts in by_topic.items()]

    def build(
        self, request_struct_class: type[TxnOffsetCommitRequest_v3]
    ) -> TxnOffsetCommitRequest_v3:
        meta = self.metadata
        return request_struct_class(
            self.transactional_id,
            meta.group_id,
            self.producer_id,
            self.producer_epoch,
            meta.generation_id,
            meta.member_id,
            meta.group_instance_id,
            self.topics,
            {},
        )


class StableOffsetFetch(Request[OffsetFetchRequest_v7]):  # type: ignore[misc]
    """OffsetFetch v7 with ``RequireStable`` for some partitions of one group."""

    API_KEY = 9

    def __init__(self, group_id: str, partitions: Iterable[TopicPartition]) -> None:
        self.group_id = group_id
        by_topic: dict[str, list[int]] = collections.defaultdict(list)
        for tp in sorted(partitions):
            by_topic[tp.topic].append(tp.partition)
        self.topics: list[tuple[str, list[int], dict[int, bytes]]] = [
            (topic, parts, {}) for topic, parts in by_topic.items()
        ]

    def build(self, request_struct_class: type[OffsetFetchRequest_v7]) -> OffsetFetchRequest_v7:
        return request_struct_class(self.group_id, self.topics, True, {})


class _GroupAwareHandler(TxnOffsetCommitHandler):  # type: ignore[misc]
    """aiokafka's TxnOffsetCommit handler, sending v3 and treating fencing as abortable."""

    group = ConnectionGroup.COORDINATION

    def __init__(self, sender: Any, offsets: Any, group_id: str, metadata: GroupMetadata) -> None:
        super().__init__(sender, offsets, group_id)
        self._metadata = metadata

    def create_request(self) -> TxnOffsetCommitV3:
        txn = self._sender._txn_manager
        return TxnOffsetCommitV3(
            txn.transactional_id, txn.producer_id, txn.producer_epoch, self._metadata, self._offsets
        )

    def handle_response(self, resp: Any) -> float | None:
        txn = self._sender._txn_manager
        for topic, partitions, _ in resp.topics:
            for partition, code, _ in partitions:
                if code in FENCING_ERRORS:
                    meta = self._metadata
                    make_abortable(
                        txn,
                        GroupFenced(
                            f"the group coordinator refused this member's offsets for "
                            f"{topic}[{partition}] with {FENCING_ERRORS[code]} (generation "
                            f"{meta.generation_id}): another member owns the partitions now"
                        ),
                    )
                    return None
        # Everything else as aiokafka handles it (v0 response shape: no tagged fields).
        legacy = _LegacyView([(t, [(p, c) for p, c, _ in parts]) for t, parts, _ in resp.topics])
        result: float | None = super().handle_response(legacy)
        return result


def make_abortable(txn: Any, exc: BaseException) -> None:
    """Put aiokafka's transaction manager in its abortable-error state, keeping what the
    transaction touched.

    aiokafka's own ``error_transaction`` forgets the transaction's partitions and group,
    so the ``abort_transaction`` that follows thinks it empty and sends no EndTxn(ABORT):
    the records already produced stay in a transaction left open on the broker (holding
    back every ``read_committed`` reader of those partitions) until the transaction
    timeout, and a later commit of the same producer would commit them. Here the
    partitions and group stay, so the abort reaches the coordinator.
    """
    txn._transition_to(TransactionState.ABORTABLE_ERROR)
    for _, _, future in txn._pending_txn_offsets:
        if not future.done():
            future.set_exception(exc)
    txn._pending_txn_offsets.clear()
    waiter = txn._transaction_waiter
    if not waiter.done():
        waiter.set_exception(exc)
        waiter.exception()  # raised to the caller through the offsets future already


@dataclass(frozen=True, slots=True)
class _LegacyView:
    errors: list[tuple[str, list[tuple[int, int]]]]


class GroupAwareCommits:
    """Makes one transactional ``AIOKafkaProducer`` commit offsets with TxnOffsetCommit v3.

    Call :meth:`send_offsets` in place of ``producer.send_offsets_to_transaction``: it
    carries the group metadata captured when the batch was fetched. A stale member's
    commit fails with :class:`~broker.errors.GroupFenced` and leaves the transaction
    abortable (``abort_transaction``), never committed.
    """

    def __init__(self, producer: Any) -> None:
        sender = producer._sender
        if not hasattr(sender, "_do_txn_offset_commit") or producer._txn_manager is None:
            raise TypeError("a transactional aiokafka 0.13/0.14 producer is required")
        self._producer = producer
        self._sender = sender
        self._metadata: GroupMetadata | None = None
        sender._do_txn_offset_commit = self._do_txn_offset_commit

    async def send_offsets(
        self, offsets: dict[TopicPartition, int], metadata: GroupMetadata
    ) -> None:
        """Add ``offsets`` to the open transaction, for ``metadata``'s member."""
        if not metadata.joined:
            raise GroupFenced(
                "this member holds no group generation (it was removed from the group): "
                "its offsets are not committed"
            )
        self._metadata = metadata
        await self._producer.send_offsets_to_transaction(offsets, metadata.group_id)

    async def _do_txn_offset_commit(self, offsets: Any, group_id: str) -> None:
        # aiokafka's Sender._do_txn_offset_commit, with the v3 handler.
        if not offsets:
            return
        sender = self._sender
        metadata = self._metadata
        if metadata is None or metadata.group_id != group_id:
            make_abortable(
                sender._txn_manager,
                GroupFenced("offsets were added to the transaction without group metadata"),
            )
            return
        try:
            node_id = await sender._find_coordinator(CoordinationType.GROUP, group_id)
        except kafka_errors.GroupAuthorizationFailedError as exc:
            make_abortable(sender._txn_manager, exc)
            return
        await _GroupAwareHandler(sender, offsets, group_id, metadata).do(node_id)


async def fetch_stable_offsets(
    consumer: Any, partitions: Iterable[TopicPartition], *, within: float, backoff: float = 0.1
) -> dict[TopicPartition, int | None]:
    """Committed offsets of ``partitions`` for the consumer's group, once stable.

    While a transaction holds offsets pending for a partition the coordinator answers
    UNSTABLE_OFFSET_COMMIT; this asks again until it does not (the transaction committed
    or aborted), for at most ``within`` seconds (TimeoutError). None: no commit yet.
    """
    wanted = sorted(set(partitions))
    coordinator = consumer._coordinator
    client = consumer._client
    request = StableOffsetFetch(coordinator.group_id, wanted)
    waited_since: float | None = None
    async with asyncio.timeout(within):
        while True:
            await coordinator.ensure_coordinator_known()
            try:
                resp = await client.send(
                    coordinator.coordinator_id, request, group=ConnectionGroup.COORDINATION
                )
            except kafka_errors.KafkaError:
                coordinator.coordinator_dead()
                await asyncio.sleep(backoff)
                continue
            retry, out = _read_offsets(resp)
            if retry and retry != UNSTABLE_OFFSET_COMMIT:
                coordinator.coordinator_dead()
            if not retry:
                if waited_since is not None:
                    log.info(
                        "committed offsets stable after %.1f s",
                        asyncio.get_running_loop().time() - waited_since,
                    )
                return {tp: out.get(tp) for tp in wanted}
            if waited_since is None:
                waited_since = asyncio.get_running_loop().time()
                log.info("waiting for a pending transactional offset commit to end")
            await asyncio.sleep(backoff)


_RETRIABLE_FETCH = {
    UNSTABLE_OFFSET_COMMIT,
    kafka_errors.GroupLoadInProgressError.errno,
    kafka_errors.GroupCoordinatorNotAvailableError.errno,
    kafka_errors.NotCoordinatorForGroupError.errno,
}


def _read_offsets(resp: Any) -> tuple[int, dict[TopicPartition, int | None]]:
    """(retriable error code or 0, offset per partition) of an OffsetFetch v7 response."""
    if resp.error_code in _RETRIABLE_FETCH:
        return int(resp.error_code), {}
    if resp.error_code:
        raise kafka_errors.for_code(resp.error_code)()
    out: dict[TopicPartition, int | None] = {}
    for topic, parts, _ in resp.topics:
        for partition, offset, _epoch, _meta, code, _ in parts:
            if code in _RETRIABLE_FETCH:
                return int(code), {}
            if code:
                raise kafka_errors.for_code(code)()
            out[TopicPartition(topic, partition)] = None if offset < 0 else int(offset)
    return 0, out
