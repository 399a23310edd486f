"""Fakes shared by the unit tests: stand-ins for Kafka clients that need no broker.

:class:`RecordingProducer` has the batch API the publisher and the joiner use
(``create_batch`` / ``send_batch``, plus ``send`` and ``partitions_for``) over aiokafka's
own batch builder, so what it records is exactly what would go on the wire.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

__all__ = ["Metadata", "RecordingProducer", "SentBatch"]


@dataclass(frozen=True)
class SentBatch:
    """One batch handed to the producer: where to, and its records (key, value) in order."""

    topic: str
    partition: int
    records: list[tuple[bytes | None, bytes | None]]

    @property
    def keys(self) -> list[bytes | None]:
        return [key for key, _ in self.records]

    @property
    def values(self) -> list[bytes | None]:
        return [value for _, value in self.records]


@dataclass(frozen=True)
class Metadata:
    """The acknowledgement of a batch: its partition and base offset."""

    partition: int
    offset: int


class RecordingProducer:
    """Records every batch (and single send); acknowledges only with ``ack=True``.

    Unacknowledged futures stay pending, as a broker that never answers would leave them.
    With ``ack=True`` each batch is acknowledged at once with its partition's next base
    offset (``partitions`` says how many partitions ``partitions_for`` reports).
    """

    def __init__(self, batch_bytes: int = 16384, *, ack: bool = False, partitions: int = 1):
        self.batch_bytes = batch_bytes
        self.ack = ack
        self.partitions = partitions
        self.sent: list[SentBatch] = []
        self._ends: dict[int, int] = {}

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_bytes, 0)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        wire = bytes(batch._builder.build())  # what aiokafka would put on the wire
        records = [(r.key, r.value) for r in DefaultRecordBatch(wire)]
        return self._record(SentBatch(topic, partition, records))

    async def send(
        self, topic: str, value: bytes, *, key: bytes, partition: int, headers: Any
    ) -> Any:
        return self._record(SentBatch(topic, partition, [(key, value)]))

    def _record(self, sent: SentBatch) -> asyncio.Future[Any]:
        self.sent.append(sent)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.ack:
            base = self._ends.get(sent.partition, 0)
            self._ends[sent.partition] = base + len(sent.records)
            future.set_result(Metadata(sent.partition, base))
        return future
