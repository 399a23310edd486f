"""The joiner's outbox: records appended into aiokafka batches per topic-partition.

Uses aiokafka's own batch builder (the C one the joiner uses) through a producer that is
never started: no broker is needed to build batches, only to send them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.record.default_records import DefaultRecordBatch

from consumers.joiner.outbox import Outbox as _Outbox


class _Recorder:
    """Stands in for the producer's send_batch: keeps each closed batch's bytes."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self.sent: list[tuple[str, int, bytes]] = []

    def create_batch(self) -> Any:
        return self._producer.create_batch()

    async def send_batch(self, builder: Any, topic: str, *, partition: int) -> Any:
        self.sent.append((topic, partition, bytes(builder._build())))
        return None


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=1000)
    yield made
    # Never started: closing only releases what the constructor made.
    await made.stop()


def _records(batch: bytes) -> list[tuple[bytes | None, bytes | None]]:
    return [(r.key, r.value) for r in DefaultRecordBatch(batch)]


async def test_records_fill_batches_per_partition_in_order(producer: AIOKafkaProducer) -> None:
    recorder = _Recorder(producer)
    outbox = _Outbox(recorder)
    for i in range(30):
        outbox.add("t", i % 2, f"k{i}".encode(), b"v" * 100, [("h", b"1")])
    submitted = await outbox.submit()

    assert sum(count for _, _, _, count in submitted) == 30
    assert len(recorder.sent) > 2  # 1,000-byte batches: 15 records of ~110 bytes need several
    for partition in (0, 1):
        keys = [
            key
            for topic, p, batch in recorder.sent
            if p == partition and topic == "t"
            for key, _ in _records(batch)
        ]
        assert keys == [f"k{i}".encode() for i in range(partition, 30, 2)]
    counts = [count for _, _, _, count in submitted]
    assert counts == [len(_records(batch)) for _, _, batch in recorder.sent]


async def test_a_record_larger_than_a_batch_goes_alone_in_its_own(
    producer: AIOKafkaProducer,
) -> None:
    recorder = _Recorder(producer)
    outbox = _Outbox(recorder)
    outbox.add("t", 0, b"a", b"x" * 10, [])
    outbox.add("t", 0, b"big", b"y" * 5000, [])
    outbox.add("t", 0, b"b", b"z" * 10, [])
    submitted = await outbox.submit()

    batches = [_records(batch) for _, _, batch in recorder.sent]
    assert [[key for key, _ in batch] for batch in batches] == [[b"a"], [b"big"], [b"b"]]
    assert batches[1][0][1] == b"y" * 5000
    assert [count for _, _, _, count in submitted] == [1, 1, 1]
    # Submitted batches are gone: the next transaction starts empty.
    assert await outbox.submit() == []
