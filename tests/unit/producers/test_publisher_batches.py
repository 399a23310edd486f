"""The publisher's batching: Java's key partitioning, and order kept per partition."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from hypothesis import given
from hypothesis import strategies as st

from broker.settings import Settings
from contracts.envelope import Record
from producers.publisher import AgencyPublisher
from producers.publisher.batches import _Batches, key_partition

# murmur2 values from Apache Kafka's own UtilsTest (signed 32-bit, as Java has them).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_key_partition_is_the_java_default_partitioner() -> None:
    for key, value in JAVA_MURMUR2.items():
        for count in (1, 3, 6, 7, 12):
            # Utils.toPositive(murmur2(key)) % numPartitions
            assert key_partition(key, list(range(count))) == (value & 0x7FFFFFFF) % count


@given(key=st.binary(min_size=1, max_size=80), count=st.integers(1, 64))
def test_key_partition_matches_aiokafka_send(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert key_partition(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


class FakeProducer:
    """create_batch gives aiokafka's real (C) batch builder, tiny; sends are recorded."""

    def __init__(self, batch_bytes: int) -> None:
        self.batch_bytes = batch_bytes
        self.sent: list[tuple[int, list[bytes]]] = []  # (partition, values) in submit order

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_bytes, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        buffer = batch._builder.build()  # what aiokafka would put on the wire
        values = [bytes(r.value) for r in DefaultRecordBatch(bytes(buffer))]
        self.sent.append((partition, values))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return future

    async def send(
        self, topic: str, value: bytes, *, key: bytes, partition: int, headers: Any
    ) -> Any:
        self.sent.append((partition, [value]))
        return asyncio.get_running_loop().create_future()


def test_batches_keep_order_per_partition_and_put_oversized_records_alone() -> None:
    keys = [b"k%d" % i for i in range(5)]
    partitions = list(range(3))
    values = [(b"v%03d-" % i) + (b"x" * (3000 if i in (7, 20) else 40)) for i in range(30)]
    records = [Record(keys[i % 5], value, ()) for i, value in enumerate(values)]

    async def run() -> tuple[FakeProducer, list[tuple[asyncio.Future[Any], int]]]:
        producer = FakeProducer(batch_bytes=700)
        batches = _Batches(producer, "t", partitions)  # type: ignore[arg-type]
        slots = [await batches.add(record) for record in records]
        await batches.flush()
        return producer, slots

    producer, slots = asyncio.run(run())
    by_partition: dict[int, list[bytes]] = {}
    for partition, sent in producer.sent:
        by_partition.setdefault(partition, []).extend(sent)
    expected: dict[int, list[bytes]] = {}
    for record in records:
        expected.setdefault(key_partition(record.key, partitions), []).append(record.value)
    assert by_partition == expected  # every record once, in order within its partition
    assert len(producer.sent) > len(partitions)  # full batches were submitted on the way
    assert sorted(len(v) for _, v in producer.sent if len(v[0]) > 3000) == [1, 1]
    # A record's index is its place in its batch: 0, 1, 2, ... per batch future.
    indexes: dict[int, list[int]] = {}
    for future, index in slots:
        indexes.setdefault(id(future), []).append(index)
    assert all(found == list(range(len(found))) for found in indexes.values())
    assert sorted(len(found) for found in indexes.values()) == sorted(
        len(v) for _, v in producer.sent
    )


class FailingProducer(FakeProducer):
    """The second batch submission fails as a lost connection would."""

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        if len(self.sent) == 1:
            raise KafkaConnectionError()
        return await super().send_batch(batch, topic, partition=partition)


def test_batches_never_submitted_fail_at_once() -> None:
    records = [Record(b"k%d" % (i % 4), b"v%03d" % i + b"x" * 200, ()) for i in range(12)]

    async def run() -> list[tuple[asyncio.Future[Any], int]]:
        batches = _Batches(FailingProducer(batch_bytes=700), "t", [0, 1, 2])  # type: ignore[arg-type]
        slots: list[tuple[asyncio.Future[Any], int]] = []
        with pytest.raises(KafkaConnectionError):
            for record in records:
                slots.append(await batches.add(record))
            await batches.flush()
        batches.fail(KafkaConnectionError())
        return slots

    slots = asyncio.run(run())
    # The first batch went out (its future waits for the broker); every other is settled.
    pending = {id(f) for f, _ in slots if not f.done()}
    failed = [f for f, _ in slots if f.done()]
    assert failed and all(isinstance(f.exception(), KafkaConnectionError) for f in failed)
    assert len(pending) == 1  # the first batch: sent, its acknowledgement outstanding


class Metadata:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset


class AckingProducer(FakeProducer):
    """Acknowledges each batch at once with the partition's next base offset."""

    def __init__(self, batch_bytes: int, partitions: int) -> None:
        super().__init__(batch_bytes)
        self.count = partitions
        self.ends: dict[int, int] = {}

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.count))

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        await super().send_batch(batch, topic, partition=partition)
        base = self.ends.get(partition, 0)
        self.ends[partition] = base + len(self.sent[-1][1])
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(Metadata(partition, base))
        return future


def publisher(producer: Any, send_timeout: float = 30.0) -> AgencyPublisher:
    settings = Settings(bootstrap_servers="127.0.0.1:1", state_dir=Path("/nonexistent"))
    made = AgencyPublisher(settings, "ssa", spool=False, send_timeout=send_timeout)
    made._producer = producer
    return made


def test_send_gives_each_record_its_partition_and_offset() -> None:
    records = [Record(b"key-%d" % (i % 7), b"v%03d" % i + b"x" * 100, ()) for i in range(60)]
    producer = AckingProducer(batch_bytes=600, partitions=3)
    outcomes = asyncio.run(publisher(producer)._send(records))
    # Independent oracle: a partition's records get offsets 0, 1, 2, ... in send order.
    seen: dict[int, int] = {}
    expected = []
    for record in records:
        partition = key_partition(record.key, [0, 1, 2])
        expected.append((partition, seen.get(partition, 0)))
        seen[partition] = seen.get(partition, 0) + 1
    assert outcomes == expected
    assert len(producer.sent) > 3  # several batches per partition


def test_send_reports_an_unreachable_topic_for_every_record() -> None:
    class Unreachable(FakeProducer):
        async def partitions_for(self, topic: str) -> set[int]:
            raise KafkaConnectionError()

    records = [Record(b"k", b"v%d" % i, ()) for i in range(5)]
    outcomes = asyncio.run(publisher(Unreachable(600))._send(records))
    assert len(outcomes) == 5
    assert all(isinstance(o, KafkaConnectionError) for o in outcomes)


def test_send_times_out_unacknowledged_records() -> None:
    class Silent(AckingProducer):
        async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
            await FakeProducer.send_batch(self, batch, topic, partition=partition)
            return asyncio.get_running_loop().create_future()  # never acknowledged

    records = [Record(b"k%d" % i, b"v", ()) for i in range(4)]
    outcomes = asyncio.run(publisher(Silent(600, 2), send_timeout=0.2)._send(records))
    assert all(isinstance(o, KafkaTimeoutError) for o in outcomes), outcomes
