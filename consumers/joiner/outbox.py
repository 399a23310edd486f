"""The joiner's outbox: one transaction's records, appended into whole batches.

``send()`` costs a coroutine, a future and a partitioner call per record; appending to
aiokafka's batch builder (C) and submitting whole batches with ``send_batch`` costs a
fraction of that. The joiner writes most of its records (changelog entries, snapshots to
a co-partitioned joined topic) to partitions it already knows, so they go through here.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["BATCH_BYTES", "Outbox"]

#: Largest record batch the joiner builds (the broker's default message.max.bytes is 1 MiB).
BATCH_BYTES = 512 * 1024


class Outbox:
    """The records of one transaction, appended into closed batches per topic-partition.

    :meth:`submit` returns, per partition, the batch futures and record counts (a batch's
    future gives its base offset).
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
