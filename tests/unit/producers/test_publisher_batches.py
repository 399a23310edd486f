"""The publisher's batching: Java's key partitioning, and order kept per partition."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from hypothesis import given
from hypothesis import strategies as st

from broker.settings import Settings
from contracts.envelope import Record
from producers.publisher import AgencyPublisher
from producers.publisher.batches import _Batches, key_partition
from tests.support.fakes import RecordingProducer

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


def test_batches_keep_order_per_partition_and_put_oversized_records_alone() -> None:
    keys = [b"k%d" % i for i in range(5)]
    partitions = list(range(3))
    values = [(b"v%03d-" % i) + (b"x" * (3000 if i in (7, 20) else 40)) for i in range(30)]
    records = [Record(keys[i % 5], value, ()) for i, value in enumerate(values)]

    async def run() -> tuple[RecordingProducer, list[tuple[asyncio.Future[Any], int]]]:
        producer = RecordingProducer(batch_bytes=700)
        batches = _Batches(producer, "t", partitions)
        slots = [await batches.add(record) for record in records]
        await batches.flush()
        return producer, slots

    producer, slots = asyncio.run(run())
    by_partition: dict[int, list[bytes]] = {}
    for sent in producer.sent:
        by_partition.setdefault(sent.partition, []).extend(v for v in sent.values if v)
    expected: dict[int, list[bytes]] = {}
    for record in records:
        expected.setdefault(key_partition(record.key, partitions), []).append(record.value)
    assert by_partition == expected  # every record once, in order within its partition
    assert len(producer.sent) > len(partitions)  # full batches were submitted on the way
    assert sorted(len(b.values) for b in producer.sent if len(b.values[0] or b"") > 3000) == [1, 1]
    # A record's index is its place in its batch: 0, 1, 2, ... per batch future.
    indexes: dict[int, list[int]] = {}
    for future, index in slots:
        indexes.setdefault(id(future), []).append(index)
    assert all(found == list(range(len(found))) for found in indexes.values())
    assert sorted(len(found) for found in indexes.values()) == sorted(
        len(b.records) for b in producer.sent
    )


class FailingProducer(RecordingProducer):
    """The second batch submission fails as a lost connection would."""

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        if len(self.sent) == 1:
            raise KafkaConnectionError()
        return await super().send_batch(batch, topic, partition=partition)


def test_batches_never_submitted_fail_at_once() -> None:
    records = [Record(b"k%d" % (i % 4), b"v%03d" % i + b"x" * 200, ()) for i in range(12)]

    async def run() -> list[tuple[asyncio.Future[Any], int]]:
        batches = _Batches(FailingProducer(batch_bytes=700), "t", [0, 1, 2])
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


def publisher(producer: Any, send_timeout: float = 30.0) -> AgencyPublisher:
    settings = Settings(bootstrap_servers="127.0.0.1:1", state_dir=Path("/nonexistent"))
    made = AgencyPublisher(settings, "ssa", spool=False, send_timeout=send_timeout)
    made._producer = producer
    return made


def test_send_gives_each_record_its_partition_and_offset() -> None:
    records = [Record(b"key-%d" % (i % 7), b"v%03d" % i + b"x" * 100, ()) for i in range(60)]
    producer = RecordingProducer(batch_bytes=600, ack=True, partitions=3)
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
    class Unreachable(RecordingProducer):
        async def partitions_for(self, topic: str) -> set[int]:
            raise KafkaConnectionError()

    records = [Record(b"k", b"v%d" % i, ()) for i in range(5)]
    outcomes = asyncio.run(publisher(Unreachable(600))._send(records))
    assert len(outcomes) == 5
    assert all(isinstance(o, KafkaConnectionError) for o in outcomes)


def test_send_times_out_unacknowledged_records() -> None:
    # Never acknowledged: a broker that does not answer.
    silent = RecordingProducer(batch_bytes=600, partitions=2)
    records = [Record(b"k%d" % i, b"v", ()) for i in range(4)]
    outcomes = asyncio.run(publisher(silent, send_timeout=0.2)._send(records))
    assert all(isinstance(o, KafkaTimeoutError) for o in outcomes), outcomes
