"""One round of sending: records into per-partition batches, acknowledgements back.

Kept apart from the publisher's spool and connection handling: this is the hot path of
delivery, and it only needs a started producer, a topic and the records in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, ProducerClosed
from aiokafka.partitioner import murmur2

from contracts.envelope import Record

__all__ = ["Outcome", "key_partition", "send_in_batches"]

#: What sending one record came to: its (partition, offset), or why it is not in Kafka.
Outcome = tuple[int, int] | BaseException


async def send_in_batches(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Record], send_timeout: float
) -> list[Outcome]:
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
    # Per record: the future of its batch (or of its own send) and its index in it.
    slots: list[tuple[asyncio.Future[Any], int]] = []
    failure: BaseException | None = None
    batches: _Batches | None = None
    try:
        partitions = sorted(await producer.partitions_for(topic))
        batches = _Batches(producer, topic, partitions)
        for record in records:
            slots.append(await batches.add(record))
        await batches.flush()
    except KafkaError as exc:
        failure = exc
        if batches is not None:
            batches.fail(exc)  # their records fail now, not after the send timeout
    outcomes = await _acknowledgements(slots, send_timeout)
    if failure is not None:
        outcomes += [failure] * (len(records) - len(slots))
    return outcomes


async def _acknowledgements(
    slots: Sequence[tuple[asyncio.Future[Any], int]], send_timeout: float
) -> list[Outcome]:
    """Per slot its (partition, offset), or the error that kept it out of Kafka in time."""
    futures = {id(future): future for future, _ in slots}
    if futures:
        await asyncio.wait(futures.values(), timeout=send_timeout)
    # Records share their batch's future: settle each future once, then read it per record.
    timed_out = set()
    for key, future in futures.items():
        if not future.done():
            future.cancel()
            timed_out.add(key)
    outcomes: list[Outcome] = []
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
    return outcomes


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
